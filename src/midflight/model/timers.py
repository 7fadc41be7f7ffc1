"""ISO 8601 timer values: dates, durations and repeating cycles (``R3/PT10M``).

Timer expressions may be static ISO text or FEEL/JUEL expressions; the runtime evaluates the
expression first and hands the value (text, ``datetime`` or ``timedelta``) to these functions.
They live in the model layer so that validation can check static timer values at deploy time
(``timer_problem``); ``midflight.runtime.timers`` re-exports them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from midflight.errors import InvalidArgumentError

__all__ = [
    "TimerSchedule",
    "looks_like_cron",
    "parse_date_time",
    "parse_duration",
    "parse_timer",
    "timer_problem",
]

_DURATION = re.compile(
    r"^(?P<sign>-)?P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?$"
)
_CYCLE = re.compile(r"^R(?P<count>\d*)/(?P<rest>.+)$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,#-]+$")


@dataclass(frozen=True, slots=True)
class TimerSchedule:
    """When a timer first fires, and for cycles how it repeats."""

    due_at: datetime
    interval: timedelta | None = None
    repetitions_left: int | None = None  # after the first firing; None = unbounded (R/...)


def parse_duration(text: str) -> timedelta:
    """``PT5M``, ``P1DT2H``, ``P2W``; years count 365 days and months 30 (timers only)."""
    match = _DURATION.match(text.strip())
    if not match or text.strip() in ("P", "PT") or text.strip().endswith("T"):
        raise InvalidArgumentError(f"'{text}' is not an ISO 8601 duration such as PT5M or P1D")
    parts = {k: v for k, v in match.groupdict().items() if v and k != "sign"}
    if not parts:
        raise InvalidArgumentError(f"'{text}' is not an ISO 8601 duration such as PT5M or P1D")
    seconds = float(parts.get("seconds", "0").replace(",", "."))
    delta = timedelta(
        days=int(parts.get("years", 0)) * 365
        + int(parts.get("months", 0)) * 30
        + int(parts.get("weeks", 0)) * 7
        + int(parts.get("days", 0)),
        hours=int(parts.get("hours", 0)),
        minutes=int(parts.get("minutes", 0)),
        seconds=seconds,
    )
    return -delta if match.group("sign") else delta


def parse_date_time(text: str) -> datetime:
    """An ISO 8601 date-time; without an offset it is taken as UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgumentError(
            f"'{text}' is not an ISO 8601 date-time such as 2026-01-31T09:00:00Z"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _as_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        return parse_duration(value)
    raise InvalidArgumentError(f"a timer duration must be an ISO 8601 duration, not {value!r}")


def _as_date_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        return parse_date_time(value)
    raise InvalidArgumentError(f"a timer date must be an ISO 8601 date-time, not {value!r}")


def parse_timer(kind: str, value: Any, now: datetime) -> TimerSchedule:
    """The schedule of a timer of ``kind`` (``timeDate``, ``timeDuration``, ``timeCycle``).

    Raises:
        InvalidArgumentError: the value is not a valid timer of that kind.
    """
    if kind == "timeDate":
        return TimerSchedule(due_at=_as_date_time(value))
    if kind == "timeDuration":
        return TimerSchedule(due_at=now + _as_duration(value))
    if kind == "timeCycle":
        if isinstance(value, timedelta):
            return TimerSchedule(due_at=now + value, interval=value, repetitions_left=None)
        text = str(value).strip()
        match = _CYCLE.match(text)
        if not match:
            raise InvalidArgumentError(
                f"'{text}' is not an ISO 8601 repeating interval such as R3/PT10M "
                "(cron expressions are not supported)"
            )
        count = int(match.group("count")) if match.group("count") else None
        pieces = match.group("rest").split("/")
        if len(pieces) == 1:
            interval, start = parse_duration(pieces[0]), now + parse_duration(pieces[0])
        elif len(pieces) == 2 and pieces[0].startswith("P"):
            interval = parse_duration(pieces[0])
            start = parse_date_time(pieces[1]) - interval  # end-anchored: R/PT1H/end
            start = max(start, now + interval)
        elif len(pieces) == 2:
            interval, start = parse_duration(pieces[1]), parse_date_time(pieces[0])
        else:
            raise InvalidArgumentError(f"'{text}' is not an ISO 8601 repeating interval")
        if interval <= timedelta(0):
            raise InvalidArgumentError(f"timer cycle '{text}' must have a positive interval")
        left = None if count is None else max(count - 1, 0)
        return TimerSchedule(due_at=start, interval=interval, repetitions_left=left)
    raise InvalidArgumentError(f"unknown timer kind '{kind}'")


def looks_like_cron(text: str) -> bool:
    """A cron expression (Spring/Quartz style, 5 to 7 fields) rather than ISO 8601 text."""
    fields = text.split()
    return 5 <= len(fields) <= 7 and all(_CRON_FIELD.match(f) for f in fields)


def timer_problem(kind: str, text: str) -> str | None:
    """Why a static timer value of ``kind`` cannot be scheduled, or None when it can.

    Cron cycles are left to the runtime: they are well-formed timer values of Camunda models.
    """
    if kind == "timeCycle" and looks_like_cron(text.strip()):
        return None
    try:
        parse_timer(kind, text, datetime(2000, 1, 1, tzinfo=UTC))
    except InvalidArgumentError as exc:
        return str(exc)
    return None
