"""Forms of a key's IP restrictions and Usage Alerts toggle. Rules: apikeys.restriction_services."""

import ipaddress

from django import forms
from django.core.exceptions import ValidationError

from apikeys.models import ApiKey
from apikeys.restriction_services import validate_networks


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

    accept_lockout = forms.BooleanField(
        required=False, label="Save anyway: requests from my current address will be refused"
    )

    def __init__(self, *args, key: ApiKey, account, current_ip: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.key, self.account, self.current_ip = key, account, current_ip
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
        if self.excludes_current_ip and not cleaned.get("accept_lockout"):
            self.add_error(
                "accept_lockout",
                f"Your current address {self.current_ip} is not in this list: once saved, "
                "requests made with this key from here are refused. Add it, or tick the box "
                "to save anyway (e.g. the key is only used from servers).",
            )
        return cleaned

    @property
    def excludes_current_ip(self) -> bool:
        """Whether saving would newly refuse the admin's own address (a list that refused it
        already is not news, e.g. when a block is only being removed)."""
        networks = getattr(self, "networks", None)
        if not networks or self.current_address is None:
            return False
        before = self.key.allowed_networks or []
        return self._contains(networks) is False and (not before or self._contains(before))

    @property
    def current_address(self):
        try:
            address = ipaddress.ip_address(self.current_ip or "")
        except ValueError:
            return None
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            return address.ipv4_mapped
        return address

    def _contains(self, networks) -> bool:
        address = self.current_address
        return any(address in ipaddress.ip_network(network, strict=False) for network in networks)

    @property
    def current_network(self) -> str:
        """The admin's own address as a one-address block, for the one-click add."""
        if not self.current_ip:
            return ""
        address = ipaddress.ip_address(self.current_ip)
        return f"{address}/{address.max_prefixlen}"


class UsageAlertsForm(forms.Form):
    enabled = forms.TypedChoiceField(
        choices=[("on", "On"), ("off", "Off")], coerce=lambda value: value == "on"
    )
