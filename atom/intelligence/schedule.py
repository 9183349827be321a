"""English schedules to five-field cron: "every 15 minutes", "hourly", "every weekday at 7am"
(``0 7 * * 1-5``), "on the 1st of every month at 6am", "Sunday night at 11pm", "every Monday and
Thursday at 9:30", "twice a day", "every other day", "quarterly", ...

:func:`parse_schedule` returns a :class:`Schedule` (cron, time zone if the text names one, the
spans of the text it read, which parts were assumed) or None when the text names no schedule.
Rules only, no model: the vocabulary of schedules is small and closed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field

DAYS = {"sunday": 0, "sun": 0, "monday": 1, "mon": 1, "tuesday": 2, "tue": 2, "tues": 2,
        "wednesday": 3, "wed": 3, "thursday": 4, "thu": 4, "thur": 4, "thurs": 4,
        "friday": 5, "fri": 5, "saturday": 6, "sat": 6}
DAY_NAMES = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
# When a part of the day is named without a clock time.
PARTS_OF_DAY = {"morning": 9, "noon": 12, "midday": 12, "lunchtime": 12, "lunch": 12,
                "afternoon": 14, "evening": 18, "night": 21, "midnight": 0,
                "end of day": 17, "end of the day": 17, "close of business": 17, "eod": 17,
                "start of day": 9, "start of the day": 9, "beginning of the day": 9}
DEFAULT_HOUR = 9
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1}
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
           "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
           "twenty": 20, "thirty": 30, "forty-five": 45, "a couple of": 2, "a few": 3}
TIMEZONES = {"utc": "UTC", "gmt": "Europe/London", "bst": "Europe/London",
             "uk time": "Europe/London", "london time": "Europe/London",
             "est": "America/New_York", "edt": "America/New_York", "et": "America/New_York",
             "eastern": "America/New_York", "eastern time": "America/New_York",
             "new york time": "America/New_York",
             "cst": "America/Chicago", "cdt": "America/Chicago", "central time": "America/Chicago",
             "mst": "America/Denver", "mdt": "America/Denver", "mountain time": "America/Denver",
             "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles", "pt": "America/Los_Angeles",
             "pacific": "America/Los_Angeles", "pacific time": "America/Los_Angeles",
             "cet": "Europe/Paris", "cest": "Europe/Paris", "paris time": "Europe/Paris",
             "berlin time": "Europe/Berlin", "ist": "Asia/Kolkata", "india time": "Asia/Kolkata",
             "jst": "Asia/Tokyo", "tokyo time": "Asia/Tokyo", "aest": "Australia/Sydney",
             "sydney time": "Australia/Sydney", "sgt": "Asia/Singapore"}

_DAY = r"(?:sun|mon|tue|tues|wed|thu|thur|thurs|fri|sat)(?:day|nesday|rsday|urday|sday)?s?"
_DAY_RE = re.compile(rf"\b({_DAY})\b")
_NUM = r"(\d+|" + "|".join(sorted(map(re.escape, NUMBERS), key=len, reverse=True)) + r")"
_CLOCK = re.compile(
    r"\b(?:at\s+|@\s*|by\s+|around\s+)?(\d{1,2})(?:[:.](\d{2}))?\s*(a\.?m\.?|p\.?m\.?|o'?clock|h\b)"
    r"|\b(?:at|@|around|by)\s+(\d{1,2})(?:[:.](\d{2}))?\b(?!\s*(?:minutes?|mins?|hours?|hrs?|days?|%|k\b|th|st|nd|rd))"
    r"|\b(\d{1,2}):(\d{2})\b")
_PART = re.compile(r"\b(" + "|".join(sorted(map(re.escape, PARTS_OF_DAY), key=len, reverse=True))
                   + r")s?\b")
_TZ = re.compile(r"\b([A-Z][a-z]+/[A-Za-z_]+(?:/[A-Za-z_]+)?)\b|\b(" + "|".join(
    sorted(map(re.escape, TIMEZONES), key=len, reverse=True)) + r")\b", re.I)


def _number(word: str) -> int:
    word = word.lower()
    return int(word) if word.isdigit() else NUMBERS[word]


@dataclass
class Schedule:
    cron: str
    timezone: str | None = None
    spans: list[tuple[int, int]] = field(default_factory=list)
    phrase: str = ""
    assumed: list[str] = field(default_factory=list)  # "time": the hour was not said, ...
    times: list[str] = field(default_factory=list)

    @property
    def confidence(self) -> float:
        return 0.95 - 0.15 * len(self.assumed)


def day_spans(text: str) -> list[tuple[int, int]]:
    """Where ``text`` (lower case) names weekdays as a schedule ("every Monday", "on Fridays",
    "Monday and Thursday at 9"), not as a word that is also a service name ("a Monday board")."""
    found = []
    for m in _DAY_RE.finditer(text):
        word = m.group(1)
        before = text[max(0, m.start() - 12):m.start()]
        after = text[m.end():m.end() + 14]
        if re.match(r"\s*(?:\.com|board|item|pulse|workspace)", after):
            continue
        cue = (word.endswith("s") and word.rstrip("s") in DAYS and not word.endswith("ss")
               or re.search(r"(?:every|each|on|next|this|and|or|,|to|through|thru|-|until|till)\s*$", before)
               or re.match(r"\s*(?:at|@|morning|afternoon|evening|night|noon|and|,|through|thru|to|-|\d)", after))
        if cue and _day_number(word) is not None:
            found.append((m.start(), m.end()))
    return found


def _day_number(word: str) -> int | None:
    word = word.lower()
    if word in DAYS:
        return DAYS[word]
    if word.endswith("s") and word[:-1] in DAYS:
        return DAYS[word[:-1]]
    return None


def parse_times(text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Clock times named in ``text`` (lower case): ``([(hour, minute)], spans)``."""
    times: list[tuple[int, int]] = []
    spans: list[tuple[int, int]] = []
    for m in _CLOCK.finditer(text):
        bare = False  # "at 5": no am/pm and no minutes
        if m.group(1):
            hour, minute, suffix = int(m.group(1)), int(m.group(2) or 0), m.group(3)
        elif m.group(4):
            hour, minute, suffix = int(m.group(4)), int(m.group(5) or 0), ""
            bare = m.group(5) is None
        else:
            hour, minute, suffix = int(m.group(6)), int(m.group(7)), ""
        suffix = suffix.replace(".", "")
        if suffix.startswith("p") and hour < 12:
            hour += 12
        elif suffix.startswith("a") and hour == 12:
            hour = 0
        elif not suffix and hour < 12:
            tail = text[m.end():m.end() + 24]
            if re.match(r"\s*(?:in the )?(?:afternoon|evening|tonight|at night|night)", tail) or (
                    re.search(r"(?:afternoon|evening|night)\s*(?:at\s*)?$", text[max(0, m.start() - 14):m.start()])):
                hour += 12
            elif bare and 1 <= hour <= 6 and not re.match(r"\s*(?:in the )?morning", tail):
                hour += 12  # "at 5" in a working day is 5 pm
        if hour > 23 or minute > 59:
            continue
        times.append((hour, minute))
        spans.append(m.span())
    for m in re.finditer(r"\b(noon|midday|midnight)\b", text):
        times.append((0 if m.group(1) == "midnight" else 12, 0))
        spans.append(m.span())
    order = sorted(range(len(times)), key=lambda i: spans[i][0])
    return [times[i] for i in order], [spans[i] for i in order]


