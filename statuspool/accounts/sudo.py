"""Sudo confirmation: the user's password AND a current 2FA code, in the same form submission.

Creating, rotating or reactivating an API key, changing its IP allowlist, resetting an OAuth client
secret and deleting an OAuth application each need it (SPEC.md). Usage in a dashboard view::

    from statuspool.accounts.sudo import SudoForm, sudo_confirm

    @require_http_methods(["GET", "POST"])
    @login_required
    @team_admin_required
    def key_create(request):
        form = KeyCreateForm(request.POST or None)
        sudo_form = SudoForm(request.POST or None)
        if (
            request.method == "POST"
            and form.is_valid()  # your own form first: a typo there must not spend the code
            and sudo_confirm(request, sudo_form, purpose="apikey.create")
        ):
            key, plaintext = apikey_create(...)  # the action, in its own transaction
            ...
        return render(request, "apikeys/create.html", {"form": form, "sudo_form": sudo_form})

and inside the template's ``<form method="post">``: ``{% include "includes/sudo_fields.html" %}``
(it renders ``sudo_form``: fields ``password`` and ``otp_code``, with their errors).

Rules enforced by ``sudo_confirm``:

* the password must be right and the code must be a current TOTP code (±30 s) that has not been
  used before — the accepted code is spent, as at login;
* failures are limited to ``SUDO_FAILURE_LIMIT`` per ``SUDO_FAILURE_WINDOW`` seconds per user in
  the shared cache; while locked, even correct credentials are refused, and the error says when to
  retry;
* every failure is audited as ``auth.sudo_failed`` with the reason and ``purpose``, never the
  submitted values.

Call it outside any ``transaction.atomic()`` block: the failure event and the spent code are
committed by ``sudo_confirm`` itself, and must stay even if the action that follows fails.
"""

from dataclasses import dataclass

from django import forms
from django.db import transaction

from audit.services import Actor, record
from statuspool.accounts import lockout, recovery, totp


class OneTimeCodeInput(forms.TextInput):
    """A submitted one-time code is spent or wrong: it is never put back into the page."""

    def format_value(self, value):
        return None


class SudoForm(forms.Form):
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    otp_code = forms.CharField(
        label="Authenticator code",
        max_length=16,
        help_text="The 6-digit code your authenticator app shows now.",
        widget=OneTimeCodeInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "spellcheck": "false",
                "autocapitalize": "off",
            }
        ),
    )

    def __init__(self, *args, allow_recovery_code: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.allow_recovery_code = allow_recovery_code
        if allow_recovery_code:
            code = self.fields["otp_code"]
            code.label = "Authenticator or recovery code"
            # Recovery codes have letters and a dash: a numeric keypad would make them untypable.
            code.widget.attrs["inputmode"] = "text"
            code.help_text = (
                "The 6-digit code your authenticator app shows now. Lost your phone? "
                "Enter one of your recovery codes instead."
            )


@dataclass(frozen=True)
class _Refusal:
    field: str
    message: str
    reason: str  # in the audit event
    counts: bool = True  # towards the failure limit (a lock or a missing 2FA is no guess)


def _fail(request, form, refusal: _Refusal, *, purpose: str) -> bool:
    if refusal.counts:
        lockout.sudo_failed(request, request.user)
    account = getattr(request, "account", None) or None
    with transaction.atomic():
        record(
            action="auth.sudo_failed",
            actor=Actor.from_request(request),
            account=account.pk if account else None,
            target=request.user,
            target_label=request.user.email,
            details={"reason": refusal.reason, "purpose": purpose},
        )
    form.add_error(refusal.field, refusal.message)
    return False


def _second_factor_refusal(request, form, code: str) -> _Refusal | None:
    """None when the code (or an allowed recovery code) is accepted, which spends it."""
    if form.allow_recovery_code and not totp.looks_like_code(code):
        if recovery.consume(request.user, code):
            return None
        message = "That recovery code is not valid or was already used."
        return _Refusal("otp_code", message, "wrong_recovery_code")
    check = totp.verify_and_consume(request.user, code)
    if check is totp.Check.ACCEPTED:
        return None
    return _Refusal("otp_code", totp.MESSAGES[check], f"code_{check.value}")


def _refusal(request, form) -> _Refusal | None:
    """Why the submitted password + code do not confirm, checked in order; None if they do."""
    user = request.user
    lock = lockout.sudo_status(request, user)
    if lock.locked:
        message = (
            "Too many failed confirmations. For your security, confirmation is paused: "
            f"try again in {lock.wait_phrase()}."
        )
        return _Refusal("password", message, "locked", counts=False)
    if not user.check_password(form.cleaned_data["password"]):
        return _Refusal("password", "That password is not correct.", "wrong_password")
    if not user.has_2fa:
        message = "Set up two-factor authentication (Settings → Security) before doing this."
        return _Refusal("otp_code", message, "no_2fa", counts=False)
    return _second_factor_refusal(request, form, form.cleaned_data["otp_code"])


def sudo_confirm(request, form: SudoForm, *, purpose: str = "") -> bool:
    """True when the form carries the user's password and an unused current 2FA code.

    On False the form has the errors to show. ``purpose`` names the action in the audit event.
    """
    if not form.is_valid():
        return False  # empty fields: nothing was tried, nothing to count
    refusal = _refusal(request, form)
    if refusal is None:
        return True
    return _fail(request, form, refusal, purpose=purpose)
