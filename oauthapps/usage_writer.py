"""OAuth's usage writer (``settings.USAGE_WRITERS``): the grant's last-used time.

A grant (Authorization) is what Connected Applications shows as "last used"; its tokens rotate,
so the record is kept per grant, not per access token.
"""

from datetime import UTC, datetime

from django.db import transaction

from oauthapps.models import Authorization

BATCH_SIZE = 500


class AuthorizationUsageWriter:
    prefix = "oauth"
    result_name = "grants"

    def member_id(self, credential) -> int | None:
        return credential.authorization_id

    def wants_rate_alerts(self, credential) -> bool:
        return False  # Usage Alerts are a setting of API keys only

    def write(self, records: dict) -> int:
        ids = sorted(records)
        for start in range(0, len(ids), BATCH_SIZE):
            with transaction.atomic():
                grants = list(
                    Authorization.objects.select_for_update()
                    .filter(pk__in=ids[start : start + BATCH_SIZE])
                    .order_by("pk")
                    .only("pk", "last_used_at")
                )
                for grant in grants:
                    at = datetime.fromtimestamp(records[grant.pk].at, tz=UTC)
                    if grant.last_used_at is None or at > grant.last_used_at:
                        grant.last_used_at = at
                Authorization.objects.bulk_update(grants, ["last_used_at"])
        return 0
