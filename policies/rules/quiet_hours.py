"""Quiet hours: staff do not message students at night; such a message waits for the morning.

The window is read on the district's clock (``context.timezone``, daylight saving included), never the
sender's or the server's. A message outside it is deferred to the next allowed start: the next 06:00 that
is not a closed day (and not a weekend, if the district says so). Closed days come in the context
(district calendar, public holidays); the rule reads no calendar itself. A message marked urgent is not
deferred: the ``urgent`` rule lists it for review instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, model_validator

from policies.context import Context
from policies.message import Message
from policies.rules import Hit

_SEARCH_DAYS = 400  # more closed days in a row than this means the calendar is wrong, not the message


class QuietHoursOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: time = time(6, 0)  # first allowed minute, district time
    end: time = time(21, 0)  # first quiet minute
    weekends: Literal["allow", "defer"] = "allow"
    closed_days: Literal["defer", "allow"] = "defer"  # context.closed_days are quiet all day
    urgent_bypasses: bool = True

    @model_validator(mode="after")
    def _window_within_a_day(self) -> Self:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("start and end are district-local times without an offset")
        if not self.start < self.end:
            raise ValueError(f"start ({self.start:%H:%M}) must come before end ({self.end:%H:%M})")
        return self


@dataclass(frozen=True, slots=True)
class Window:
    """When messages may go out, on the district's clock."""

    start: time
    end: time
    zone: ZoneInfo
    quiet_weekends: bool
    closed_days: frozenset[date]

    def day_open(self, day: date) -> bool:
        if self.quiet_weekends and day.weekday() >= 5:
            return False
        return day not in self.closed_days

    def release_for(self, sent_at: datetime) -> datetime | None:
        """None if ``sent_at`` is inside the window, else the next allowed start (district time)."""
        local = _aware(sent_at).astimezone(self.zone)
        day, clock = local.date(), local.time().replace(tzinfo=None)
        if self.day_open(day) and self.start <= clock < self.end:
            return None
        if not (self.day_open(day) and clock < self.start):
            day = self._next_open_day(day)
        return _local(day, self.start, self.zone)

    def _next_open_day(self, day: date) -> date:
        for _ in range(_SEARCH_DAYS):
            day += timedelta(days=1)
            if self.day_open(day):
                return day
        raise ValueError(f"no open day within {_SEARCH_DAYS} days of {day}: check the closed-days calendar")


def _aware(moment: datetime) -> datetime:
    # A naive time would be read in the server's zone, which differs between machines: call it UTC so
    # that a replay gives the same answer everywhere.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    # Through UTC and back: a start that falls in a spring-forward gap becomes the real instant after it.
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC).astimezone(zone)


class QuietHours:
    id = "quiet_hours"
    category = "quiet_hours"
    description = "Staff to student outside the district's messaging hours: deferred to the next morning."
    Options = QuietHoursOptions
    audience = "a student"

    def __init__(self, options: QuietHoursOptions | None = None) -> None:
        self.options = options if options is not None else self.Options()

    def applies(self, message: Message) -> bool:
        """Staff writing to at least one student, whoever else is on the message (parents included)."""
        return message.sender_is_staff and bool(message.student_recipients)

    def window(self, context: Context) -> Window:
        options = self.options
        closed = context.closed_days if options.closed_days == "defer" else frozenset()
        return Window(options.start, options.end, context.timezone, options.weekends == "defer", closed)

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        if message.urgent is not None and self.options.urgent_bypasses:
            return ()
        if not self.applies(message):
            return ()
        window = self.window(context)
        try:
            local = _aware(message.sent_at).astimezone(window.zone)
        except OverflowError:
            unreadable = (
                f"Sent to {self.audience} at a time the district clock cannot show; a person decides."
            )
            return (Hit(reason=unreadable),)
        try:
            release = window.release_for(local)
        except (OverflowError, ValueError):
            # At the edge of the calendar (year 9999) or with every day closed there is no next
            # morning: still quiet hours, with no release time, so a person decides.
            return (Hit(reason=f"{self._why(local, window)}; no allowed time to send it could be found."),)
        if release is None:
            return ()
        return (
            Hit(
                reason=f"{self._why(local, window)}; it waits until {release:%a %d %b %H:%M}.",
                release_at=release,
            ),
        )

    def _why(self, local: datetime, window: Window) -> str:
        day = local.date()
        if day in window.closed_days:
            when = "on a day the school is closed"
        elif window.quiet_weekends and day.weekday() >= 5:
            when = "on a weekend"
        else:
            when = f"outside {window.start:%H:%M}-{window.end:%H:%M}"
        return f"Sent to {self.audience} at {local:%a %H:%M} district time, {when}"
