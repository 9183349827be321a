"""``free_slots``: free intervals within working hours in a time zone (a pure function)."""
from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from plugins.google_calendar.slots import align_up
from plugins.google_calendar.slots import free_slots
from plugins.google_calendar.slots import gaps
from plugins.google_calendar.slots import merge

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = timedelta(hours=1)


def at(text: str, tz=BERLIN) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def shown(slots) -> list[tuple[str, str]]:
    return [(s.strftime("%a %H:%M"), e.strftime("%a %H:%M")) for s, e in slots]


def test_merge_joins_overlapping_and_touching_intervals():
    a, b, c, d = (at(f"2024-05-06T{h}:00") for h in ("09", "10", "11", "12"))
    assert merge([(c, d), (a, b), (b, c), (a, a)]) == [(a, d)]
    assert merge([(a, b), (c, d)]) == [(a, b), (c, d)]


def test_gaps_are_what_the_busy_intervals_leave():
    day = [at(f"2024-05-06T{h}:00") for h in ("09", "10", "11", "12", "13", "17")]
    assert gaps([(day[1], day[2]), (day[3], day[4])], day[0], day[5]) == [
        (day[0], day[1]), (day[2], day[3]), (day[4], day[5])]
    assert gaps([(day[0], day[5])], day[1], day[2]) == []


def test_a_free_week_gives_working_hours_on_working_days_only():
    # Monday 6 May to Monday 13 May 2024, 00:00 Berlin time.
    slots = free_slots([], at("2024-05-06T00:00"), at("2024-05-13T00:00"), duration=HOUR,
                       tz=BERLIN)
    assert shown(slots) == [(d, d.replace("09:00", "17:00")) for d in
                            ("Mon 09:00", "Tue 09:00", "Wed 09:00", "Thu 09:00", "Fri 09:00")]
    assert slots[0][0].isoformat() == "2024-05-06T09:00:00+02:00"


def test_busy_time_from_several_calendars_is_left_out():
    busy = [(at("2024-05-06T10:00"), at("2024-05-06T11:00")),          # calendar A
            (at("2024-05-06T10:30"), at("2024-05-06T12:15")),          # calendar B overlaps
            (at("2024-05-06T15:20"), at("2024-05-06T16:50"))]
    slots = free_slots(busy, at("2024-05-06T00:00"), at("2024-05-07T00:00"),
                       duration=timedelta(minutes=30), tz=BERLIN)
    # 16:50-17:00 is too short for 30 minutes.
    assert shown(slots) == [("Mon 09:00", "Mon 10:00"), ("Mon 12:15", "Mon 15:20")]


def test_a_gap_shorter_than_the_duration_is_not_a_slot():
    busy = [(at("2024-05-06T09:00"), at("2024-05-06T12:00")),
            (at("2024-05-06T12:40"), at("2024-05-06T17:00"))]
    assert free_slots(busy, at("2024-05-06T00:00"), at("2024-05-07T00:00"),
                      duration=HOUR, tz=BERLIN) == []


def test_slots_start_on_the_alignment_boundary():
    busy = [(at("2024-05-06T09:00"), at("2024-05-06T10:07"))]
    slots = free_slots(busy, at("2024-05-06T00:00"), at("2024-05-07T00:00"),
                       duration=timedelta(minutes=30), tz=BERLIN, align=15)
    assert shown(slots) == [("Mon 10:15", "Mon 17:00")]
    slots = free_slots(busy, at("2024-05-06T00:00"), at("2024-05-07T00:00"),
                       duration=timedelta(minutes=30), tz=BERLIN, align=1)
    assert shown(slots) == [("Mon 10:07", "Mon 17:00")]


def test_alignment_that_leaves_too_little_time_drops_the_slot():
    busy = [(at("2024-05-06T09:00"), at("2024-05-06T16:01"))]
    assert free_slots(busy, at("2024-05-06T00:00"), at("2024-05-07T00:00"),
                      duration=timedelta(minutes=50), tz=BERLIN, align=15) == []


def test_the_window_cuts_the_working_day():
    slots = free_slots([], at("2024-05-06T13:20"), at("2024-05-06T15:00"), duration=HOUR,
                       tz=BERLIN, align=30)
    assert shown(slots) == [("Mon 13:30", "Mon 15:00")]


def test_working_hours_are_wall_clock_times_in_the_zone_across_dst():
    # Berlin moves to summer time on Sunday 31 March 2024: UTC offsets +01:00, then +02:00.
    slots = free_slots([], at("2024-03-29T00:00"), at("2024-04-02T00:00"), duration=HOUR,
                       tz=BERLIN, days=range(1, 8))
    assert [s.isoformat() for s, _ in slots] == [
        "2024-03-29T09:00:00+01:00", "2024-03-30T09:00:00+01:00",
        "2024-03-31T09:00:00+02:00", "2024-04-01T09:00:00+02:00"]
    assert all(e - s == 8 * HOUR for s, e in slots)


def test_a_day_spanning_the_dst_change_counts_real_hours():
    # 00:00-24:00 on the short day is 23 real hours; a 23.5 h duration does not fit.
    day = dict(tz=BERLIN, day_start=time(0, 0), day_end=time.max, days=range(1, 8))
    window = (at("2024-03-31T00:00"), at("2024-04-01T00:00"))
    (slot,) = free_slots([], *window, duration=23 * HOUR, **day)
    assert slot[1].astimezone(UTC) - slot[0].astimezone(UTC) == 23 * HOUR
    assert free_slots([], *window, duration=timedelta(hours=23, minutes=30), **day) == []


def test_busy_times_in_other_zones_are_compared_as_instants():
    # 15:00 UTC is 11:00 in New York (EDT, -04:00).
    busy = [(datetime(2024, 5, 6, 13, 0, tzinfo=UTC), datetime(2024, 5, 6, 15, 0, tzinfo=UTC))]
    slots = free_slots(busy, at("2024-05-06T00:00", NEW_YORK), at("2024-05-07T00:00", NEW_YORK),
                       duration=HOUR, tz=NEW_YORK)
    assert shown(slots) == [("Mon 11:00", "Mon 17:00")]
    assert slots[0][0].utcoffset() == timedelta(hours=-4)


def test_an_all_day_busy_block_spanning_days_takes_them_all():
    busy = [(at("2024-05-06T00:00"), at("2024-05-08T00:00"))]
    slots = free_slots(busy, at("2024-05-06T00:00"), at("2024-05-09T00:00"), duration=HOUR,
                       tz=BERLIN)
    assert shown(slots) == [("Wed 09:00", "Wed 17:00")]


def test_the_limit_stops_early():
    slots = free_slots([], at("2024-05-06T00:00"), at("2024-06-06T00:00"), duration=HOUR,
                       tz=BERLIN, limit=3)
    assert len(slots) == 3


def test_align_up_keeps_a_time_already_on_the_boundary():
    moment = at("2024-05-06T10:30")
    assert align_up(moment, 15, BERLIN) == moment
    assert align_up(moment + timedelta(seconds=1), 15, BERLIN) == at("2024-05-06T10:45")
