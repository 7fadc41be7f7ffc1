"""ISO 8601 timer values: the pure parsing lives in the model layer (``midflight.model.timers``),
where deploy-time validation uses it too; the runtime schedules with the same functions."""

from __future__ import annotations

from midflight.model.timers import TimerSchedule, parse_date_time, parse_duration, parse_timer

__all__ = ["TimerSchedule", "parse_date_time", "parse_duration", "parse_timer"]
