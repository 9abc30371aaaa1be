"""A thread's own Redis connection for the warm path's one round trip: one send, one receive.

Through redis-py's connection pool a command costs seven system calls: a poll for stale data when
the connection leaves the pool, a poll before the send and one before the receive (Python waits
that way on a socket with a timeout), the send, the receive and two getpid() for fork checks. On
the 2-core VMs we measure on (issue 12) that was ~100 µs of CPU per /v2 request, a sixth of it.

A ``Link`` is the pool's own connection class with the pool's own settings (host, password, db,
protocol, parser), kept by one thread instead of shared, in blocking mode with the pool's socket
timeout set in the kernel instead (SO_SNDTIMEO, SO_RCVTIMEO): a command is one send and one
receive, and a Redis that hangs still costs at most that timeout. Only plain TCP and Unix socket
connections get one; TLS stays on the pool (``link_for`` returns None).

Failures are redis-py's exceptions, so callers keep their fallbacks (``sharedcache.guard``): the
connection is closed on any error and opened again on the next call. One retry, on a fresh
connection, when a connection that worked before turns out to be closed (Redis restarted): the
command never reached a live server. A timeout is never retried, since the command may have run.

``Link.send`` sends a command without waiting and returns an ``Outstanding`` whose ``reply()``
reads the answer later: the /v2 pipeline sends its credential lookup as soon as the request's
headers and path are known and reads the reply at authentication, the Python in between running
while Redis works (``statuspool.api.early_lookup``). A link has at most one such reply pending;
any other command on it reads that reply first and keeps it for its ``Outstanding``.
"""

import os
import socket
import struct
import threading

from redis.connection import Connection, UnixDomainSocketConnection
from redis.exceptions import ConnectionError, ResponseError, TimeoutError

# Links kept per thread: one per Redis connection pool, so a test that swaps CACHES does not
# collect open sockets.
MAX_LINKS_PER_THREAD = 4


class _KernelTimeouts:
    """Mixed into the pool's connection class: blocking socket, timeouts kept by the kernel."""

    kernel_timeout: float | None = None

    def _connect(self):
        sock = super()._connect()
        if self.kernel_timeout:
            seconds = int(self.kernel_timeout)
            micro = int((self.kernel_timeout - seconds) * 1_000_000)
            value = struct.pack("ll", seconds, micro)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
        return sock


_CLASSES = {
    base: type(f"Linked{base.__name__}", (_KernelTimeouts, base), {})
    for base in (Connection, UnixDomainSocketConnection)
}


class Link:
    """One thread's connection to the Redis of ``pool``."""

    def __init__(self, pool):
        self.pool = pool
        kwargs = dict(pool.connection_kwargs)
        linked = _CLASSES[pool.connection_class]
        self.connection = linked(**{**kwargs, "socket_timeout": None})
        self.connection.kernel_timeout = kwargs.get("socket_timeout")
        self._proven = False  # has this socket answered a command yet?
        self._outstanding: Outstanding | None = None  # sent, its reply not read yet

    def call(self, *args):
        """Send one command and read its reply; raises as redis-py does."""
        return self.send(*args).reply()

    def send(self, *args) -> "Outstanding":
        """Send one command now and read its reply later (``Outstanding.reply``), so the caller
        works while Redis does. Any other use of this link reads that reply first (``settle``):
        replies never answer the wrong command. Raises as ``call`` does.

        One retry, on a new connection, when a connection that answered before is found closed
        (Redis restarted or dropped it), here or when the reply is read: the command went
        nowhere. Never after a timeout (a ``TimeoutError`` is no ``ConnectionError``): the
        command may have run."""
        self.settle()
        packed = self.connection.pack_command(*args)
        proven = self._proven
        try:
            self._send(packed)
        except ConnectionError:
            if not proven:
                raise
            proven = False  # once more, on a new connection
            self._send(packed)
        self._outstanding = Outstanding(self, packed, proven)
        return self._outstanding

    def settle(self) -> None:
        """Read the reply of a command sent with ``send`` and not read yet, keeping it for its
        ``Outstanding``."""
        if self._outstanding is not None:
            self._outstanding.collect()

    def close(self) -> None:
        if self._outstanding is not None:
            self._outstanding.lose(ConnectionError("The link was closed before the reply came"))
        self.connection.disconnect()

    def _round_trip(self, packed):
        self._send(packed)
        return self._read()

    def _send(self, packed) -> None:
        connection = self.connection
        try:
            if not connection.is_connected:
                connection.connect()  # as the pool connects: the same retries and handshake
            connection.send_packed_command(packed, check_health=False)
        except BaseException as error:
            raise self._broken(error)

    def _read(self):
        try:
            reply = self.connection.read_response()
        except ResponseError:
            self._proven = True  # an error reply (NOSCRIPT, say): the connection is fine
            raise
        except BaseException as error:
            raise self._broken(error)
        self._proven = True
        return reply

    def _broken(self, error: BaseException) -> BaseException:
        self._proven = False
        self.connection.disconnect()  # a late reply must never answer the next command
        if isinstance(error, ConnectionError) and isinstance(error.__context__, BlockingIOError):
            # SO_RCVTIMEO ran out
            timeout = TimeoutError(
                f"Redis did not answer within {self.connection.kernel_timeout} s"
            )
            timeout.__cause__ = error
            return timeout
        return error


class Outstanding:
    """A command sent with ``Link.send`` whose reply is read once, when asked for."""

    __slots__ = ("link", "packed", "proven", "done", "_reply", "_error")

    def __init__(self, link: Link, packed, proven: bool):
        self.link = link
        self.packed = packed
        self.proven = proven  # sent on a connection that had answered before
        self.done = False
        self._reply = self._error = None

    def reply(self):
        """The command's reply, read now if it has not been yet; raises as ``Link.call`` does."""
        self.collect()
        if self._error is not None:
            raise self._error
        return self._reply

    def collect(self) -> None:
        if self.done:
            return
        self.done = True
        link = self.link
        link._outstanding = None
        try:
            self._reply = link._read()
        except ConnectionError as error:
            if not self.proven:
                self._error = error
                return
            # The connection that had answered before is closed, so the command reached no
            # live server: once more on a new one (``Link.send``).
            try:
                self._reply = link._round_trip(self.packed)
            except Exception as again:
                self._error = again
        except Exception as error:  # an error reply or a timeout: the caller's to handle
            self._error = error

    def lose(self, error: Exception) -> None:
        self.done = True
        self._error = error
        self.link._outstanding = None


_local = threading.local()


def _forget_after_fork() -> None:
    # A forked child shares its parent's sockets: it must open its own.
    global _local
    _local = threading.local()


os.register_at_fork(after_in_child=_forget_after_fork)


def link_for(client) -> Link | None:
    """This thread's link to the Redis of ``client`` (a redis-py client); None for TLS or other
    connection classes, which stay on the client's pool."""
    pool = client.connection_pool
    if pool.connection_class not in _CLASSES:
        return None
    links: dict = _local.__dict__.setdefault("links", {})
    link = links.get(id(pool))
    if link is not None and link.pool is pool:
        return link
    if len(links) >= MAX_LINKS_PER_THREAD:
        oldest = next(iter(links))
        links.pop(oldest).close()
    link = links[id(pool)] = Link(pool)
    return link


def close_links() -> None:
    """Close this thread's links (tests that stop a Redis server)."""
    links: dict = _local.__dict__.get("links", {})
    while links:
        links.popitem()[1].close()
