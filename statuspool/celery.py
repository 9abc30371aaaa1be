"""The Celery app: ``celery -A statuspool worker`` / ``beat``. Tasks live in each app's tasks.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspool.settings")

app = Celery("statuspool")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
