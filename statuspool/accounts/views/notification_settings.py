"""Settings → Security → Security notifications: one checkbox per kind of email."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from audit.services import Actor
from statuspool.accounts.notification_prefs import security_notifications_update
from statuspool.notifications.security import KINDS, optouts_for


class SecurityNotificationsForm(forms.Form):
    kinds = forms.MultipleChoiceField(
        label="Email me when",
        required=False,
        choices=[(kind, entry.label) for kind, entry in KINDS.items() if entry.optional],
        widget=forms.CheckboxSelectMultiple,
    )


@require_http_methods(["GET", "POST"])
@login_required
def security_notifications(request):
    current = optouts_for(request.user)
    initial = {"kinds": [kind for kind in KINDS if kind not in current]}
    form = SecurityNotificationsForm(
        request.POST if request.method == "POST" else None, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        on, off = security_notifications_update(
            user=request.user,
            wanted=set(form.cleaned_data["kinds"]),
            actor=Actor.from_request(request),
        )
        messages.success(
            request,
            "Security notifications saved." if on or off else "Nothing changed.",
        )
        return redirect("accounts:security_notifications")
    is_admin = request.user.memberships.team_admins().exists()
    always = [entry.label for entry in KINDS.values() if not entry.optional]
    context = {"form": form, "is_admin": is_admin, "always": always}
    return render(request, "accounts/security_notifications.html", context)
