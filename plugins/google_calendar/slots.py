"""Free time between busy intervals, within working hours in a time zone (pure functions).

``free_slots`` is what the ``find_free_slots`` action computes from a freeBusy answer; it knows
nothing of Google. Working hours are wall-clock times in ``tz``, so a day across a daylight
saving change still starts at 09:00 local time. Arithmetic and comparisons are done in UTC:
Python compares and subtracts two datetimes of the same zone by their wall clocks, which is
wrong across a DST change.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

Interval = tuple[datetime, datetime]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Overlapping or touching intervals joined, sorted by start; empty ones dropped."""
    out: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def gaps(busy: list[Interval], start: datetime, end: datetime) -> list[Interval]:
    """The parts of ``[start, end)`` that no interval of ``busy`` (merged) covers."""
    out: list[Interval] = []
    cursor = start
    for b_start, b_end in busy:
        if b_end <= cursor:
            continue
        if b_start >= end:
            break
        if b_start > cursor:
            out.append((cursor, b_start))
        cursor = max(cursor, b_end)
    if cursor < end:
        out.append((cursor, end))
    return out


def wall_clock(day: date, at: time, tz: ZoneInfo) -> datetime:
    """``day`` at ``at`` in ``tz``, in UTC (a time skipped by a DST change moves forward);
    ``time.max`` is the end of the day (the next midnight)."""
    if at == time.max:
        return wall_clock(day + timedelta(days=1), time(0, 0), tz)
    return datetime.combine(day, at).replace(tzinfo=tz).astimezone(UTC)


def align_up(moment: datetime, minutes: int, tz: ZoneInfo) -> datetime:
    """The first instant at or after ``moment`` whose wall clock in ``tz`` is on a
    ``minutes`` boundary (in UTC)."""
    moment = moment.astimezone(UTC)
    local = moment.astimezone(tz)
    since_midnight = local.hour * 60 + local.minute
    floor = (local.replace(second=0, microsecond=0)
             - timedelta(minutes=since_midnight % minutes)).astimezone(UTC)
    return floor if floor >= moment else floor + timedelta(minutes=minutes)


def free_slots(busy: Iterable[Interval], start: datetime, end: datetime, *,
               duration: timedelta, tz: ZoneInfo, day_start: time = time(9, 0),
               day_end: time = time(17, 0), days: Iterable[int] = (1, 2, 3, 4, 5),
               align: int = 15, limit: int = 10) -> list[Interval]:
    """Free intervals of at least ``duration`` inside ``[start, end)``, within working hours.

    :param busy: busy intervals (aware datetimes) of every calendar that must be free.
    :param days: ISO weekdays that have working hours (1 is Monday).
    :param align: free intervals start on these minute boundaries of the local clock.
    :return: up to ``limit`` intervals ``(start, end)`` in ``tz``, earliest first; each is
        free from its start to its end, and at least ``duration`` long.
    """
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    taken = merge((max(s.astimezone(UTC), start), min(e.astimezone(UTC), end))
                  for s, e in busy)
    wanted = frozenset(days)
    out: list[Interval] = []
    day, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    while day <= last and len(out) < limit:
        if day.isoweekday() in wanted:
            open_from = max(wall_clock(day, day_start, tz), start)
            open_to = min(wall_clock(day, day_end, tz), end)
            for free_from, free_to in gaps(taken, open_from, open_to):
                first = align_up(free_from, align, tz)
                if free_to - first >= duration:
                    out.append((first.astimezone(tz), free_to.astimezone(tz)))
        day += timedelta(days=1)
    return out[:limit]
