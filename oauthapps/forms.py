"""Forms of Settings → OAuth Applications and of the consent screen."""

import ipaddress
from urllib.parse import urlsplit

from django import forms

from oauthapps.models import Application

MAX_REDIRECT_URIS = 10
LOOPBACK_HOSTS = {"localhost"}


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


class ApplicationForm(forms.Form):
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
    redirect_uris = forms.CharField(
        label="Redirect URIs",
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "https://hooks.internal.example.com/callback"}
        ),
        help_text="One per line. https only, except http://127.0.0.1 or http://localhost for "
        "native apps. Each is matched exactly: same scheme, host, port, path and query.",
    )

    def __init__(self, *args, account, instance: Application | None = None, **kwargs):
        if instance is not None:
            # Shown by an unbound form (the edit page's GET); a bound form ignores it.
            kwargs["initial"] = {
                "name": instance.name,
                "description": instance.description,
                "redirect_uris": "\n".join(instance.redirect_uri_list),
            }
        super().__init__(*args, **kwargs)
        self.account = account
        self.instance = instance

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
        uris = []
        errors = []
        for line in self.cleaned_data["redirect_uris"].splitlines():
            uri = line.strip()
            if not uri or uri in uris:
                continue
            reason = validate_redirect_uri(uri)
            if reason:
                errors.append(f"{uri} {reason}.")
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
