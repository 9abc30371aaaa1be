"""/v2 team and billing endpoints (teams:admin): members and their roles, invitations, billing.

The rules are the dashboard's (``team_services``, ``invitation_services``), with two more for
credentials: a credential cannot change the role of (or remove) the user it acts for, and an API
key — which acts for the account, not a person — cannot make anyone an owner. Making someone the
owner through /v2 is an ownership transfer, so only an OAuth token of the owner can do it.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.module_loading import import_string
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from statuspool.accounts import invitation_services as invitations
from statuspool.accounts import serializers as s
from statuspool.accounts import team_services
from statuspool.accounts.models import Invitation, Membership, Role
from statuspool.accounts.team_limits import invitation_allowed
from statuspool.api.actors import api_actor
from statuspool.api.credentials import CredentialKind
from statuspool.api.errors import ApiError
from statuspool.api.generics import AccountScopedView, ListMixin, RetrieveMixin
from statuspool.api.introspection import plan_rate_limits
from statuspool.api.pagination import CursorPagination
from statuspool.api.views import ApiView

TEAMS_ADMIN = "teams:admin"


class ByJoining(CursorPagination):
    ordering = "id"


def _acting(request) -> team_services.Acting:
    actor, user = api_actor(request)
    credential = request.auth
    if credential.kind == CredentialKind.API_KEY:
        return team_services.Acting(actor=actor, role=Role.ADMIN, is_api_key=True)
    # The person's role now (not when the token was issued): a demoted admin's token is refused
    # by the pipeline already, this keeps the rule in one place even so.
    role = (
        Membership.objects.filter(account_id=credential.account_id, user_id=credential.user_id)
        .values_list("role", flat=True)
        .first()
    )
    return team_services.Acting(actor=actor, role=role or "", user=user)


def _refusal(error) -> ApiError:
    if isinstance(error, PermissionDenied):
        return ApiError("forbidden", str(error), status.HTTP_403_FORBIDDEN)
    messages = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
    text = " ".join(" ".join(items) for items in messages.values())
    return ApiError("invalid_request", text, status.HTTP_400_BAD_REQUEST)


class _MemberView(AccountScopedView):
    queryset = Membership.objects.select_related("user", "user__totp_device")
    output_serializer_class = s.MemberSerializer
    pagination_class = ByJoining
    required_scopes = {"GET": TEAMS_ADMIN}


class MemberList(ListMixin, _MemberView):
    """Team members of the account with their role (owner, admin, member)."""


class MemberDetail(RetrieveMixin, _MemberView):
    """One team member; PATCH changes the role, DELETE removes them from the account."""

    required_scopes = {"GET": TEAMS_ADMIN, "PATCH": TEAMS_ADMIN, "DELETE": TEAMS_ADMIN}
    input_serializer_class = s.RoleChangeSerializer

    def _target(self, request, pk) -> Membership:
        membership = self.get_object()
        if request.auth.user_id is not None and membership.user_id == request.auth.user_id:
            raise ApiError(
                "cannot_change_self",
                "A credential cannot change the role of, or remove, the person it acts for.",
                status.HTTP_403_FORBIDDEN,
            )
        return membership

    @extend_schema(request=s.RoleChangeSerializer, responses=s.MemberSerializer)
    def patch(self, request, pk):
        body = self.get_input_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        membership, role = self._target(request, pk), body.validated_data["role"]
        acting = _acting(request)
        try:
            if role == Role.OWNER:
                if acting.is_api_key:
                    raise ApiError(
                        "api_key_cannot_make_owner",
                        "An API key cannot make anyone the owner; the owner transfers ownership.",
                        status.HTTP_403_FORBIDDEN,
                    )
                team_services.ownership_transfer(
                    account=self.account, new_owner=membership.user, acting=acting
                )
            else:
                team_services.member_change_role(membership=membership, role=role, acting=acting)
        except (ValidationError, PermissionDenied) as error:
            raise _refusal(error)
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        membership = self._target(request, pk)
        try:
            team_services.member_remove(membership=membership, acting=_acting(request))
        except (ValidationError, PermissionDenied) as error:
            raise _refusal(error)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _InvitationView(AccountScopedView):
    queryset = Invitation.objects.pending().select_related("account")
    output_serializer_class = s.InvitationSerializer
    pagination_class = ByJoining


class InvitationList(ListMixin, _InvitationView):
    """Pending invitations (not accepted, revoked or expired); POST sends a new one by email."""

    required_scopes = {"GET": TEAMS_ADMIN, "POST": TEAMS_ADMIN}
    input_serializer_class = s.InvitationCreateSerializer
    creates_objects = True

    def get_queryset(self):
        return super().get_queryset().order_by("id")

    @extend_schema(request=s.InvitationCreateSerializer, responses={201: s.InvitationSerializer})
    def post(self, request):
        body = self.get_input_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        lock = invitation_allowed(request, self.credential.account_id)
        if lock.locked:
            raise ApiError(
                "rate_limited",
                "Too many invitations sent from this account; try again later.",
                status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(lock.retry_after)},
            )
        try:
            invitation, _raw = invitations.invitation_create(
                account=self.account, acting=_acting(request), **body.validated_data
            )
        except (ValidationError, PermissionDenied) as error:
            raise _refusal(error)
        # The link goes to the invited address only: it is never part of an API answer.
        return Response(self.get_serializer(invitation).data, status=status.HTTP_201_CREATED)


class InvitationDetail(_InvitationView):
    """DELETE revokes a pending invitation: its link stops working."""

    required_scopes = {"DELETE": TEAMS_ADMIN}

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        invitation = self.get_object()
        try:
            invitations.invitation_revoke(invitation=invitation, acting=_acting(request))
        except (ValidationError, PermissionDenied) as error:
            raise _refusal(error)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BillingView(ApiView):
    """The account's plan, billing email, API key allowance and rate limits; PATCH sets the
    billing email (API keys with teams:admin, or the owner's OAuth token)."""

    required_scopes = {"GET": TEAMS_ADMIN, "PATCH": TEAMS_ADMIN}

    def _answer(self, account):
        # Counted by the app that owns keys (registered in settings: accounts is below it).
        in_use = import_string(settings.ACCOUNT_API_KEYS_IN_USE)(account=account)
        data = {
            "account_id": account.pk,
            "account_name": account.name,
            "plan": account.plan,
            "billing_email": account.billing_email,
            "api_keys": {"limit": settings.APIKEY_MAX_PER_ACCOUNT, "in_use": in_use},
            "members": account.memberships.count(),
            "rate_limits": plan_rate_limits(account.plan),
            "ip_allowlisting": account.is_enterprise,
        }
        return Response(s.BillingSerializer(data).data)

    @extend_schema(responses=s.BillingSerializer, operation_id="billing_retrieve")
    def get(self, request):
        return self._answer(self.account)

    @extend_schema(
        request=s.BillingUpdateSerializer,
        responses=s.BillingSerializer,
        operation_id="billing_partial_update",
    )
    def patch(self, request):
        body = s.BillingUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        account = self.account
        try:
            team_services.account_update_billing_email(
                account=account,
                billing_email=body.validated_data["billing_email"],
                acting=_acting(request),
            )
        except (ValidationError, PermissionDenied) as error:
            raise _refusal(error)
        return self._answer(account)
