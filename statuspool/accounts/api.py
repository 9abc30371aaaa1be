"""/v2 team and billing endpoints (teams:admin). Read-only: role changes stay in the dashboard,
where they are confirmed by a person and audited."""

from django.conf import settings
from django.utils.module_loading import import_string
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from statuspool.accounts import serializers as s
from statuspool.accounts.models import Membership
from statuspool.api.generics import AccountScopedView, ListMixin, RetrieveMixin
from statuspool.api.introspection import plan_rate_limits
from statuspool.api.pagination import CursorPagination
from statuspool.api.views import ApiView

TEAMS_ADMIN = {"GET": "teams:admin"}


class ByJoining(CursorPagination):
    ordering = "id"


class _MemberView(AccountScopedView):
    queryset = Membership.objects.select_related("user", "user__totp_device")
    output_serializer_class = s.MemberSerializer
    pagination_class = ByJoining
    required_scopes = TEAMS_ADMIN


class MemberList(ListMixin, _MemberView):
    """Team members of the account with their role (owner, admin, member)."""


class MemberDetail(RetrieveMixin, _MemberView):
    """One team member."""


class BillingView(ApiView):
    """The account's plan, billing email, API key allowance and rate limits."""

    required_scopes = TEAMS_ADMIN

    @extend_schema(responses=s.BillingSerializer, operation_id="billing_retrieve")
    def get(self, request):
        account = self.account
        # Counted by the app that owns keys (registered in settings: accounts is below it).
        in_use = import_string(settings.ACCOUNT_API_KEYS_IN_USE)(account=account)
        data = {
            "account_id": account.pk,
            "account_name": account.name,
            "plan": account.plan,
            "billing_email": account.billing_email,
            "api_keys": {"limit": settings.APIKEY_MAX_PER_ACCOUNT, "in_use": in_use},
            "rate_limits": plan_rate_limits(account.plan),
            "ip_allowlisting": account.is_enterprise,
        }
        return Response(s.BillingSerializer(data).data)
