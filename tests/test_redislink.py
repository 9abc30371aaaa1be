"""statuspool.redislink: a thread's own Redis connection, one send and one receive per command.

Against a redis-server of the test's own (``tests.processes.PrivateRedis``), so restarting and
pausing it touches nothing another process uses.
"""

import os
import socket
import struct
import threading
import time

import pytest
import redis
import redis.connection
from redis.exceptions import ConnectionError, TimeoutError

from statuspool import redislink
from statuspool.sharedcache import Script
from tests.processes import PrivateRedis

pytestmark = pytest.mark.redis

TIMEOUT = 0.25
COUNT = Script("return redis.call('INCR', KEYS[1])")


@pytest.fixture(scope="module")
def server():
    private = PrivateRedis(appendonly=False)
    private.start()
    yield private
    private.destroy()


@pytest.fixture
def client(server):
    """A redis-py client as the shared cache makes one (its pool's timeouts), on a fresh thread
    state: every test starts without links."""
    redislink.close_links()
    server.resume()
    if server.process.poll() is not None:
        server.start()
    made = redis.Redis.from_url(
        server.url(), socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
    )
    made.flushdb()  # the private server is this module's alone
    yield made
    redislink.close_links()


@pytest.fixture
def system_calls(monkeypatch):
    """Socket operations per round trip: every send, receive and poll a connection makes."""
    calls = []
    for name in ("sendall", "recv_into", "recv"):
        original = getattr(socket.socket, name)

        def record(self, *args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(socket.socket, name, record)
    return calls


def test_a_command_is_one_send_and_one_receive_on_a_blocking_socket(client, system_calls):
    link = redislink.link_for(client)
    assert link.call("PING") == b"PONG"
    system_calls.clear()
    assert link.call("SET", "k", "v") == b"OK"
    assert system_calls == ["sendall", "recv_into"]
    sock = link.connection._sock
    # No Python-level timeout (it would poll before every send and receive); the kernel keeps it.
    assert sock.gettimeout() is None
    seconds, micro = struct.unpack("ll", sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16))
    assert seconds + micro / 1e6 == pytest.approx(TIMEOUT, abs=0.01)  # kernel ticks


def test_each_thread_has_its_own_link_and_keeps_it(client):
    mine = redislink.link_for(client)
    assert redislink.link_for(client) is mine
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(redislink.link_for(client)))
    thread.start()
    thread.join()
    assert theirs[0] is not mine and theirs[0].connection is not mine.connection


def test_a_forked_child_opens_its_own_connection(client):
    parent = redislink.link_for(client)
    parent.call("PING")
    pid = os.fork()
    if pid == 0:  # the child: exit status says whether it got a new link that works
        try:
            child = redislink.link_for(client)
            ok = child is not parent and child.call("INCR", "forked") == 1
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert parent.call("GET", "forked") == b"1"  # the parent's stream is still in step


def test_scripts_run_through_the_link_and_load_themselves_once(client, system_calls):
    assert COUNT(client, ["n"], []) == 1  # NOSCRIPT, then EVAL, on the same connection
    link = redislink.link_for(client)
    connection = link.connection
    system_calls.clear()
    assert COUNT(client, ["n"], []) == 2
    assert system_calls == ["sendall", "recv_into"] and link.connection is connection


def test_a_restarted_redis_costs_no_request_and_counts_once(server, client):
    link = redislink.link_for(client)
    assert COUNT(client, ["restart"], []) == 1
    server.restart()  # the link's socket is now closed at the other end; the data is gone
    assert COUNT(client, ["restart"], []) == 1  # retried once, on a new connection
    assert COUNT(client, ["restart"], []) == 2
    assert link.connection.is_connected


def test_a_connection_that_never_worked_is_not_retried(monkeypatch):
    attempts = []
    original = redis.connection.AbstractConnection.connect
    monkeypatch.setattr(
        redis.connection.AbstractConnection,
        "connect",
        lambda self: attempts.append(self) or original(self),
    )
    dead = redis.Redis.from_url(
        "redis://127.0.0.1:1/0", socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
    )
    with pytest.raises(ConnectionError):
        redislink.link_for(dead).call("PING")
    assert len(attempts) == 1


