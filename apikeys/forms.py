"""Forms of Settings → API Access. Validation rules live in apikeys.services; forms only ask."""

from datetime import UTC, datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from apikeys import replacement, services
from apikeys.expiry import PRESET_DAYS
from apikeys.policy import MAX_LIFETIME_CHOICES
from statuspool.scopes import SCOPES

# Labels are the documentation's sentences; templates show the scope string beside them.
SCOPE_CHOICES = list(SCOPES.items())
EXPIRY_LABELS = {
    "now": "Revoke the old key now",
    "1h": "Keep the old key working for 1 hour",
    "24h": "Keep the old key working for 24 hours",
    "7d": "Keep the old key working for 7 days",
}


class ScopesField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        kwargs.setdefault("choices", SCOPE_CHOICES)
        kwargs.setdefault(
            "error_messages", {"required": "Choose at least one scope.", "invalid_choice": ""}
        )
        kwargs.setdefault(
            "help_text",
            "Grant only what the integration needs: a pipeline that reads monitor status "
            "should never hold monitors:write or teams:admin.",
        )
        super().__init__(**kwargs)


def _apply(form: forms.Form, error: ValidationError) -> None:
    """Attach a service's ValidationError to the form fields it names (or to the whole form)."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


EXPIRY_FORM_CHOICES = [
    ("never", "No expiry"),
    *[(f"{days}d", f"{days} days") for days in PRESET_DAYS],
    ("date", "On a date…"),
]


def _description_field():
    return forms.CharField(
        label="Description (optional)",
        max_length=services.DESCRIPTION_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What uses this key, who to ask"}),
        help_text="Where the key is deployed and who owns it, so the next person knows.",
    )


def _name_field():
    return forms.CharField(
        max_length=64,
        help_text="A descriptive name, 1 to 64 characters, unique among this account's keys.",
        widget=forms.TextInput(
            attrs={"placeholder": "e.g. prod-monitoring-cli", "autofocus": True}
        ),
    )


class ApiKeyCreateForm(forms.Form):
    name = _name_field()
    description = _description_field()
    scopes = ScopesField()
    expires = forms.ChoiceField(
        label="Expiration",
        choices=EXPIRY_FORM_CHOICES,
        initial="90d",
        required=False,  # a form posted without it (scripts, older pages) means "No expiry"
        help_text="After this the key is refused with 401 key_expired. We email a reminder 7 days "
        "and 1 day before.",
    )
    expires_on = forms.DateField(
        label="Expiry date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="With “On a date…”: the key stops working at the end of this day (UTC).",
    )
    allowed_networks = forms.CharField(
        label="IP allowlist",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "203.0.113.0/24\n2001:db8::/48"}),
        help_text="One CIDR block per line (Enterprise). Empty: any address.",
    )

    def __init__(self, *args, account, policy=None, **kwargs):
        self.account = account
        self.policy = policy
        super().__init__(*args, **kwargs)
        if policy is not None and policy.max_lifetime_days:
            limit = policy.max_lifetime_days
            self.fields["expires"].choices = [
                (value, label)
                for value, label in EXPIRY_FORM_CHOICES
                if value == "date" or (value != "never" and int(value[:-1]) <= limit)
            ]
            self.fields["expires"].initial = f"{limit}d"
        if not account.is_enterprise:
            del self.fields["allowed_networks"]

    def expires_at(self, cleaned):
        choice = cleaned.get("expires")
        if choice in (None, "", "never"):
            return None
        if choice == "date":
            day = cleaned.get("expires_on")
            if day is None:
                raise ValidationError({"expires_on": "Pick the day the key should expire."})
            return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
        return timezone.now() + timedelta(days=int(choice[:-1]))

    def clean(self):
        cleaned = super().clean()
        networks = (cleaned.get("allowed_networks") or "").split()
        cleaned["allowed_networks"] = networks
        try:
            cleaned["expires_at"] = self.expires_at(cleaned)
        except ValidationError as error:
            _apply(self, error)
        if not self.errors:
            # The same checks the service repeats inside its transaction; running them here first
            # means a duplicate name or a full account never costs the user their one-time code.
            try:
                services.apikey_validate_new(
                    account=self.account,
                    name=cleaned["name"],
                    scopes=cleaned["scopes"],
                    expires_at=cleaned["expires_at"],
                    allowed_networks=networks,
                )
            except ValidationError as error:
                _apply(self, error)
        return cleaned

    def apply_service_error(self, error: ValidationError) -> None:
        _apply(self, error)


class RotateForm(forms.Form):
    expire_old_in = forms.ChoiceField(
        label="When should the old key stop working?",
        choices=[(value, EXPIRY_LABELS[value]) for value in replacement.EXPIRY_CHOICES],
        initial="24h",
        widget=forms.RadioSelect,
        help_text="A grace period lets you deploy the new key before the old one is refused.",
    )


class ReplaceForm(RotateForm):
    name = forms.CharField(
        label="Name of the new key",
        max_length=64,
        help_text="Keep the name or give the replacement its own.",
    )

    field_order = ["name", "expire_old_in"]


class DetailsForm(forms.Form):
    name = _name_field()
    description = _description_field()


class PolicyForm(forms.Form):
    max_lifetime_days = forms.TypedChoiceField(
        label="Maximum key lifetime",
        choices=[("", "No limit"), *[(days, f"{days} days") for days in MAX_LIFETIME_CHOICES]],
        coerce=int,
        empty_value=None,
        required=False,
        help_text="New keys must expire within this. Existing keys are not changed; those that "
        "do not comply are listed below.",
    )
    require_allowlist = forms.BooleanField(
        label="Require an IP allowlist on new keys",
        required=False,
        help_text="New keys (and replacements) must name at least one network.",
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label="Reason (optional)",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. compromised"}),
        help_text="Recorded in the audit log, e.g. “compromised” or “integration retired”.",
    )
    end_predecessor_grace = forms.BooleanField(
        required=False,
        initial=True,
        label="Also revoke the key this one replaced",
    )


class ScopesForm(forms.Form):
    scopes = ScopesField()
