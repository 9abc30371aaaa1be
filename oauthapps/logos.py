"""Application logos: an uploaded image is checked, re-encoded and resized before it is stored.

Only PNG, JPEG, GIF and WebP are accepted (no SVG: it can carry script), decoded by Pillow with a
pixel ceiling so a small file cannot expand into gigabytes (a decompression bomb), then drawn
onto a fresh 128x128 transparent PNG. Re-encoding drops whatever else the file carried (EXIF, a
polyglot payload, animation frames), and the result is served from our own origin with
``X-Content-Type-Options: nosniff`` (``oauthapps.views.logos``), so a consent screen never loads
a third party's image URL.
"""

import io
import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from PIL import Image, ImageOps, UnidentifiedImageError

SIZE = 128
FORMATS = {"PNG", "JPEG", "GIF", "WEBP"}
MAX_PIXELS = 4096 * 4096


def logo_png(upload) -> bytes:
    """The stored form of an uploaded logo, or ValidationError saying what is wrong with it."""
    if upload.size > settings.OAUTH_LOGO_MAX_BYTES:
        limit = settings.OAUTH_LOGO_MAX_BYTES // 1024
        raise ValidationError(f"The logo must be at most {limit} KB.")
    data = upload.read()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in FORMATS:
                    raise ValidationError("The logo must be a PNG, JPEG, GIF or WebP image.")
                if probe.width * probe.height > MAX_PIXELS:
                    raise ValidationError("The logo is too large (at most 4096x4096 pixels).")
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.seek(0)
                image = ImageOps.exif_transpose(image).convert("RGBA")
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Warning) as exc:
        raise ValidationError("The logo is not an image that can be read.") from exc
    image.thumbnail((SIZE, SIZE), Image.Resampling.LANCZOS)
    canvas = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    canvas.paste(image, ((SIZE - image.width) // 2, (SIZE - image.height) // 2), image)
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=True)
    return out.getvalue()
