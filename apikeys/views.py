"""Settings → API Access: list, create, show once, detail, rotate, revoke, reactivate, keep active.

Team admins only (``team_admin_required``: members and other accounts get a 404). A key of another
account is a 404 too, because every lookup goes through ``_key_for`` scoped to the current account.
Secrets are rendered straight into the POST response that created them and never stored.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apikeys import policy, replacement, services
from apikeys.forms import ApiKeyCreateForm, RevokeForm, RotateForm, ScopesForm
from apikeys.listing import STATUS_FILTERS, key_listing
from apikeys.models import ApiKey, Status
from audit.services import Actor
from statuspool.accounts.decorators import team_admin_required
from statuspool.accounts.sudo import SudoForm, sudo_confirm
from statuspool.scopes import SCOPES
from usage import charts, insight

# Where the documentation's curl example points, relative to the host the admin is using.
CURL_PATH = "/v2/monitors"


def _key_for(request, public_id: str) -> ApiKey:
    keys = (
        ApiKey.objects.for_account(request.account)
        .select_related("created_by", "revoked_by", "rotated_from", "rotated_to")
        .with_creator_membership()
    )
    return get_object_or_404(keys, public_id=public_id)


def _data(request):
    # Not ``request.POST or None``: an empty POST must still bind the form and show its errors.
    return request.POST if request.method == "POST" else None


def _sudo_form(request) -> SudoForm:
    return SudoForm(_data(request))


def _unfilled(sudo_form: SudoForm) -> SudoForm:
    """Re-render a failed confirmation empty: a typed password or code is never echoed back."""
    if sudo_form.is_bound:
        sudo_form.is_valid()  # errors are computed from what was typed, then kept
        data = sudo_form.data.copy()
        data["password"] = data["otp_code"] = ""  # nosec B105  # clears the submitted sudo fields before re-rendering
        sudo_form.data = data
    return sudo_form


def _show_once(request, key: ApiKey, raw: str, *, replaced: ApiKey | None = None):
    """The only page that ever shows the full key; not cacheable anywhere."""
    response = render(
        request,
        "apikeys/show_once.html",
        {
            "key": key,
            "raw_key": raw,
            "replaced": replaced,
            "curl_url": request.build_absolute_uri(CURL_PATH),
            "scope_descriptions": SCOPES,
        },
    )
    add_never_cache_headers(response)
    return response


@require_GET
@login_required
@team_admin_required
def key_list(request):
    keys = list(
        ApiKey.objects.for_account(request.account)
        .select_related("created_by", "rotated_from", "rotated_to")
        .with_creator_membership()
        .order_by("-created_at", "-id")
    )
    live = [k for k in keys if k.is_live]
    listing = key_listing(live, request.GET)
    # One query for every row's 7-day sparkline (rollups, not the raw log).
    per_day = insight.sparklines("api_key", [k.pk for k in listing.keys])
    for key in listing.keys:
        key.requests_per_day = per_day.get(key.pk, [])
    return render(
        request,
        "apikeys/list.html",
        {
            "live_keys": listing.keys,
            "has_live_keys": bool(live),
            "listing": listing,
            "status_filters": STATUS_FILTERS,
            "scope_choices": list(SCOPES),
            "inactive_keys": [k for k in keys if not k.is_live],
            **_limit_context(request.account, listed=sum(k.is_live for k in keys)),
        },
    )


def _limit_context(account, *, listed: int | None = None) -> dict:
    """The limit banner: what counts, and why more rows may be listed than count."""
    counted = services.apikey_limit_count(account=account)
    context = {
        "limit_reached": counted >= services.settings.APIKEY_MAX_PER_ACCOUNT,
        "limit_message": services.limit_reached_message(),
    }
    if listed is not None and listed > counted:
        context["limit_note"] = (
            f"{listed} keys are listed but {counted} count toward the limit of "
            f"{services.settings.APIKEY_MAX_PER_ACCOUNT}: a key being rotated out and its "
            "replacement count once until the old key stops working."
        )
    return context


def _prefill(request) -> dict:
    """`?scopes=a,b` pre-ticks scopes, e.g. for a replacement of a revoked key."""
    wanted = request.GET.get("scopes", "").split(",")
    return {"scopes": [scope for scope in wanted if scope in SCOPES]}


@require_http_methods(["GET", "POST"])
@login_required
@team_admin_required
def key_create(request):
    rules = policy.policy_of(request.account)
    form = ApiKeyCreateForm(
        _data(request), account=request.account, policy=rules, initial=_prefill(request)
    )
    sudo_form = _sudo_form(request)
    # The sudo check runs last: a typo in the name must not burn the one-time code.
    if (
        request.method == "POST"
        and form.is_valid()
        and sudo_confirm(request, sudo_form, purpose="apikey.create")
    ):
        try:
            key, raw = services.apikey_create(
                account=request.account,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                actor=Actor.from_request(request),
                created_by=request.user,
                expires_at=form.cleaned_data["expires_at"],
                allowed_networks=form.cleaned_data["allowed_networks"],
                description=form.cleaned_data["description"],
            )
        except ValidationError as error:
            form.apply_service_error(error)
        else:
            return _show_once(request, key, raw)
    context = {
        "form": form,
        "sudo_form": _unfilled(sudo_form),
        "scope_descriptions": SCOPES,
        "policy": rules,
        **_limit_context(request.account),
    }
    return render(request, "apikeys/create.html", context)


@require_GET
@login_required
@team_admin_required
def key_detail(request, public_id):
    key = _key_for(request, public_id)
    usage = insight.credential_usage("api_key", [key.pk], charts.window_from(request))
    return render(
        request,
        "apikeys/detail.html",
        {
            "key": key,
            "scope_descriptions": SCOPES,
            "requests_url": f"{reverse('apikeys_requests:requests')}?key={key.public_id}",
            **charts.credential_usage_context(usage, subject="with this key"),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
@team_admin_required
def key_rotate(request, public_id):
    key = _key_for(request, public_id)
    if not key.can_rotate:
        # Checked before the sudo form so a refused rotation never spends the one-time code.
        messages.error(request, "Only an active key that has not been rotated yet can be rotated.")
        return redirect("apikeys:detail", public_id=key.public_id)
    form = RotateForm(_data(request))
    sudo_form = _sudo_form(request)
    if (
        request.method == "POST"
        and form.is_valid()
        and sudo_confirm(request, sudo_form, purpose="apikey.rotate")
    ):
        try:
            new_key, raw = replacement.apikey_rotate(
                key=key,
                actor=Actor.from_request(request),
                expire_old_in=form.cleaned_data["expire_old_in"],
                created_by=request.user,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("apikeys:detail", public_id=key.public_id)
        return _show_once(request, new_key, raw, replaced=key)
    return render(
        request,
        "apikeys/rotate.html",
        {"key": key, "form": form, "sudo_form": _unfilled(sudo_form)},
    )


@require_http_methods(["GET", "POST"])
@login_required
@team_admin_required
def key_revoke(request, public_id):
    key = _key_for(request, public_id)
    predecessor = replacement.predecessor_in_grace(key)
    form = RevokeForm(_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.apikey_revoke(
                key=key,
                actor=Actor.from_request(request),
                reason=form.cleaned_data["reason"],
                revoked_by=request.user,
                end_predecessor_grace=bool(
                    predecessor and form.cleaned_data["end_predecessor_grace"]
                ),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"The key “{key.name}” ({key.display_id}) was revoked.")
        return redirect("apikeys:detail", public_id=key.public_id)
    context = {"key": key, "form": form, "predecessor": predecessor}
    return render(request, "apikeys/revoke.html", context)


@require_http_methods(["GET", "POST"])
@login_required
@team_admin_required
def key_reactivate(request, public_id):
    key = _key_for(request, public_id)
    sudo_form = _sudo_form(request)
    if request.method == "POST" and sudo_confirm(request, sudo_form, purpose="apikey.reactivate"):
        try:
            services.apikey_reactivate(key=key, actor=Actor.from_request(request))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"The key “{key.name}” works again.")
        return redirect("apikeys:detail", public_id=key.public_id)
    context = {"key": key, "sudo_form": _unfilled(sudo_form)}
    return render(request, "apikeys/reactivate.html", context)


@require_POST
@login_required
@team_admin_required
def key_keep_active(request, public_id):
    key = _key_for(request, public_id)
    try:
        services.apikey_keep_active(key=key, actor=Actor.from_request(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"The key “{key.name}” is no longer stale; the idle clock starts again today.",
        )
    return redirect("apikeys:detail", public_id=key.public_id)


def _adds_scopes(key: ApiKey, form: ScopesForm) -> bool:
    return bool(set(form.cleaned_data["scopes"]) - set(key.scopes))


@require_http_methods(["GET", "POST"])
@login_required
@team_admin_required
def key_edit_scopes(request, public_id):
    """Narrowing a key needs only the POST; widening it needs sudo, as creating such a key does."""
    key = _key_for(request, public_id)
    if key.status == Status.REVOKED:
        messages.error(request, "A revoked key cannot be changed.")
        return redirect("apikeys:detail", public_id=key.public_id)
    form = ScopesForm(_data(request), initial={"scopes": key.scopes})
    sudo_form = SudoForm()  # bound only when asked for: narrowing must not show its errors
    if request.method == "POST" and form.is_valid():
        adds = _adds_scopes(key, form)
        if adds:
            sudo_form = _sudo_form(request)
        if not adds or sudo_confirm(request, sudo_form, purpose="apikey.scopes"):
            try:
                services.apikey_update_scopes(
                    key=key,
                    scopes=form.cleaned_data["scopes"],
                    actor=Actor.from_request(request),
                    may_add=adds,
                )
            except ValidationError as error:
                form.add_error("scopes", error.messages)
            else:
                messages.success(request, f"Scopes of “{key.name}” saved.")
                return redirect(reverse("apikeys:detail", args=[key.public_id]))
    context = {
        "key": key,
        "form": form,
        "sudo_form": _unfilled(sudo_form),
        "scope_descriptions": SCOPES,
    }
    return render(request, "apikeys/scopes.html", context)
