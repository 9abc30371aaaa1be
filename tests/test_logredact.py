"""No credential in a log line, whoever writes it (statuspool/logredact.py)."""

import logging

import pytest

from statuspool.gunicorn_conf import access_log_format
from tests.api.fixtures import issue_key

KEY = "sp_live_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4"


def test_a_key_pasted_into_a_v2_path_is_not_logged_by_django(api, account_a, caplog):
    _, raw = issue_key(account_a, ["monitors:read"])
    with caplog.at_level(logging.INFO):
        response = api("GET", f"/v2/monitors/{raw}", f"Bearer {raw}")
    assert response.status_code in (400, 404)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert raw not in logged and raw[8:30] not in logged
    assert "[redacted]" in logged


def test_gunicorns_access_log_line_is_redacted(caplog):
    """gunicorn logs the access line through the logging module: the factory sees it."""
    atoms = {
        "h": "127.0.0.1",
        "t": "[now]",
        "m": "GET",
        "U": f"/v2/monitors/{KEY}",
        "H": "HTTP/1.1",
    }
    atoms.update(s="404", B="0", M="1", a="curl")
    with caplog.at_level(logging.INFO, logger="gunicorn.access"):
        logging.getLogger("gunicorn.access").info(access_log_format, atoms)
    assert KEY not in caplog.text and "/v2/monitors/[redacted]" in caplog.text


def test_a_traceback_carrying_a_key_is_redacted(caplog):
    try:
        raise ValueError(f"bad value {KEY}")
    except ValueError:
        logging.getLogger("statuspool.test").exception("failed")
    record = caplog.records[-1]
    assert KEY not in logging.Formatter().format(record)


@pytest.mark.parametrize("message", ["plain text", "sp_live_short", "sp_live_4f8a2c91…"])
def test_lines_without_a_credential_are_untouched(caplog, message):
    logging.getLogger("statuspool.test").warning("%s", message)
    assert caplog.records[-1].getMessage() == message
