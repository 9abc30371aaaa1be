"""A sign-up waiting for its email address to be confirmed."""

import hashlib

from django.db import models
from django.utils import timezone


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class PendingSignupQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(completed_at__isnull=True, expires_at__gt=timezone.now())


class PendingSignup(models.Model):
    """What the sign-up form asked for, until the link emailed to the address is opened.

    Only the SHA-256 digest of the link's token is stored, and the password only as Django's
    password hash, as it will be in the user row.
    """

    token_digest = models.CharField(max_length=64, unique=True)
    email = models.EmailField()
    full_name = models.CharField(max_length=150)
    account_name = models.CharField(max_length=100)
    password_hash = models.CharField(max_length=256)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = PendingSignupQuerySet.as_manager()

    def __str__(self):
        return f"Pending sign-up of {self.email}"
