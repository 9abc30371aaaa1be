"""One API key's IP restrictions (Enterprise) and Usage Alerts toggle: services, forms and views.

Both changes take effect on the next request in every process: the key's cached authentication
is invalidated once the change has committed (``apikeys.authcache``). Changing the allowlist needs
sudo confirmation (password + 2FA code); turning usage alerts on or off does not.
"""

import ipaddress

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apikeys.authcache import invalidate_key
from apikeys.models import ApiKey, Status
from audit.services import Actor, record
from statuspool.accounts.decorators import team_admin_required
from statuspool.accounts.sudo import SudoForm, sudo_confirm

MAX_NETWORKS = 50
TEAM_PLAN_MESSAGE = (
    "IP allowlisting is available on the Enterprise plan. Upgrade this account to Enterprise to "
    "restrict its keys to your own networks."
)
_MAPPED_IPV4 = ipaddress.ip_network("::ffff:0:0/96")

# --- services --------------------------------------------------------------------------------------


def normalise_network(text: str) -> str:
    """A CIDR block in canonical form, or ValidationError with a message a person can act on."""
    raw = text.strip()
    if not raw:
        raise ValidationError("Enter a CIDR block such as 203.0.113.0/24.")
    try:
        network = ipaddress.ip_network(raw, strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(raw, strict=False)
        except ValueError:
            raise ValidationError(
                f"“{raw}” is not a CIDR block. Write an IPv4 or IPv6 network such as "
                "203.0.113.0/24 or 2001:db8::/48."
            )
        raise ValidationError(f"“{raw}” has host bits set: did you mean {loose}?")
    # Requests from IPv4-mapped IPv6 addresses are matched as IPv4, so store such blocks as IPv4.
    if network.version == 6 and network.subnet_of(_MAPPED_IPV4):
        mapped = network.network_address.ipv4_mapped
        network = ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}")
    return str(network)


def validate_networks(*, account, networks: list[str]) -> list[str]:
    """The list to store (canonical, in the given order), or every problem with it at once."""
    cleaned, problems = [], []
    for text in networks:
        try:
            network = normalise_network(text)
        except ValidationError as error:
            problems.extend(error.messages)
            continue
        if network in cleaned:
            problems.append(f"{network} is in the list twice.")
        else:
            cleaned.append(network)
    if cleaned and not account.is_enterprise:
        problems.insert(0, TEAM_PLAN_MESSAGE)
    if len(cleaned) > MAX_NETWORKS:
        problems.append(
            f"A key can have at most {MAX_NETWORKS} CIDR blocks ({len(cleaned)} given). "
            "Merge neighbouring blocks into larger ones."
        )
    if problems:
        raise ValidationError(problems)
    return cleaned


def _locked(key: ApiKey) -> ApiKey:
    key = ApiKey.objects.select_for_update(of=("self",)).select_related("account").get(pk=key.pk)
    if key.status == Status.REVOKED:
        raise ValidationError("This key is revoked; its settings can no longer change.")
    return key


def _label(key: ApiKey) -> str:
    return f"{key.name} ({key.display_id})"


def apikey_set_allowed_networks(*, key: ApiKey, networks: list[str], actor: Actor) -> ApiKey:
    """Replace the key's IP allowlist (empty = any address). Enterprise accounts only."""
    with transaction.atomic():
        key = _locked(key)
        cleaned = validate_networks(account=key.account, networks=networks)
        before = list(key.allowed_networks or [])
        if cleaned == before:
            return key
        key.allowed_networks = cleaned
        key.save(update_fields=["allowed_networks"])
        record(
            action="apikey.allowlist_changed",
            actor=actor,
            account=key.account,
            target=key,
            target_label=_label(key),
            details={
                "added": [n for n in cleaned if n not in before],
                "removed": [n for n in before if n not in cleaned],
                "allowed_networks": cleaned,
            },
        )
        public_id = key.public_id
        transaction.on_commit(lambda: invalidate_key(public_id))
    return key


