"""Housekeeping of the OAuth tables (a daily beat entry in settings.CELERY_BEAT_SCHEDULE).

DOT's ``clear_expired`` removes expired codes, expired access tokens without a refresh token and
dead refresh tokens. Revoked refresh tokens are kept until they would have expired anyway, because
they are what lets a replayed refresh token be recognised and its family revoked. Device
authorizations (RFC 8628) are deleted a day after they expired, redeemed or not.
"""

from datetime import timedelta

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone
from oauth2_provider.models import clear_expired

from oauthapps.models import DeviceGrant


@shared_task(
    name="oauthapps.tasks.clear_expired_tokens",
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    max_retries=5,
)
def clear_expired_tokens() -> None:
    clear_expired()
    DeviceGrant.objects.filter(expires__lt=timezone.now() - timedelta(days=1)).delete()
