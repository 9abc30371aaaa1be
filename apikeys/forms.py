"""Forms of Settings → API Access. Validation rules live in apikeys.services; forms only ask."""

from django import forms
from django.core.exceptions import ValidationError

from apikeys import services
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


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=64,
        help_text="A descriptive name, 1 to 64 characters, unique among this account's keys.",
        widget=forms.TextInput(attrs={"placeholder": "prod-monitoring-cli", "autofocus": True}),
    )
    scopes = ScopesField()

    def __init__(self, *args, account, **kwargs):
        self.account = account
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            # The same checks the service repeats inside its transaction; running them here first
            # means a duplicate name or a full account never costs the user their one-time code.
            try:
                services.apikey_validate_new(
                    account=self.account, name=cleaned["name"], scopes=cleaned["scopes"]
                )
            except ValidationError as error:
                _apply(self, error)
        return cleaned

    def apply_service_error(self, error: ValidationError) -> None:
        _apply(self, error)


class RotateForm(forms.Form):
    expire_old_in = forms.ChoiceField(
        label="When should the old key stop working?",
        choices=[(value, EXPIRY_LABELS[value]) for value in services.EXPIRY_CHOICES],
        initial="24h",
        widget=forms.RadioSelect,
        help_text="A grace period lets you deploy the new key before the old one is refused.",
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label="Reason (optional)",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "compromised"}),
        help_text="Recorded in the audit log, e.g. “compromised” or “integration retired”.",
    )


class ScopesForm(forms.Form):
    scopes = ScopesField()
