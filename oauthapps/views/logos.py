"""Application logos, served from our origin for the consent screen.

Public by design: the consent screen shows an application's logo to people of other accounts.
The URL carries the logo's digest, so a logo can be cached for a year and a new one is a new URL.
"""

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from oauthapps.models import ApplicationLogo


@require_GET
def application_logo(request, client_id, digest):
    logo = (
        ApplicationLogo.objects.filter(application__client_id=client_id, digest=digest)
        .only("png")
        .first()
    )
    if logo is None:
        raise Http404("No such logo.")
    response = HttpResponse(bytes(logo.png), content_type="image/png")
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
