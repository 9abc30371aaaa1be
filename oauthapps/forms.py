"""Forms of Settings → OAuth Applications and of the consent screen."""

import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit

from django import forms
from django.core.exceptions import ValidationError

from oauthapps import logos
from oauthapps.device import normalise_user_code
from oauthapps.models import Application
from oauthapps.scopes import all_scopes
from oauthapps.services import CLI, WEB

MAX_REDIRECT_URIS = 10
LOOPBACK_HOSTS = {"localhost"}
# RFC 3986: unreserved, reserved and "%" (only as %XX). Anything else (spaces, quotes, <>, \, ^,
# `, {}, |, control or non-ASCII characters) cannot be part of a URI and is refused.
URI_CHARACTERS = re.compile(r"^(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$")


def _is_loopback(hostname: str) -> bool:
    if hostname in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def validate_redirect_uri(uri: str) -> str | None:
    """The reason a redirect URI cannot be registered, or None when it can.

    https only, except http on a loopback host for native apps (RFC 8252 §7.3); an absolute URI
    with a host, no fragment (RFC 6749 §3.1.2) and no credentials. Matching is exact later on,
    so what is registered here is the one URI the application may receive codes at.
    """
    if any(ch.isspace() for ch in uri) or len(uri) > 2000:
        return "must be a single URL without spaces (at most 2,000 characters)"
    if not URI_CHARACTERS.match(uri):
        return (
            "contains characters a URL cannot hold (percent-encode them, and use the "
            "punycode form of an international host name)"
        )
    if "#" in uri:
        return "must not contain a fragment (#…)"
    try:
        parts = urlsplit(uri)
        _ = parts.port  # raises ValueError on a malformed or out-of-range port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an absolute https:// URL"
    if "@" in parts.netloc:
        return "must not contain a user name or password"
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        return (
            "must use https (plain http is allowed only for a loopback address such as "
            "http://127.0.0.1:8765/callback, for native apps)"
        )
    return None


def _profile_url(value: str) -> str:
    if value and urlsplit(value).scheme != "https":
        raise ValidationError("Use an https:// address.")
    return value