def apikey_set_usage_alerts(*, key: ApiKey, enabled: bool, actor: Actor) -> ApiKey:
    with transaction.atomic():
        key = _locked(key)
        if key.usage_alerts_enabled == enabled:
            return key
        key.usage_alerts_enabled = enabled
        key.save(update_fields=["usage_alerts_enabled"])
        record(
            action="apikey.usage_alerts_changed",
            actor=actor,
            account=key.account,
            target=key,
            target_label=_label(key),
            details={"usage_alerts_enabled": enabled},
        )
        public_id = key.public_id
        transaction.on_commit(lambda: invalidate_key(public_id))
    return key


# --- forms -----------------------------------------------------------------------------------------


class AllowlistForm(forms.Form):
    remove = forms.MultipleChoiceField(
        label="Remove", required=False, widget=forms.CheckboxSelectMultiple
    )
    add = forms.CharField(
        label="Add CIDR blocks",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocapitalize": "off"}),
        help_text="One block per line, IPv4 or IPv6, e.g. 203.0.113.0/24 or 2001:db8::/48. "
        "A single address is written /32 (IPv4) or /128 (IPv6).",
    )

    def __init__(self, *args, key: ApiKey, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.key, self.account = key, account
        self.fields["remove"].choices = [(n, n) for n in key.allowed_networks or []]
        if not account.is_enterprise:
            self.fields["add"].disabled = True  # a downgraded account may still remove blocks

    def clean(self):
        cleaned = super().clean()
        removed = set(cleaned.get("remove") or [])
        lines = [line for line in (cleaned.get("add") or "").splitlines() if line.strip()]
        if not removed and not lines:
            raise ValidationError("Add a CIDR block or tick one to remove.")
        kept = [n for n in self.key.allowed_networks or [] if n not in removed]
        try:
            self.networks = validate_networks(account=self.account, networks=kept + lines)
        except ValidationError as error:
            self.add_error("add" if lines else None, error)
        return cleaned


class UsageAlertsForm(forms.Form):
    enabled = forms.TypedChoiceField(
        choices=[("on", "On"), ("off", "Off")], coerce=lambda value: value == "on"
    )


# --- views -----------------------------------------------------------------------------------------


def _key_for(request, public_id: str) -> ApiKey:
    keys = ApiKey.objects.for_account(request.account).select_related("account")
    return get_object_or_404(keys, public_id=public_id)


@require_http_methods(["GET", "POST"])
@login_required
@team_admin_required
def allowlist_edit(request, public_id):
    key = _key_for(request, public_id)
    if key.status == Status.REVOKED:
        messages.error(request, "This key is revoked; its IP allowlist can no longer change.")
        return redirect("apikeys:detail", public_id=key.public_id)
    posted = request.POST if request.method == "POST" else None
    form = AllowlistForm(posted, key=key, account=request.account)
    sudo_form = SudoForm(posted)
    # Our own form first: a typo in a CIDR block must not spend the one-time code.
    if (
        posted is not None
        and form.is_valid()
        and sudo_confirm(request, sudo_form, purpose="apikey.allowlist")
    ):
        try:
            apikey_set_allowed_networks(
                key=key, networks=form.networks, actor=Actor.from_request(request)
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "IP restrictions saved. They apply from the next request.")
            return redirect("apikeys:detail", public_id=key.public_id)
    context = {
        "key": key,
        "form": form,
        "sudo_form": sudo_form,
        "is_enterprise": request.account.is_enterprise,
        "team_plan_message": TEAM_PLAN_MESSAGE,
        "max_networks": MAX_NETWORKS,
    }
    return render(request, "apikeys/restrictions_allowlist.html", context)


@require_POST
@login_required
@team_admin_required
def usage_alerts_set(request, public_id):
    key = _key_for(request, public_id)
    form = UsageAlertsForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose whether usage alerts are on or off.")
        return redirect("apikeys:detail", public_id=key.public_id)
    enabled = form.cleaned_data["enabled"]
    try:
        apikey_set_usage_alerts(key=key, enabled=enabled, actor=Actor.from_request(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            "Usage alerts are on: the account owner and the key's creator will be emailed."
            if enabled
            else "Usage alerts are off for this key.",
        )
    return redirect("apikeys:detail", public_id=key.public_id)
