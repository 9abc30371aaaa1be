"""django-oauth-toolkit's models, swapped so that applications and grants belong to an account.

The swap is decided here, before the first migration: an application is registered by an account
(not by one user), and every token hangs off an ``Authorization`` — one user's consent for one
application acting in one account. That row is what Settings → Connected Applications lists, what
rate limits count against, and what revoking a connection kills in one statement.

Secrets at rest: the client secret is stored as a keyed HMAC-SHA256 digest
(``oauthapps.hashers``), access and refresh tokens only as SHA-256 checksums (DOT's RFC 9700 token
storage), and authorization codes only as SHA-256 digests (``HashedCodeField``). Device codes are
stored like authorization codes, user codes as keyed digests (``oauthapps.device``).

Two kinds of client: a confidential web application (authorization code + PKCE S256) and a
public client / CLI (no secret, device authorization grant, RFC 8628).
"""

import hashlib

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import (
    AbstractAccessToken,
    AbstractApplication,
    AbstractDeviceGrant,
    AbstractGrant,
    AbstractIDToken,
    AbstractRefreshToken,
)

from oauthapps import hashers
from oauthapps.scopes import all_scopes
from statuspool.scopes import order_scopes

CODE_DIGEST_PREFIX = "sha256$"


class ClientSecretDigestField(models.CharField):
    """Hashes a new client secret on save with our fast keyed hasher (never PBKDF2).

    DOT's own field recognises hashes through Django's PASSWORD_HASHERS, where this hasher is
    deliberately absent (it must never hash user passwords), so it would hash a hash again.
    """

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if value and not hashers.is_encoded(value):
            value = hashers.CLIENT_SECRET_HASHER.encode(value, "")
            setattr(model_instance, self.attname, value)
        return value


class HashedCodeField(models.CharField):
    """An authorization code stored, and looked up, only as its SHA-256 digest.

    Every DOT query (``Grant.objects.get(code=code)``) goes through ``get_prep_value``, so the
    plaintext code never reaches the database and no DOT lookup has to be rewritten.
    """

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value.startswith(CODE_DIGEST_PREFIX):
            return value
        return CODE_DIGEST_PREFIX + hashlib.sha256(value.encode()).hexdigest()


class ApplicationQuerySet(models.QuerySet):
    def for_account(self, account):
        return self.filter(account=account)


class Application(AbstractApplication):
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="oauth_applications"
    )
    description = models.TextField(blank=True, max_length=1000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    secret_reset_at = models.DateTimeField(null=True, blank=True)
    client_secret = ClientSecretDigestField(
        max_length=255, blank=True, default=generate_client_secret, verbose_name="client secret"
    )

    # The profile the consent screen shows (the logo lives in ApplicationLogo, off the hot path).
    homepage_url = models.URLField(blank=True, max_length=500)
    privacy_policy_url = models.URLField(blank=True, max_length=500)
    # A ceiling on what the application may ever ask for; empty means every scope.
    allowed_scopes = models.JSONField(default=list, blank=True)
    # "Require sender-constrained tokens": every token request must carry a DPoP proof.
    require_dpop = models.BooleanField(default=False)

    objects = ApplicationQuerySet.as_manager()

    class Meta(AbstractApplication.Meta):
        ordering = ["name", "id"]

    @property
    def is_device_client(self) -> bool:
        return self.authorization_grant_type == self.GRANT_DEVICE_CODE

    @property
    def scope_ceiling(self) -> list[str]:
        return order_scopes(self.allowed_scopes) if self.allowed_scopes else list(all_scopes())

    def scopes_within_ceiling(self, scopes) -> bool:
        return set(scopes) <= set(self.scope_ceiling)

    @cached_property
    def logo_url(self) -> str:
        """Where the consent screen loads the logo from (our origin), or "" without one."""
        digest = (
            ApplicationLogo.objects.filter(application_id=self.pk)
            .values_list("digest", flat=True)
            .first()
        )
        if not digest:
            return ""
        return reverse(
            "oauth2_provider:application-logo",
            kwargs={"client_id": self.client_id, "digest": digest},
        )

    @property
    def redirect_uri_list(self) -> list[str]:
        return self.redirect_uris.split()

    def redirect_uri_allowed(self, uri: str) -> bool:
        """Exact string match against a registered URI (RFC 9700 §4.1.3): no port, path, query
        or trailing-slash leniency, so a callback cannot be bent towards an attacker's page."""
        return uri in self.redirect_uri_list

    def get_allowed_schemes(self):
        # Loopback http is registered only after validation (oauthapps.forms), so its presence
        # in the list is what allows the scheme; everything else is https.
        if any(uri.lower().startswith("http://") for uri in self.redirect_uri_list):
            return ["https", "http"]
        return ["https"]


class ApplicationLogo(models.Model):
    """The application's logo, validated and re-encoded as a small PNG, served from our origin.

    Kept in the database (not on a disk one web host has) and in its own table, so loading an
    application on the /v2 path never drags the image along.
    """

    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="logo")
    png = models.BinaryField()
    digest = models.CharField(max_length=16)  # part of the URL: a new logo is a new URL
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"Logo of application #{self.application_id}"


class AuthorizationQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)

    def for_user(self, user):
        return self.filter(user=user)


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
        ordering = ["-created_at", "-id"]
        constraints = [
            # One live consent per (user, application, account): approving again widens it.
            models.UniqueConstraint(
                fields=["user", "application", "account"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_active_authorization",
            )
        ]

    def __str__(self):
        return f"{self.application} for {self.user} in {self.account}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def ordered_scopes(self) -> list[str]:
        return order_scopes(self.scopes)


class Grant(AbstractGrant):
    code = HashedCodeField(max_length=255, unique=True, verbose_name="code digest")
    authorization = models.ForeignKey(
        Authorization, on_delete=models.CASCADE, null=True, related_name="grants"
    )
    # A redeemed code is kept (not deleted as DOT does) so that a second redemption is
    # recognised as a replay and the tokens of the first one can be revoked (RFC 6749 §4.1.2).
    redeemed_at = models.DateTimeField(null=True, blank=True)
    token_family = models.UUIDField(null=True, blank=True)


class AccessToken(AbstractAccessToken):
    authorization = models.ForeignKey(
        Authorization, on_delete=models.CASCADE, null=True, related_name="access_tokens"
    )
    # RFC 9449: the SHA-256 thumbprint of the DPoP key the token is bound to ("" = bearer token).
    jkt = models.CharField(max_length=64, blank=True, default="")

    @property
    def token_type(self) -> str:
        return "DPoP" if self.jkt else "Bearer"


class RefreshToken(AbstractRefreshToken):
    authorization = models.ForeignKey(
        Authorization, on_delete=models.CASCADE, null=True, related_name="refresh_tokens"
    )
    # Bound for public clients only (RFC 9449 §5): they have no secret to protect the refresh.
    jkt = models.CharField(max_length=64, blank=True, default="")
    # When the family's first token was issued (its code redeemed, right after consent): every
    # rotation copies it, and no token of the family lives past it + a year (validator).
    family_created_at = models.DateTimeField(null=True, blank=True)


class DeviceGrant(AbstractDeviceGrant):
    """One device authorization request (RFC 8628) from its issue to its single redemption.

    ``device_code`` is stored as a SHA-256 digest (``HashedCodeField``: DOT's lookups hash what
    they are given), ``user_code`` as a keyed digest (``oauthapps.device.user_code_digest``): the
    short code a person types has ~34 bits, so a plain hash of it could be reversed by brute force.
    """

    device_code = HashedCodeField(max_length=100, verbose_name="device code digest")
    user_code = models.CharField(max_length=100, db_index=True, verbose_name="user code digest")
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, null=True, related_name="device_grants"
    )
    authorization = models.ForeignKey(
        Authorization, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    polled_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractDeviceGrant.Meta):
        pass


class IDToken(AbstractIDToken):
    pass