def test_a_hanging_redis_costs_one_timeout_and_the_next_call_reconnects(server, client):
    link = redislink.link_for(client)
    assert link.call("SET", "k", "before") == b"OK"
    server.pause()
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError):  # not retried: the command may have run
            link.call("SET", "k", "during")
        took = time.monotonic() - started
    finally:
        server.resume()
    assert TIMEOUT * 0.8 <= took < TIMEOUT * 4
    assert not link.connection.is_connected  # a late reply must never answer the next command
    assert link.call("GET", "k") in (b"before", b"during")
    assert link.call("PING") == b"PONG"


def test_error_replies_keep_the_connection(client):
    link = redislink.link_for(client)
    link.call("SET", "text", "x")
    connection = link.connection._sock
    with pytest.raises(redis.ResponseError):
        link.call("INCR", "text")
    assert link.connection._sock is connection
    assert link.call("GET", "text") == b"x"


def test_tls_stays_on_the_pool():
    tls = redis.Redis(host="127.0.0.1", port=1, ssl=True)
    assert redislink.link_for(tls) is None


def test_a_thread_keeps_few_links_and_closes_those_it_drops(server):
    redislink.close_links()
    clients = [
        redis.Redis.from_url(server.url(), socket_timeout=TIMEOUT)
        for _ in range(redislink.MAX_LINKS_PER_THREAD + 1)
    ]
    links = []
    for made in clients:
        links.append(redislink.link_for(made))
        links[-1].call("PING")
    assert not links[0].connection.is_connected  # the oldest was closed when the last came
    assert all(link.connection.is_connected for link in links[1:])
    redislink.close_links()
    assert not any(link.connection.is_connected for link in links)


# --- Commands sent ahead (Link.send): the reply is read when asked for -----------------------------


def test_a_command_sent_ahead_is_one_send_now_and_one_receive_later(client, system_calls):
    link = redislink.link_for(client)
    link.call("PING")
    system_calls.clear()
    outstanding = link.send("INCR", "ahead")
    assert system_calls == ["sendall"]
    assert outstanding.reply() == 1
    assert system_calls == ["sendall", "recv_into"]
    assert outstanding.reply() == 1 and system_calls == ["sendall", "recv_into"]  # read once


def test_another_command_reads_the_reply_sent_ahead_first(client):
    link = redislink.link_for(client)
    outstanding = link.send("SET", "k", "first")
    assert link.call("GET", "k") == b"first"  # not the SET's OK: replies never cross
    assert outstanding.reply() == b"OK"
    second = link.send("INCR", "n")
    third = link.send("INCR", "n")  # the second's reply is read before this goes out
    assert (third.reply(), second.reply()) == (2, 1)


def test_a_script_sent_ahead_loads_itself(client):
    client.script_flush()
    sent = COUNT.send(client, ["loaded"], [])
    assert sent.result() == 1  # NOSCRIPT, then EVAL on the same link
    assert COUNT.send(client, ["loaded"], []).result() == 2


def test_a_restart_between_send_and_reply_costs_no_request_and_counts_once(server, client):
    link = redislink.link_for(client)
    assert link.call("PING") == b"PONG"
    server.restart()  # the socket is closed at the other end
    sent = COUNT.send(client, ["restart-ahead"], [])
    assert sent.result() == 1  # the send or the read failed on the old socket: once more
    assert link.call("GET", "restart-ahead") == b"1"


def test_a_hanging_redis_costs_a_reply_sent_ahead_one_timeout(server, client):
    link = redislink.link_for(client)
    assert link.call("PING") == b"PONG"
    server.pause()
    try:
        outstanding = link.send("SET", "k", "during")  # the kernel takes it
        started = time.monotonic()
        with pytest.raises(TimeoutError):  # not retried: the command may have run
            outstanding.reply()
        took = time.monotonic() - started
    finally:
        server.resume()
    assert TIMEOUT * 0.8 <= took < TIMEOUT * 4
    assert not link.connection.is_connected  # its late reply must never answer another command
    assert link.call("PING") == b"PONG"


def test_closing_a_link_loses_the_reply_it_waited_for(client):
    link = redislink.link_for(client)
    outstanding = link.send("PING")
    redislink.close_links()
    with pytest.raises(ConnectionError):
        outstanding.reply()
    assert redislink.link_for(client).call("PING") == b"PONG"
