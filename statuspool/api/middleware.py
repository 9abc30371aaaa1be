"""/v2 does not pay for the dashboard (issue 12, item 3).

The JSON endpoints under /v2 are authenticated by credentials, never by a session, and render no
template: the session, the logged-in user, flash messages, the per-request CSP nonce and the
dashboard's current account are of no use to them. These subclasses of the dashboard's middleware
step aside on those paths (``/v2/docs`` is an HTML page and keeps all of it). The one header /v2
still needs from them, Content-Security-Policy, never changes for a response that asks for no
nonce or per-view policy, so it is built once and reused (on dashboard pages too).
"""

from functools import cache

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.signals import setting_changed
from django.dispatch import receiver

from statuspool.accounts.middleware import (
    CurrentAccountMiddleware,
    SessionIdleTimeoutMiddleware,
    StaffTwoFactorMiddleware,
)

# HTML pages served under /v2 (the API reference and its script): they keep the dashboard's chain.
HTML_UNDER_API = ("/v2/docs",)


def is_api_json(path: str) -> bool:
    return path.startswith("/v2/") and not path.startswith(HTML_UNDER_API)


class _StepAsideOnApi:
    def __call__(self, request):
        if is_api_json(request.path_info):
            return self.get_response(request)
        return super().__call__(request)


class DashboardSessionMiddleware(_StepAsideOnApi, SessionMiddleware):
    pass


class DashboardAuthenticationMiddleware(_StepAsideOnApi, AuthenticationMiddleware):
    pass


class DashboardMessageMiddleware(_StepAsideOnApi, MessageMiddleware):
    pass


class DashboardCurrentAccountMiddleware(_StepAsideOnApi, CurrentAccountMiddleware):
    pass


# These two read the session's user, which /v2 does not have (its caller is a credential).
class DashboardSessionIdleTimeoutMiddleware(_StepAsideOnApi, SessionIdleTimeoutMiddleware):
    pass


class DashboardStaffTwoFactorMiddleware(_StepAsideOnApi, StaffTwoFactorMiddleware):
    pass


@cache
def _static_policies() -> tuple[str, str]:
    """The CSP and CSP-Report-Only values of a response with no per-view policy and no nonce."""
    return build_policy(), build_policy(report_only=True)


@receiver(setting_changed)
def _forget_policies(setting, **kwargs):
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _static_policies.cache_clear()


_PER_RESPONSE = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt",
    "_csp_exempt_ro",
)


class StaticCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with the policy built once for the responses that share it."""

    def __call__(self, request):
        if is_api_json(request.path_info):
            # No nonce can be asked for by a JSON view: skip process_request's lazy object.
            return self.process_response(request, self.get_response(request))
        return super().__call__(request)

    def process_response(self, request, response):
        if getattr(request, "_csp_nonce", None) is not None or any(
            hasattr(response, name) for name in _PER_RESPONSE
        ):
            return super().process_response(request, response)
        if response.status_code in (404, 500) and settings.DEBUG:  # as django-csp: debug pages
            return response
        policy, report_only = _static_policies()
        for header, value, config in (
            (HEADER, policy, "CONTENT_SECURITY_POLICY"),
            (HEADER_REPORT_ONLY, report_only, "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
        ):
            excluded = (getattr(settings, config, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            if value and header not in response and not request.path_info.startswith(excluded):
                response[header] = value
        return response
