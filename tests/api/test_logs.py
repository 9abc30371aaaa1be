"""No full key ever reaches a log line, whatever happens to the request that carried it."""

import logging

from apikeys.models import Status
from statuspool.monitoring import api as monitoring_api
from tests.api.fixtures import issue_key

_FORMAT = logging.Formatter("%(name)s %(levelname)s %(message)s")


def _logged_text(caplog) -> str:
    lines = []
    for record in caplog.records:
        lines.append(_FORMAT.format(record))  # message, arguments and any traceback
        lines.append(repr(record.__dict__.get("request", "")))
    return "\n".join(lines)


def test_keys_never_appear_in_logs(api, client, account_a, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    keys = {
        status: issue_key(account_a, ["monitors:read", "monitors:write"], status=status)[1]
        for status in (Status.ACTIVE, Status.REVOKED, Status.SUSPENDED)
    }
    live = keys[Status.ACTIVE]
    typo = live[:-1] + ("a" if live[-1] != "a" else "b")
    for raw in [*keys.values(), typo]:
        api("GET", "/v2/monitors", f"Bearer {raw}")
        api("GET", "/v2/nothing-here", f"Bearer {raw}")
    api("GET", f"/v2/monitors?api_key={live}")
    api("POST", "/v2/monitors", f"Bearer {live}", json={"name": live, "url": "https://x.test"})
    api("POST", "/v2/monitors", f"Bearer {live}", json={"name": "x", "url": "bad"})
    api("GET", "/v2/monitors", f"Basic {live}")

    def explode(self, request, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(monitoring_api.MonitorList, "get", explode)
    client.raise_request_exception = False
    assert api("GET", "/v2/monitors", f"Bearer {live}").status_code == 500

    text = _logged_text(caplog)
    assert "Unauthorized" in text and "boom" in text  # the requests were logged...
    for raw in [*keys.values(), typo]:
        assert raw not in text  # ...without the keys
        assert raw[len("sp_live_") :] not in text
