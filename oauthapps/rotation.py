"""A refresh-token rotation's writes in one SQL statement on PostgreSQL.

Rotating is four writes: the presented refresh token is marked revoked (kept, so a copy presented
later is recognised as reuse), its access token is deleted (revoked, as DOT's
``RefreshToken.revoke`` does), and the new pair is inserted (the access token first: the refresh
token points to it). DOT spends nine statements on them (it locks and reads the rows again, opens
two savepoints, lets the collector SET NULL the pointer). Here the presented token and its grant
are already locked by ``StatusPoolValidator.validate_refresh_token``, so PostgreSQL does all four
in one statement of data-modifying CTEs, built from the INSERTs Django compiles itself (field
conversions, defaults, ``auto_now``). Elsewhere (SQLite) the same writes go through the ORM.

The deleted access token's cached authentication is invalidated in the same transaction
(``oauthapps.authcache``; a raw DELETE sends no ``post_delete`` signal).
"""

from django.db import connections, router
from django.db.models.expressions import RawSQL
from django.db.models.sql import InsertQuery
from django.utils import timezone

from oauthapps import authcache
from oauthapps.models import AccessToken, RefreshToken

_NEW_ACCESS = "new_access"
_NEW_ACCESS_ID = f"SELECT id FROM {_NEW_ACCESS}"  # noqa: S608  # nosec B608  # constants


def _insert_sql(instance, connection, returning) -> tuple[str, tuple]:
    """The INSERT Django's ``save()`` would send for ``instance``, RETURNING ``returning``."""
    meta = instance._meta
    fields = [f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field]
    query = InsertQuery(type(instance))
    query.insert_values(fields, [instance])
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = [meta.get_field(name) for name in returning]
    ((sql, params),) = compiler.as_sql()
    return sql, params


def _forget(spent_access: AccessToken | None) -> None:
    if spent_access is not None and spent_access.expires > timezone.now():
        authcache.invalidate_token(spent_access.token_checksum)


def rotate(*, presented: RefreshToken, access: AccessToken, refresh: RefreshToken) -> None:
    """Revoke ``presented`` and its access token, save ``access`` and ``refresh`` (unsaved, with
    ``refresh.access_token`` to be ``access``). Call inside the token request's transaction, with
    ``presented`` locked."""
    using = router.db_for_write(RefreshToken)
    connection = connections[using]
    spent_access = presented.access_token
    now = timezone.now()
    if connection.vendor != "postgresql":
        if spent_access is not None:
            spent_access.delete()  # post_delete invalidates its cache entry
        RefreshToken.objects.filter(pk=presented.pk).update(
            revoked=now, updated=now, access_token=None
        )
        access.save()
        refresh.access_token = access
        refresh.save()
    else:
        qn = connection.ops.quote_name
        access_sql, access_params = _insert_sql(access, connection, ["id"])
        refresh.access_token_id = RawSQL(_NEW_ACCESS_ID, ())  # noqa: S611  # nosec B611  # a constant
        refresh_sql, refresh_params = _insert_sql(refresh, connection, ["id", "access_token"])
        # Table names from model meta, Django-compiled INSERTs; every value is a bound parameter.
        access_table, refresh_table = (qn(m._meta.db_table) for m in (AccessToken, RefreshToken))
        sql = (
            f"WITH spent_access AS (DELETE FROM {access_table} WHERE id = %s), "  # noqa: S608  # nosec B608
            f"spent_refresh AS (UPDATE {refresh_table} SET revoked = %s, updated = %s, "
            f"access_token_id = NULL WHERE id = %s), "
            f"{_NEW_ACCESS} AS ({access_sql}) {refresh_sql}"
        )
        params = (presented.access_token_id, now, now, presented.pk)
        with connection.cursor() as cursor:
            cursor.execute(sql, (*params, *access_params, *refresh_params))
            refresh_id, access_id = cursor.fetchone()
        access.pk, refresh.pk = access_id, refresh_id
        access._state.adding = refresh._state.adding = False
        refresh.access_token = access
        _forget(spent_access)
    presented.revoked, presented.updated, presented.access_token = now, now, None
