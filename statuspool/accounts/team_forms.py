"""Forms of the Team, Billing, invitation and password-reset screens. Validation only."""

from django import forms

from statuspool.accounts.models import INVITABLE_ROLES, Role

_ROLE_CHOICES = [(role.value, role.label) for role in INVITABLE_ROLES]
ROLE_HELP = (
    "Admins manage API keys, OAuth applications, the team and read the audit log (they need 2FA). "
    "Members see monitoring data and manage their own connected applications."
)


class InviteForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    role = forms.ChoiceField(
        label="Role", choices=_ROLE_CHOICES, initial=Role.MEMBER, help_text=ROLE_HELP
    )

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="New role", choices=_ROLE_CHOICES, help_text=ROLE_HELP)


class TransferForm(forms.Form):
    new_owner = forms.TypedChoiceField(
        label="New owner",
        coerce=int,
        help_text="Only members with two-factor authentication can become the owner. "
        "You stay in the account as an admin.",
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_owner"].choices = [
            (m.user_id, f"{m.user.email} ({m.get_role_display()})") for m in candidates
        ]


class PolicyForm(forms.Form):
    require_2fa = forms.BooleanField(
        label="Require two-factor authentication for everyone in this account",
        required=False,
        help_text="Members without it are sent to set it up on their next page.",
    )


class BillingEmailForm(forms.Form):
    billing_email = forms.EmailField(
        label="Billing email",
        help_text="Where invoices and plan notices go.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(
        label="Email",
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )


class InvitationSignupForm(forms.Form):
    full_name = forms.CharField(
        label="Full name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        help_text="At least 10 characters; not a common password, not only digits, "
        "and not too close to your name or email.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
