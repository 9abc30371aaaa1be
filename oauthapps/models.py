"""django-oauth-toolkit's models, swapped so that applications and grants belong to an account.

The swap is decided here, before the first migration: an application is registered by an account
(not by one user), and every token hangs off an ``Authorization`` — one user's consent for one
application acting in one account. That row is what Settings → Connected Applications lists, what
rate limits count against, and what revoking a connection kills in one statement.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from oauth2_provider.models import (
    AbstractAccessToken,
    AbstractApplication,
    AbstractGrant,
    AbstractIDToken,
    AbstractRefreshToken,
)


class Application(AbstractApplication):
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="oauth_applications"
    )
    description = models.TextField(blank=True, max_length=1000)

    class Meta(AbstractApplication.Meta):
        ordering = ["name"]


class AuthorizationQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class Authorization(models.Model):
    """A user's consent for an application to act in one account with some scopes."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oauth_authorizations"
    )
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="authorizations"
    )
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="oauth_authorizations"
    )
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = AuthorizationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.application} for {self.user} in {self.account}"


class Grant(AbstractGrant):
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, null=True, related_name="+"
    )


class AccessToken(AbstractAccessToken):
    authorization = models.ForeignKey(
        Authorization, on_delete=models.CASCADE, null=True, related_name="access_tokens"
    )


class RefreshToken(AbstractRefreshToken):
    authorization = models.ForeignKey(
        Authorization, on_delete=models.CASCADE, null=True, related_name="refresh_tokens"
    )


class IDToken(AbstractIDToken):
    pass
