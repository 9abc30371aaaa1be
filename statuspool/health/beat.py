"""Beat's scheduler with a heartbeat (settings.CELERY_BEAT_SCHEDULER), read by ``check_beat``."""

import time

from celery.beat import PersistentScheduler

from statuspool.health.checks import beat_heartbeat_write

HEARTBEAT_EVERY = 5.0  # seconds; well under HEALTH_BEAT_MAX_AGE


class HeartbeatScheduler(PersistentScheduler):
    _last_heartbeat = 0.0

    def tick(self, *args, **kwargs):
        next_in = super().tick(*args, **kwargs)
        now = time.time()
        if now - self._last_heartbeat >= HEARTBEAT_EVERY:
            beat_heartbeat_write(now)
            self._last_heartbeat = now
        # Wake up often enough to keep the heartbeat fresh even between sparse jobs.
        return min(next_in, HEARTBEAT_EVERY)