def find_timezone(original: str) -> tuple[str | None, tuple[int, int] | None]:
    for m in _TZ.finditer(original):
        if m.group(1):
            return m.group(1), m.span()
        word = m.group(2)
        short = len(word) <= 4
        if short and not word.isupper() and word.lower() not in ("utc", "gmt"):
            continue  # "et", "pt" only as capitals
        return TIMEZONES[word.lower()], m.span()
    return None, None


def parse_schedule(original: str) -> Schedule | None:
    text = original.lower()
    spans: list[tuple[int, int]] = []
    assumed: list[str] = []

    def hit(pattern: str, flags: int = 0) -> re.Match | None:
        m = re.search(pattern, text, flags)
        if m:
            spans.append(m.span())
        return m

    times, time_spans = parse_times(text)
    tz, tz_span = find_timezone(original)
    minute_f, hour_f, dom_f, month_f, dow_f = "0", None, "*", "*", "*"
    kind = None

    # -- intervals under a day -----------------------------------------------------------
    m = hit(rf"\bevery\s+{_NUM}\s*(?:-\s*)?(?:minutes?|mins?|m\b)")
    if m:
        n = _number(m.group(1))
        minute_f, hour_f, kind = (f"*/{n}" if n > 1 else "*"), "*", "minutes"
    elif hit(r"\bevery\s+minute\b|\bminutely\b|\bonce a minute\b"):
        minute_f, hour_f, kind = "*", "*", "minutes"
    elif hit(r"\bevery\s+(?:half(?:\s+an)?\s+hour|30\s+min)|\btwice an hour\b|\bhalf[- ]hourly\b"):
        minute_f, hour_f, kind = "*/30", "*", "minutes"
    elif hit(r"\bevery\s+quarter(?:\s+of\s+an)?\s+hour\b"):
        minute_f, hour_f, kind = "*/15", "*", "minutes"
    else:
        m = hit(rf"\bevery\s+{_NUM}\s*(?:-\s*)?(?:hours?|hrs?|h\b)")
        if m:
            n = _number(m.group(1))
            hour_f, kind = (f"*/{n}" if n > 1 else "*"), "hours"
        elif hit(r"\bevery\s+other\s+hour\b"):
            hour_f, kind = "*/2", "hours"
        elif hit(r"\b(?:every|each)\s+hour\b|\bhourly\b|\bonce an hour\b|\bon the hour\b|\btop of (?:the|every) hour\b"):
            hour_f, kind = "*", "hours"
        if kind == "hours":
            m = re.search(r"\b(?:at|on)\s+(?:minute\s+)?:?(\d{1,2})\s+(?:past|after)|:(\d{2})\b|(\d{1,2})\s+minutes?\s+past", text)
            if m:
                minute_f = next(g for g in m.groups() if g)
            elif re.search(r"half past|on the half hour", text):
                minute_f = "30"
            times, time_spans = [], []
    if kind in ("minutes", "hours"):
        window = re.search(r"\b(?:between|from)\s+(\d{1,2})\s*(am|pm)?\s*(?:and|to|-|until)\s+(\d{1,2})\s*(am|pm)?", text)
        if window:
            start = int(window.group(1)) + (12 if window.group(2) == "pm" and int(window.group(1)) < 12 else 0)
            end = int(window.group(3)) + (12 if (window.group(4) == "pm" or (not window.group(4) and int(window.group(3)) < start)) and int(window.group(3)) < 12 else 0)
            hour_f = f"{start}-{end}" if hour_f == "*" else f"{start}-{end}/{hour_f.split('/')[1]}"
            spans.append(window.span())
            times, time_spans = [], []
        elif hit(r"\b(?:during\s+)?(?:business|working|office|work)\s+hours\b"):
            hour_f = "9-17" if hour_f == "*" else f"9-17/{hour_f.split('/')[1]}"
            if dow_f == "*":
                dow_f = "1-5"

    # -- days of the week --------------------------------------------------------------
    dspans = day_spans(text)
    days: list[int] = []
    if hit(r"\b(?:every\s+)?week\s*days?\b|\bmonday\s*(?:-|to|through|thru|until)\s*friday\b|\bmon\s*-\s*fri\b|\bbusiness days?\b|\bworking days?\b|\b(?:every|each|on|per|a)\s+workday\b|\bworkdays\b"):
        dow_f = "1-5"
        dspans = [s for s in dspans if not any(a <= s[0] < b for a, b in spans)]
    elif hit(r"\b(?:every\s+)?weekends?\b|\bsaturdays?\s+and\s+sundays?\b"):
        dow_f = "0,6"
        dspans = [s for s in dspans if not any(a <= s[0] < b for a, b in spans)]
    else:
        rng = re.search(rf"\b({_DAY})\s*(?:-|to|through|thru|until)\s*({_DAY})\b", text)
        if rng and _day_number(rng.group(1)) is not None and _day_number(rng.group(2)) is not None:
            dow_f = f"{_day_number(rng.group(1))}-{_day_number(rng.group(2))}"
            spans.append(rng.span())
            dspans = []
        for a, b in dspans:
            num = _day_number(text[a:b])
            if num is not None and num not in days:
                days.append(num)
            spans.append((a, b))
        if days:
            dow_f = ",".join(str(d) for d in sorted(days))

    # -- ordinals in the month --------------------------------------------------------
    nth_weekday = re.search(rf"\b(first|second|third|fourth|last|1st|2nd|3rd|4th)\s+({_DAY})\s+of\s+(?:the|each|every)\s+month", text)
    if nth_weekday and _day_number(nth_weekday.group(2)) is not None:
        n = ORDINALS.get(nth_weekday.group(1)) or int(nth_weekday.group(1)[0])
        day = _day_number(nth_weekday.group(2))
        dow_f = f"{day}#{n}" if n > 0 else f"{day}L"
        spans.append(nth_weekday.span())
        kind = kind or "monthly"
    elif hit(r"\blast\s+day\s+of\s+(?:the|each|every)\s+month\b|\bend\s+of\s+(?:the|each|every)\s+month\b|\bmonth[- ]end\b"):
        dom_f, kind = "L", kind or "monthly"
    else:
        dom = re.findall(r"\b(\d{1,2})(?:st|nd|rd|th)\b", text)
        dom_words = re.search(r"\b(first|1st)\s+(?:day\s+)?of\s+(?:the|each|every)\s+month\b|\bstart of (?:the|each|every) month\b", text)
        if dom or dom_words:
            values = sorted({int(d) for d in dom if 1 <= int(d) <= 31} | ({1} if dom_words else set()))
            if values and re.search(r"\bmonth|\bmonthly\b|\bof\s+(?:the|each|every)\b|\bon the\b", text):
                dom_f, kind = ",".join(map(str, values)), kind or "monthly"
                for mm in re.finditer(r"\b(?:on\s+)?(?:the\s+)?\d{1,2}(?:st|nd|rd|th)\b(?:\s+and\s+(?:the\s+)?\d{1,2}(?:st|nd|rd|th))?(?:\s+(?:day\s+)?of\s+(?:the|each|every)\s+month)?", text):
                    spans.append(mm.span())
                if dom_words:
                    spans.append(dom_words.span())
    if dom_f == "*" and not dow_f.count("#") and hit(r"\bmonthly\b|\b(?:every|each|once a|per)\s+month\b"):
        dom_f, kind = "1", kind or "monthly"
    if hit(r"\bquarterly\b|\bevery\s+quarter\b|\beach\s+quarter\b"):
        dom_f = "1" if dom_f == "*" else dom_f
        month_f, kind = "1,4,7,10", "monthly"
    elif hit(r"\b(?:yearly|annually|every\s+year|once\s+a\s+year)\b"):
        dom_f, month_f, kind = ("1" if dom_f == "*" else dom_f), "1", "monthly"

    # -- daily / weekly words -----------------------------------------------------------
    every_other_day = hit(r"\bevery\s+other\s+day\b|\bevery\s+(?:2|two)\s+days\b|\balternate days\b")
    if every_other_day:
        dom_f = "*/2"
    m = hit(rf"\bevery\s+{_NUM}\s+days\b")
    if m and not every_other_day:
        dom_f = f"*/{_number(m.group(1))}"
    twice = hit(r"\btwice\s+(?:a|per|each)\s+day\b|\btwice\s+daily\b")
    thrice = hit(r"\b(?:three times|3 times)\s+(?:a|per|each)\s+day\b")
    daily = hit(r"\b(?:daily|every\s*day|each\s+day|everyday|once\s+a\s+day|per\s+day|nightly|every\s+(?:morning|afternoon|evening|night)|each\s+(?:morning|afternoon|evening|night)|every\s+single\s+day|tonight)\b")
    week_end = hit(r"\bend\s+of\s+(?:the\s+|every\s+|each\s+)?(?:work\s*)?week\b")
    if week_end:
        dow_f = "5" if dow_f == "*" else dow_f
        if not times:
            times = [(17, 0)]
    weekly = hit(r"\b(?:weekly|every\s+week|each\s+week|once\s+a\s+week|per\s+week)\b")
    if weekly and dow_f == "*":
        dow_f = "1"
        assumed.append("day")

    part = None
    for pm in _PART.finditer(text):
        if pm.group(1) in ("noon", "midday", "midnight") and times:
            continue
        part = pm.group(1)
        spans.append(pm.span())
        break

    if kind not in ("minutes", "hours"):
        scheduled = (daily or twice or thrice or weekly or days or dow_f != "*" or dom_f != "*"
                     or every_other_day or kind == "monthly")
        if not scheduled:
            if times and re.search(r"\b(?:every|each)\b", text):
                scheduled = True  # "every ... at 9"
            else:
                return None
        if twice and len(times) < 2:
            times = [(9, 0), (17, 0)] if not times else times + [((times[0][0] + 12) % 24, times[0][1])]
        elif thrice and len(times) < 3:
            times = [(9, 0), (13, 0), (17, 0)]
        if not times:
            if part is not None:
                times = [(PARTS_OF_DAY[part], 0)]
            else:
                times = [(DEFAULT_HOUR, 0)]
                assumed.append("time")
        minutes = sorted({mi for _, mi in times})
        hours = sorted({h for h, _ in times})
        minute_f = str(minutes[0]) if len(minutes) == 1 else str(times[0][1])
        hour_f = ",".join(map(str, hours))
        spans.extend(time_spans)
    elif hour_f is None:
        hour_f = "*"
    if tz_span:
        spans.append(tz_span)
    cron = f"{minute_f} {hour_f} {dom_f} {month_f} {dow_f}"
    spans = _merge(spans)
    phrase = " ".join(original[a:b] for a, b in spans)
    shown = [f"{h:02d}:{mi:02d}" for h, mi in times] if kind not in ("minutes", "hours") else []
    return Schedule(cron=cron, timezone=tz, spans=spans, phrase=phrase, assumed=assumed,
                    times=shown)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def describe(cron: str) -> str:
    """A short English reading of a cron made here (for the explanation)."""
    minute, hour, dom, month, dow = cron.split()
    if hour == "*" and minute.startswith("*/"):
        return f"every {minute[2:]} minutes"
    if minute == "*" and hour == "*":
        return "every minute"
    if hour.startswith("*/") or hour == "*":
        base = "every hour" if hour == "*" else f"every {hour[2:]} hours"
        return base + (f" at minute {minute}" if minute != "0" else "")
    if "-" in hour and minute.startswith("*/"):
        return f"every {minute[2:]} minutes between {hour.split('-')[0]}:00 and {hour.split('-')[1]}:59"
    at = ", ".join(f"{int(h):02d}:{int(minute):02d}" for h in hour.split(",") if h.isdigit()) or hour
    if dow == "1-5":
        days = "every weekday"
    elif dow == "0,6":
        days = "every weekend day"
    elif "#" in dow or dow.endswith("L"):
        day, _, n = dow.partition("#")
        days = f"the {'last' if dow.endswith('L') else {1: 'first', 2: 'second', 3: 'third', 4: 'fourth'}.get(int(n or 1))} {DAY_NAMES[int(day.rstrip('L'))].title()} of the month"
    elif dow != "*":
        names = [DAY_NAMES[int(d) % 7].title() for d in dow.split(",") if d.isdigit()]
        days = "every " + " and ".join(names) if names else f"days {dow}"
    elif dom == "L":
        days = "the last day of every month"
    elif dom.startswith("*/"):
        days = f"every {dom[2:]} days"
    elif dom != "*":
        days = f"day {dom} of {'every month' if month == '*' else f'months {month}'}"
    else:
        days = "every day"
    return f"{days} at {at}"
