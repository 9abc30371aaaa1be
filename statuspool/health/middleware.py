"""`GET /healthz`: answered first in the middleware chain.

Load balancers and container healthchecks call it by address, so it must not depend on
ALLOWED_HOSTS, the HTTPS redirect, sessions or the database-backed login. It shows only which
component is ok (see ``checks``). ``?check=database&check=redis`` limits the checks.
"""

from django.http import JsonResponse

from statuspool.health.checks import CHECKS, run_checks

PATH = "/healthz"


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path != PATH:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            response = JsonResponse({"error": "method_not_allowed"}, status=405)
            response["Allow"] = "GET, HEAD"
            return response
        names = request.GET.getlist("check")
        unknown = sorted(set(names) - set(CHECKS))
        if unknown:
            return JsonResponse(
                {"error": "unknown_check", "unknown": unknown, "known": list(CHECKS)}, status=400
            )
        healthy, report = run_checks(names or None)
        response = JsonResponse(report, status=200 if healthy else 503)
        response["Cache-Control"] = "no-store"
        return response
