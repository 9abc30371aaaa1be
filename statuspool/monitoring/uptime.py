"""Turning stored UptimeDay rows into what the pages show: one cell per day and a window total."""

from dataclasses import dataclass
from datetime import date, timedelta

# A day at or above UP is green; at or above DEGRADED yellow; below it red. At one check a minute,
# 99.9 % tolerates one or two failed checks, 99 % about a quarter of an hour of downtime.
UP_PERCENT = 99.9
DEGRADED_PERCENT = 99.0


def level_for(percent: float | None) -> str:
    if percent is None:
        return "nodata"
    if percent >= UP_PERCENT:
        return "up"
    return "degraded" if percent >= DEGRADED_PERCENT else "down"


@dataclass(frozen=True)
class DayCell:
    """One UTC day of a monitor's history; ``row`` is None when no check ran that day."""

    day: date
    row: object | None

    @property
    def percent(self) -> float | None:
        return None if self.row is None else self.row.uptime_percent

    @property
    def level(self) -> str:
        return level_for(self.percent)


def day_cells(rows, start: date, end: date) -> list[DayCell]:
    """One cell per day from start to end (oldest first), empty where there is no row."""
    by_day = {row.day: row for row in rows}
    count = (end - start).days + 1
    return [DayCell(day, by_day.get(day)) for day in (start + timedelta(n) for n in range(count))]


def window_percent(rows) -> float | None:
    """Uptime over all rows, weighted by their number of checks (None without any check)."""
    checks = sum(row.checks for row in rows)
    if not checks:
        return None
    failures = sum(row.failures for row in rows)
    return round(100.0 * (checks - failures) / checks, 3)
