"""Which account the dashboard is showing: chosen in the session, checked against memberships."""

from django.utils.functional import SimpleLazyObject

SESSION_KEY = "current_account_id"


def _current_membership(request):
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = user.memberships.select_related("account")
    chosen = request.session.get(SESSION_KEY)
    membership = memberships.filter(account_id=chosen).first() if chosen else None
    return membership or memberships.order_by("created_at", "id").first()


class CurrentAccountMiddleware:
    """Sets ``request.membership`` (lazily) and ``request.account`` for dashboard views."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = SimpleLazyObject(lambda: _current_membership(request))
        request.account = SimpleLazyObject(
            lambda: request.membership.account if request.membership else None
        )
        return self.get_response(request)
