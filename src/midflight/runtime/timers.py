"""ISO 8601 timer values: the pure parsing lives in the model layer (``midflight.model.timers``),
where deploy-time validation uses it too; the runtime schedules with the same functions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from midflight.model.timers import TimerSchedule, parse_date_time, parse_duration, parse_timer

__all__ = [
    "TimerSchedule",
    "next_occurrence",
    "parse_date_time",
    "parse_duration",
    "parse_timer",
    "timer_payload",
]


def timer_payload(catch_id: str, schedule: TimerSchedule) -> dict[str, Any]:
    """What a timer job remembers: the event it fires and, for a cycle, how it repeats."""
    payload: dict[str, Any] = {"catch": catch_id}
    if schedule.interval is not None:
        payload["interval_seconds"] = schedule.interval.total_seconds()
        payload["repetitions_left"] = schedule.repetitions_left
    return payload


def next_occurrence(
    payload: dict[str, Any], due_at: datetime
) -> tuple[datetime, dict[str, Any]] | None:
    """The due date and payload of a cycle's next firing after ``due_at``; None when done."""
    left = payload.get("repetitions_left")
    if "interval_seconds" not in payload or (left is not None and left <= 0):
        return None
    following = due_at + timedelta(seconds=float(payload["interval_seconds"]))
    return following, {**payload, "repetitions_left": None if left is None else left - 1}
