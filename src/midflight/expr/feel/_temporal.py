"""FEEL dates, times, date-times and durations on top of the ``datetime`` module.

FEEL allows years far outside 1..9999; Python's ``datetime`` does not, so text or arithmetic that
leaves that range yields null, as FEEL does for any other invalid temporal value.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = [
    "YearsMonthsDuration",
    "add_months",
    "datetime_add",
    "datetime_sub",
    "format_date_time",
    "format_duration",
    "format_time",
    "make_offset",
    "months_between",
    "parse_date",
    "parse_date_time",
    "parse_duration",
    "parse_temporal_literal",
    "parse_time",
    "property_of",
    "time_add",
    "time_sub",
    "zone",
]

_MICROS_PER_SECOND = 1_000_000
_MICROS_PER_DAY = 86_400 * _MICROS_PER_SECOND


@dataclass(frozen=True, slots=True, order=True)
class YearsMonthsDuration:
    """A FEEL years-and-months duration, held as a signed number of months.

    ``timedelta`` cannot hold one: a month has no fixed length.
    """

    months: int

    @property
    def years(self) -> int:
        """Whole years, signed like the duration."""
        return _sign(self.months) * (abs(self.months) // 12)

    @property
    def months_part(self) -> int:
        """Months beyond the whole years (-11..11), signed like the duration."""
        return _sign(self.months) * (abs(self.months) % 12)

    def __str__(self) -> str:
        return format_duration(self)


def _sign(n: int) -> int:
    return -1 if n < 0 else 1


# Fixed offsets are accepted between -18:00 and +18:00, as in ISO 8601 / java.time.
_ZONE = r"(?P<zone>Z|[+-]\d{2}:\d{2}|@[A-Za-z][A-Za-z0-9_+\-/]{0,63})?"
_DATE_RE = re.compile(r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})")
_TIME_RE = re.compile(
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})(?:\.(?P<frac>\d{1,9}))?"
)
_DATE_ONLY = re.compile(_DATE_RE.pattern)
_TIME_ONLY = re.compile(_TIME_RE.pattern + _ZONE)
_DATE_TIME = re.compile(_DATE_RE.pattern + "T" + _TIME_RE.pattern + _ZONE)
_DURATION = re.compile(
    r"(?P<neg>-)?P(?:(?P<years>\d{1,9})Y)?(?:(?P<months>\d{1,9})M)?(?:(?P<days>\d{1,9})D)?"
    r"(?:T(?:(?P<hours>\d{1,12})H)?(?:(?P<minutes>\d{1,14})M)?"
    r"(?:(?P<seconds>\d{1,15})(?:\.(?P<frac>\d{1,9}))?S)?)?"
)


@lru_cache(maxsize=256)
def zone(key: str) -> tzinfo | None:
    """The IANA zone ``key``, or None when it does not exist."""
    try:
        return ZoneInfo(key)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return None


def make_offset(offset: timedelta) -> tzinfo | None:
    """A fixed-offset zone, or None when the offset is out of range or not whole seconds."""
    if offset.microseconds or abs(offset) > timedelta(hours=18):
        return None
    return UTC if not offset else timezone(offset)


def _parse_zone(text: str | None) -> tuple[bool, tzinfo | None]:
    """``(valid, zone)`` of a time suffix; a missing suffix is valid local time (zone None)."""
    if text is None:
        return True, None
    if text == "Z":
        return True, UTC
    if text[0] == "@":
        found = zone(text[1:])
    else:
        sign = -1 if text[0] == "-" else 1
        hours, minutes = int(text[1:3]), int(text[4:6])
        found = (
            make_offset(sign * timedelta(hours=hours, minutes=minutes)) if minutes < 60 else None
        )
    return found is not None, found


def _date_parts(m: re.Match[str]) -> date | None:
    try:
        return date(int(m["year"]), int(m["month"]), int(m["day"]))
    except ValueError:  # year 0, February 30, ...
        return None


def _time_parts(m: re.Match[str]) -> time | None:
    valid, zone_info = _parse_zone(m["zone"])
    if not valid:
        return None
    micros = int((m["frac"] or "").ljust(6, "0")[:6])
    try:
        return time(int(m["hour"]), int(m["minute"]), int(m["second"]), micros, zone_info)
    except ValueError:
        return None


def parse_date(text: str) -> date | None:
    """``date("2024-01-31")``; None when the text is not a valid date."""
    m = _DATE_ONLY.fullmatch(text)
    return _date_parts(m) if m else None


def parse_time(text: str) -> time | None:
    """``time("10:30:00")`` with optional fraction and ``Z``/``+01:00``/``@Europe/Paris``."""
    m = _TIME_ONLY.fullmatch(text)
    return _time_parts(m) if m else None


def parse_date_time(text: str) -> datetime | None:
    """``date and time("2024-01-31T10:30:00+01:00")``; a bare date means its midnight."""
    m = _DATE_TIME.fullmatch(text)
    if m is None:
        day = parse_date(text)
        return None if day is None else datetime(day.year, day.month, day.day)
    day, clock = _date_parts(m), _time_parts(m)
    if day is None or clock is None:
        return None
    return datetime.combine(day, clock)


def parse_duration(text: str) -> timedelta | YearsMonthsDuration | None:
    """``duration("P1DT2H")`` (days and time) or ``duration("P1Y2M")`` (years and months)."""
    m = _DURATION.fullmatch(text)
    if m is None or text.endswith("T"):
        return None
    sign = -1 if m["neg"] else 1
    has_ym = m["years"] is not None or m["months"] is not None
    time_fields = ("days", "hours", "minutes", "seconds")
    has_dt = any(m[f] is not None for f in time_fields)
    if has_ym == has_dt:  # nothing at all, or FEEL's two duration kinds mixed
        return None
    if has_ym:
        return YearsMonthsDuration(sign * (int(m["years"] or 0) * 12 + int(m["months"] or 0)))
    micros = int((m["frac"] or "").ljust(6, "0")[:6])
    try:
        delta = timedelta(
            days=int(m["days"] or 0),
            hours=int(m["hours"] or 0),
            minutes=int(m["minutes"] or 0),
            seconds=int(m["seconds"] or 0),
            microseconds=micros,
        )
    except OverflowError:
        return None
    return -delta if sign < 0 else delta


def parse_temporal_literal(text: str) -> object | None:
    """The value of an ``@"..."`` literal: a duration, date-time, time or date."""
    if text.startswith(("P", "-P")):
        return parse_duration(text)
    if "T" in text:
        return parse_date_time(text)
    if ":" in text:
        return parse_time(text)
    return parse_date(text)


def _format_clock(value: time | datetime) -> str:
    text = f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    tz = value.tzinfo
    if tz is None:
        return text
    if isinstance(tz, ZoneInfo):
        return f"{text}@{tz.key}"
    offset = tz.utcoffset(None)
    if not offset:
        return f"{text}Z"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def format_time(value: time) -> str:
    """The FEEL string of a time: ``10:30:00``, ``10:30:00.5+01:00``, ``10:30:00@Europe/Paris``."""
    return _format_clock(value)


def format_date_time(value: datetime) -> str:
    """The FEEL string of a date-time: ``2024-01-31T10:30:00Z``."""
    return f"{value.date().isoformat()}T{_format_clock(value)}"


def format_duration(value: timedelta | YearsMonthsDuration) -> str:
    """ISO 8601 text of a duration: ``P1DT2H``, ``-PT0.5S``, ``P1Y2M``, ``PT0S``, ``P0M``."""
    if isinstance(value, YearsMonthsDuration):
        years, months = abs(value.months) // 12, abs(value.months) % 12
        sign = "-" if value.months < 0 else ""
        if not years:
            return f"{sign}P{months}M"
        return f"{sign}P{years}Y{f'{months}M' if months else ''}"
    total = value // timedelta(microseconds=1)
    sign, total = ("-" if total < 0 else ""), abs(total)
    days, rest = divmod(total, _MICROS_PER_DAY)
    hours, rest = divmod(rest, 3600 * _MICROS_PER_SECOND)
    minutes, rest = divmod(rest, 60 * _MICROS_PER_SECOND)
    seconds, micros = divmod(rest, _MICROS_PER_SECOND)
    clock = ""
    if hours:
        clock += f"{hours}H"
    if minutes:
        clock += f"{minutes}M"
    if seconds or micros:
        clock += f"{seconds}.{micros:06d}".rstrip("0").rstrip(".") + "S"
    if not days and not clock:
        return "PT0S"
    return f"{sign}P{f'{days}D' if days else ''}{f'T{clock}' if clock else ''}"


def add_months(day: date, months: int) -> date | None:
    """``day`` moved by whole months, clamped to the month's last day (Jan 31 + 1M = Feb 29)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        return None
    last = calendar.monthrange(year, month + 1)[1]
    return day.replace(year=year, month=month + 1, day=min(day.day, last))


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end`` (negative when ``end`` is earlier), as java.time."""
    months = (end.year - start.year) * 12 + (end.month - start.month)

    def rest(value: date) -> tuple[int, ...]:
        if isinstance(value, datetime):
            return (value.day, value.hour, value.minute, value.second, value.microsecond)
        return (value.day,)

    if months > 0 and rest(end) < rest(start):
        months -= 1
    elif months < 0 and rest(end) > rest(start):
        months += 1
    return months


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def datetime_add(value: datetime, delta: timedelta) -> datetime:
    """Add on the time line: across a daylight-saving change, ``PT1H`` is one real hour."""
    if value.tzinfo is None:
        return value + delta
    return (_utc(value) + delta).astimezone(value.tzinfo)


def datetime_sub(left: datetime, right: datetime) -> timedelta | None:
    """``left - right``; None when only one of them has a zone (they are not comparable)."""
    if (left.utcoffset() is None) != (right.utcoffset() is None):
        return None
    if left.tzinfo is None:
        return left - right
    return _utc(left) - _utc(right)


_ANCHOR = date(2000, 1, 3)  # any date: times carry no date, arithmetic needs one


def time_add(value: time, delta: timedelta) -> time:
    """A time moved by ``delta``, wrapping around midnight."""
    moved = datetime.combine(_ANCHOR, value) + delta
    return moved.timetz()


def time_sub(left: time, right: time) -> timedelta | None:
    """``left - right`` within one day; None when only one has a zone."""
    a, b = datetime.combine(_ANCHOR, left), datetime.combine(_ANCHOR, right)
    return datetime_sub(a, b)


def _zone_id(value: time | datetime) -> str | None:
    return value.tzinfo.key if isinstance(value.tzinfo, ZoneInfo) else None


def _duration_parts(value: timedelta) -> dict[str, Decimal]:
    total = value // timedelta(microseconds=1)
    sign, total = _sign(total), abs(total)
    return {
        "days": Decimal(sign * (total // _MICROS_PER_DAY)),
        "hours": Decimal(sign * (total // (3600 * _MICROS_PER_SECOND) % 24)),
        "minutes": Decimal(sign * (total // (60 * _MICROS_PER_SECOND) % 60)),
        "seconds": Decimal(sign * (total // _MICROS_PER_SECOND % 60)),
    }


def _date_properties(value: date) -> dict[str, object]:
    return {
        "year": Decimal(value.year),
        "month": Decimal(value.month),
        "day": Decimal(value.day),
        "weekday": Decimal(value.isoweekday()),
    }


def _clock_properties(value: time | datetime) -> dict[str, object]:
    return {
        "hour": Decimal(value.hour),
        "minute": Decimal(value.minute),
        "second": Decimal(value.second),
        "time offset": value.utcoffset(),
        "timezone": _zone_id(value),
    }


def property_of(value: object, name: str) -> object:
    """The FEEL property ``name`` of a temporal value (``.year``, ``.hours``, ...), else None.

    Only these fixed names are answered, so a path expression never reaches a Python attribute.
    """
    if isinstance(value, timedelta):
        return _duration_parts(value).get(name)
    if isinstance(value, YearsMonthsDuration):
        parts = {"years": Decimal(value.years), "months": Decimal(value.months_part)}
        return parts.get(name)
    if isinstance(value, datetime):
        return {**_date_properties(value), **_clock_properties(value)}.get(name)
    if isinstance(value, date):
        return _date_properties(value).get(name)
    if isinstance(value, time):
        return _clock_properties(value).get(name)
    return None
