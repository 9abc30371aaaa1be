"""gunicorn settings shared by `make run` and docker-compose: `gunicorn -c python:statuspool.gunicorn_conf`.

The access log never records a query string or a referer: a credential pasted into a URL (which
/v2 refuses) must not end up in the log either. ``%(U)s`` is the path alone.
"""

accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
graceful_timeout = 10

# gunicorn ≥ 25.1 opens a control socket (for `gunicornc`) at one path per user, ~/.gunicorn/
# gunicorn.ctl unless XDG_RUNTIME_DIR is set: every instance of that user, another checkout's
# `make run` included, would share it. Nothing here uses gunicornc. Older versions ignore the name.
control_socket_disable = True


def worker_exit(server, worker):
    """Send the request log and usage records this worker has not sent yet before it exits
    (statuspool.sharedcache.BackgroundSender; atexit does too, this covers gunicorn's own exits)."""
    from statuspool.sharedcache import background

    background.drain()
