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

from django import forms
from django.db import transaction

from audit.services import Actor, record
from statuspool.accounts import lockout, recovery, totp


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
        widget=forms.TextInput(
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
            self.fields["otp_code"].help_text = (
                "The 6-digit code your authenticator app shows now. Lost your phone? "
                "Enter one of your recovery codes instead."
            )


def _fail(request, form, *, field: str | None, message: str, reason: str, purpose: str, count=True):
    if count:
        lockout.sudo_failed(request, request.user)
    account = getattr(request, "account", None) or None
    with transaction.atomic():
        record(
            action="auth.sudo_failed",
            actor=Actor.from_request(request),
            account=account.pk if account else None,
            target=request.user,
            target_label=request.user.email,
            details={"reason": reason, "purpose": purpose},
        )
    form.add_error(field, message)
    return False


def _check_second_factor(request, form, code: str) -> tuple[bool, str, str]:
    """(ok, reason, message) for the submitted code; spends it when accepted."""
    if form.allow_recovery_code and not totp.looks_like_code(code):
        if recovery.consume(request.user, code):
            return True, "", ""
        return False, "wrong_recovery_code", "That recovery code is not valid or was already used."
    check = totp.verify_and_consume(request.user, code)
    if check is totp.Check.ACCEPTED:
        return True, "", ""
    return False, f"code_{check.value}", totp.MESSAGES[check]


def sudo_confirm(request, form: SudoForm, *, purpose: str = "") -> bool:
    """True when the form carries the user's password and an unused current 2FA code.

    On False the form has the errors to show. ``purpose`` names the action in the audit event.
    """
    if not form.is_valid():
        return False  # empty fields: nothing was tried, nothing to count
    user = request.user
    lock = lockout.sudo_status(request, user)
    if lock.locked:
        message = (
            "Too many failed confirmations. For your security, confirmation is paused: "
            f"try again in {lock.wait_phrase()}."
        )
        return _fail(
            request,
            form,
            field="password",
            message=message,
            reason="locked",
            purpose=purpose,
            count=False,
        )
    if not user.check_password(form.cleaned_data["password"]):
        return _fail(
            request,
            form,
            field="password",
            message="That password is not correct.",
            reason="wrong_password",
            purpose=purpose,
        )
    if not user.has_2fa:
        return _fail(
            request,
            form,
            field="otp_code",
            message="Set up two-factor authentication (Settings → Security) before doing this.",
            reason="no_2fa",
            purpose=purpose,
            count=False,
        )
    ok, reason, message = _check_second_factor(request, form, form.cleaned_data["otp_code"])
    if not ok:
        return _fail(
            request, form, field="otp_code", message=message, reason=reason, purpose=purpose
        )
    return True
