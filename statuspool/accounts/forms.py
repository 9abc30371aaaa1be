"""Forms of the sign-up, login and security pages. Validation only; the work is in services.py."""

from django import forms
from django.contrib.auth.password_validation import validate_password

from statuspool import timefmt
from statuspool.accounts.models import User
from statuspool.accounts.services import ACCOUNT_NAME_MAX
from statuspool.accounts.sudo import OneTimeCodeInput


def _code_widget(autofocus: bool = True):
    attrs = {
        "autocomplete": "one-time-code",
        "inputmode": "numeric",
        "spellcheck": "false",
        "autocapitalize": "off",
    }
    if autofocus:
        attrs["autofocus"] = True
    return OneTimeCodeInput(attrs=attrs)


class SignupForm(forms.Form):
    email = forms.EmailField(
        label="Work email", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    full_name = forms.CharField(
        label="Full name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    account_name = forms.CharField(
        label="Account name",
        max_length=ACCOUNT_NAME_MAX,
        help_text="Your team or company, e.g. “Acme Platform Team”.",
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        help_text="At least 10 characters; not a common password, not only digits, "
        "and not too close to your name or email.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_email(self):
        # Whether someone already has this address is never said here (issue 10): sign-up
        # answers every address alike and tells the address's owner by email instead.
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            probe = User(email=cleaned.get("email", ""), full_name=cleaned.get("full_name", ""))
            try:
                validate_password(password, probe)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class LoginForm(forms.Form):
    email = forms.EmailField(
        label="Email",
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class SecondFactorForm(forms.Form):
    code = forms.CharField(
        label="Authentication code",
        max_length=16,
        help_text="The 6-digit code from your authenticator app, or one of your recovery codes.",
        widget=_code_widget(),
    )


class EnrollForm(forms.Form):
    code = forms.CharField(
        label="Code from your app",
        max_length=16,
        help_text="Enter the 6-digit code your authenticator app shows for StatusPool.",
        widget=_code_widget(),
    )


class SwitchAccountForm(forms.Form):
    account = forms.TypedChoiceField(label="Account", coerce=int)

    def __init__(self, *args, memberships, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = [
            (m.account_id, f"{m.account.name} ({m.get_role_display()})") for m in memberships
        ]


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Time zone",
        help_text="Every time on the dashboard and in emails is shown in this zone.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(name, name) for name in timefmt.zone_names()]
