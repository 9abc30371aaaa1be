"""The token endpoint's writes, in one SQL statement per request on PostgreSQL.

Issuing tokens is several writes in one transaction: for a code, the new access token, the new
refresh token (it points to the access token) and the code marked redeemed; for a rotation, the
presented refresh token marked revoked (kept, so a copy presented later is recognised as reuse),
its access token deleted (revoked, as DOT's ``RefreshToken.revoke`` does) and the new pair. DOT
spends a statement on each, plus savepoints and re-reads of rows already locked. Here the rows
concerned were locked when the request was validated (``oauthapps.grant_locks``), so PostgreSQL
does them all in one statement of data-modifying CTEs, built from the INSERTs Django compiles
itself (field conversions, defaults, ``auto_now``). Elsewhere (SQLite) they go through the ORM.

A deleted access token's cached authentication is invalidated in the same transaction
(``oauthapps.authcache``; a raw DELETE sends no ``post_delete`` signal).
"""

from django.db import connections, router
from django.db.models.expressions import RawSQL
from django.db.models.sql import InsertQuery
from django.utils import timezone

from oauthapps import authcache
from oauthapps.models import AccessToken, Grant, RefreshToken

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


def _table(model, connection) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _save_pair(connection, access, refresh, ctes: list[str], params: list, returning="") -> tuple:
    """Insert ``access`` and ``refresh`` (linked) after ``ctes``: one statement, whose row is
    (refresh id, access id, *``returning``: more expressions, over the CTEs)."""
    access_sql, access_params = _insert_sql(access, connection, ["id"])
    refresh.access_token_id = RawSQL(_NEW_ACCESS_ID, ())  # noqa: S611  # nosec B611  # a constant
    refresh_sql, refresh_params = _insert_sql(refresh, connection, ["id", "access_token"])
    # Table names from model meta, Django-compiled INSERTs; every value is a bound parameter.
    sql = f"WITH {', '.join([*ctes, f'{_NEW_ACCESS} AS ({access_sql})'])} {refresh_sql}{returning}"
    with connection.cursor() as cursor:
        cursor.execute(sql, (*params, *access_params, *refresh_params))
        row = cursor.fetchone()
    access.pk, refresh.pk = row[1], row[0]
    access._state.adding = refresh._state.adding = False
    refresh.access_token = access
    return row


def redeem(*, grant: Grant, access: AccessToken, refresh: RefreshToken) -> bool:
    """Save ``access`` and ``refresh`` (unsaved) and mark ``grant``'s code redeemed by their
    family; False if the code had been redeemed already (the caller refuses the request, and its
    transaction rolls the tokens back). Call inside the token request's transaction, with
    ``grant`` locked."""
    now = timezone.now()
    connection = connections[router.db_for_write(Grant)]
    if connection.vendor != "postgresql":
        access.save()
        refresh.access_token = access
        refresh.save()
        redeemed = Grant.objects.filter(pk=grant.pk, redeemed_at__isnull=True).update(
            redeemed_at=now, token_family=refresh.token_family
        )
    else:
        mark = (
            f"redeemed AS (UPDATE {_table(Grant, connection)} SET redeemed_at = %s, "  # noqa: S608  # nosec B608
            "token_family = %s WHERE id = %s AND redeemed_at IS NULL RETURNING id)"
        )
        params = [now, refresh.token_family, grant.pk]
        row = _save_pair(
            connection, access, refresh, [mark], params, ", (SELECT count(*) FROM redeemed)"
        )
        redeemed = row[2]
    grant.redeemed_at, grant.token_family = now, refresh.token_family
    return bool(redeemed)


def rotate(*, presented: RefreshToken, access: AccessToken, refresh: RefreshToken) -> None:
    """Revoke ``presented`` and its access token, save ``access`` and ``refresh`` (unsaved). Call
    inside the token request's transaction, with ``presented`` locked."""
    connection = connections[router.db_for_write(RefreshToken)]
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
        ctes = [
            f"spent_access AS (DELETE FROM {_table(AccessToken, connection)} WHERE id = %s)",  # noqa: S608  # nosec B608
            f"spent_refresh AS (UPDATE {_table(RefreshToken, connection)} SET revoked = %s, "  # noqa: S608  # nosec B608
            "updated = %s, access_token_id = NULL WHERE id = %s)",
        ]
        _save_pair(
            connection, access, refresh, ctes, [presented.access_token_id, now, now, presented.pk]
        )
        if spent_access is not None and spent_access.expires > now:
            authcache.invalidate_token(spent_access.token_checksum)
    presented.revoked, presented.updated, presented.access_token = now, now, None