def normalise_redirect_uri(uri: str) -> str:
    """Scheme and host in lower case (they are case-insensitive, RFC 3986 §6.2.2.1), everything
    else exactly as given: the stored form is what clients must send, matched exactly."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    netloc = host + (f":{parts.port}" if parts.port is not None else "")
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))


class ApplicationForm(forms.Form):
    client_kind = forms.ChoiceField(
        label="Kind of client",
        widget=forms.RadioSelect,
        choices=[
            (WEB, "Web application — confidential, authorization code with PKCE (S256)"),
            (CLI, "Public client / CLI — no secret, device flow (people approve in a browser)"),
        ],
        initial=WEB,
        required=False,  # a web application unless the CLI kind is chosen
    )
    name = forms.CharField(
        max_length=100,
        help_text="Shown to people on the consent screen, e.g. “PagerDuty Sync”.",
    )
    description = forms.CharField(
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the application does with StatusPool data; also shown on the consent "
        "screen.",
    )
    homepage_url = forms.URLField(
        label="Homepage URL", required=False, max_length=500, assume_scheme="https"
    )
    privacy_policy_url = forms.URLField(
        label="Privacy policy URL", required=False, max_length=500, assume_scheme="https"
    )
    logo = forms.FileField(
        required=False,
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}
        ),
        help_text="PNG, JPEG, GIF or WebP, at most 1 MB; shown at 128×128 on the consent screen.",
    )
    remove_logo = forms.BooleanField(label="Remove the current logo", required=False)
    allowed_scopes = forms.MultipleChoiceField(
        label="Scopes this application may ask for",
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Leave all unticked to allow every scope. Requests beyond the ticked ones are "
        "refused with invalid_scope.",
    )
    require_dpop = forms.BooleanField(
        label="Require sender-constrained tokens (DPoP)",
        required=False,
        help_text="Every token request must carry a DPoP proof; tokens then work only together "
        "with a proof signed by the same key.",
    )
    redirect_uris = forms.CharField(
        label="Redirect URIs",
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "e.g. https://hooks.internal.example.com/callback"}
        ),
        help_text="Web applications only. One per line. https only, except http://127.0.0.1 or "
        "http://localhost for native apps. Each is matched exactly: same scheme, host, port, "
        "path and query.",
    )

    def __init__(self, *args, account, instance: Application | None = None, **kwargs):
        if instance is not None:
            # Shown by an unbound form (the edit page's GET); a bound form ignores it.
            kwargs["initial"] = {
                "name": instance.name,
                "description": instance.description,
                "redirect_uris": "\n".join(instance.redirect_uri_list),
                "homepage_url": instance.homepage_url,
                "privacy_policy_url": instance.privacy_policy_url,
                "allowed_scopes": instance.allowed_scopes,
                "require_dpop": instance.require_dpop,
            }
        super().__init__(*args, **kwargs)
        self.account = account
        self.instance = instance
        self.fields["allowed_scopes"].choices = list(all_scopes().items())
        if instance is not None:
            # The kind decides the client type and grant; it is chosen once, at registration.
            del self.fields["client_kind"]
        else:
            del self.fields["remove_logo"]

    @property
    def is_cli(self) -> bool:
        if self.instance is not None:
            return self.instance.is_device_client
        return self.cleaned_data.get("client_kind") == CLI

    def clean_client_kind(self):
        return self.cleaned_data.get("client_kind") or WEB

    def clean_homepage_url(self):
        return _profile_url(self.cleaned_data["homepage_url"])

    def clean_privacy_policy_url(self):
        return _profile_url(self.cleaned_data["privacy_policy_url"])

    def clean_logo(self):
        upload = self.cleaned_data.get("logo")
        return logos.logo_png(upload) if upload else None

    def profile(self) -> dict:
        return {
            "homepage_url": self.cleaned_data["homepage_url"],
            "privacy_policy_url": self.cleaned_data["privacy_policy_url"],
            "allowed_scopes": [s for s in all_scopes() if s in self.cleaned_data["allowed_scopes"]],
            "require_dpop": self.cleaned_data["require_dpop"],
        }

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        others = Application.objects.for_account(self.account).filter(name__iexact=name)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(f"This account already has an application named “{name}”.")
        return name

    def clean_description(self):
        return self.cleaned_data["description"].strip()

    def clean_redirect_uris(self) -> list[str]:
        if self.is_cli:
            return []  # a device-flow client never receives a redirect
        if not self.cleaned_data["redirect_uris"].strip():
            raise ValidationError(self.fields["redirect_uris"].error_messages["required"])
        uris = []
        errors = []
        for line in self.cleaned_data["redirect_uris"].splitlines():
            uri = line.strip()
            if not uri or uri in uris:
                continue
            reason = validate_redirect_uri(uri)
            if reason:
                errors.append(f"{uri} {reason}.")
                continue
            uri = normalise_redirect_uri(uri)
            if uri not in uris:
                uris.append(uri)
        if errors:
            raise forms.ValidationError(errors)
        if not uris:
            raise forms.ValidationError("Enter at least one redirect URI.")
        if len(uris) > MAX_REDIRECT_URIS:
            raise forms.ValidationError(f"Register at most {MAX_REDIRECT_URIS} redirect URIs.")
        return uris


class ConsentForm(forms.Form):
    """What the person decides on the consent screen; the OAuth parameters stay in the URL."""

    account = forms.TypedChoiceField(coerce=int, label="Grant access to")
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("deny", "Deny")])

    def __init__(self, *args, memberships, **kwargs):
        super().__init__(*args, **kwargs)
        self.memberships = {m.account_id: m for m in memberships}
        self.fields["account"].choices = [
            (m.account_id, f"{m.account.name} ({m.get_role_display()})") for m in memberships
        ]

    def clean_account(self):
        return self.memberships[self.cleaned_data["account"]]


class DeviceCodeForm(forms.Form):
    user_code = forms.CharField(
        label="Code shown on your device",
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "placeholder": "WDJB-MJHT",
                "class": "code-input",
            }
        ),
    )

    def clean_user_code(self):
        code = normalise_user_code(self.cleaned_data["user_code"])
        if code is None:
            raise ValidationError("Enter the eight letters your device shows, like WDJB-MJHT.")
        return code
