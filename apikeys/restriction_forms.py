"""Forms of a key's IP restrictions and Usage Alerts toggle. Rules: apikeys.restriction_services."""

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
