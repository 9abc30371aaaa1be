"""Invalidations of cached credential authentications that Redis has not confirmed yet."""

from django.db import models
from django.utils import timezone


class PendingInvalidation(models.Model):
    """Written in the transaction of the change (revocation, suspension, scope change …), deleted
    once Redis has the new generation: a change made while Redis was unreachable waits here."""

    cache = models.CharField(max_length=32, help_text="The GenerationCache's name, e.g. apikey.")
    ident = models.CharField(max_length=128, help_text="The credential's cache identity.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.cache}:{self.ident}"
