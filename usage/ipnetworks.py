"""``ip__in_network``: the request log's client address inside a network (CIDR), v4 and v6.

PostgreSQL stores the address as ``inet`` and answers containment itself (``<<=``). SQLite (the
embedded default) stores text, which no string comparison orders correctly ("10.0.0.9" sorts after
"10.0.0.10", and IPv6 text is compressed), so each connection gets a small deterministic SQL
function, ``sp_ip_in_network``, built on ``ipaddress``: the filter still runs in the database,
after the (credential, time) index has narrowed the rows.
"""

import ipaddress

from django.db import connections
from django.db.backends.signals import connection_created
from django.db.models import Lookup

SQLITE_FUNCTION = "sp_ip_in_network"


def ip_in_network(address: str | None, network: str | None) -> int | None:
    """1 if ``address`` is inside ``network``; 0 if not (or either is not an address)."""
    if address is None or network is None:
        return None
    try:
        return int(ipaddress.ip_address(address) in ipaddress.ip_network(network, strict=False))
    except ValueError:
        return 0


class InNetwork(Lookup):
    lookup_name = "in_network"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        # The network as plain text: the field's own preparation would treat it as an address.
        return "%s", [str(value)]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{SQLITE_FUNCTION}({lhs}, {rhs}) = 1", [*lhs_params, *rhs_params]

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} <<= ({rhs})::inet", [*lhs_params, *rhs_params]


def _add_sqlite_function(connection) -> None:
    if connection.vendor == "sqlite" and connection.connection is not None:
        connection.connection.create_function(SQLITE_FUNCTION, 2, ip_in_network, deterministic=True)


def _on_connection_created(sender, connection, **kwargs):
    _add_sqlite_function(connection)


def install() -> None:
    """Called from UsageConfig.ready(): every SQLite connection, already open or opened later,
    knows the function."""
    connection_created.connect(_on_connection_created, dispatch_uid="usage.ipnetworks")
    for connection in connections.all(initialized_only=True):
        _add_sqlite_function(connection)
