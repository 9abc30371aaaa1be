"""What every benchmark seeds into its own database: the account, its monitors, an OAuth grant.

Call after ``django.setup()`` (the seeding runs in a subprocess with the bench environment), which
is why the model imports live inside the functions.
"""

from datetime import timedelta


def seed_account(monitors: int):
    """An Enterprise "Bench Corp" with ``monitors`` monitors and an owner: (account, owner)."""
    from statuspool.accounts.models import Account, Membership, Role, User
    from statuspool.monitoring.models import Monitor

    account = Account.objects.create(
        name="Bench Corp", plan="enterprise", billing_email="bench@example.com"
    )
    for number in range(monitors):
        Monitor.objects.create(
            account=account, name=f"service {number}", url=f"https://svc{number}.example.com/"
        )
    owner = User.objects.create_user("bench@example.com", "bench-password-unused")
    Membership.objects.create(user=owner, account=account, role=Role.OWNER)
    return account, owner


def seed_oauth_grant(account, user):
    """A registered application and the owner's approved grant for ``monitors:read``."""
    from audit.services import Actor
    from oauthapps import services

    system = Actor.system("bench")
    application, _ = services.application_register(
        account=account,
        name="bench client",
        description="",
        redirect_uris=["https://bench.example.com/cb"],
        actor=system,
        created_by=user,
    )
    authorization = services.authorization_approve(
        user=user, application=application, account=account, scopes=["monitors:read"], actor=system
    )
    return application, authorization


def oauth_access_token(authorization, *, lifetime=timedelta(days=1), jkt: str = "") -> str:
    """A live access token of ``authorization`` (bound to the DPoP key ``jkt`` if given): raw value."""
    from django.utils import timezone
    from oauth2_provider.models import set_token_value

    from oauthapps import token_format
    from oauthapps.models import AccessToken

    raw = token_format.generate_access_token()
    token = AccessToken(
        user=authorization.user,
        application=authorization.application,
        authorization=authorization,
        scope="monitors:read",
        expires=timezone.now() + lifetime,
        jkt=jkt,
    )
    set_token_value(token, raw)
    token.save()
    return raw
