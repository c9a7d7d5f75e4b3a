"""Time helpers: storage is UTC, people see the studio's zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import timezone


def studio_zone() -> zoneinfo.ZoneInfo:
    from studio.models import StudioProfile

    return StudioProfile.load().zone


def local_date(moment: dt.datetime, zone: dt.tzinfo | None = None) -> dt.date:
    return moment.astimezone(zone or timezone.get_current_timezone()).date()


def today(zone: dt.tzinfo | None = None) -> dt.date:
    return local_date(timezone.now(), zone)


def end_of_local_day(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The last second of day in zone, as an aware UTC datetime."""
    local = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=zone)
    return local.astimezone(dt.UTC)


def due_from(accepted_at: dt.datetime, *, days: int, zone: dt.tzinfo) -> dt.datetime:
    """Due at the end of the studio-local day `days` days after the acceptance day."""
    accepted_day = local_date(accepted_at, zone)
    return end_of_local_day(accepted_day + dt.timedelta(days=days), zone)
