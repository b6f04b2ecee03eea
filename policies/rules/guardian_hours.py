"""Guardian hours: staff do not message families late at night either; such a message waits until 07:00.

Kept apart from quiet hours (its own id and category) because it is the district's courtesy, asked for in
the issue, not a student-protection rule: the labelled corpus counts a teacher's 21:30 note to a parent
as clean. It applies only when no student is on the message; with a student, quiet hours decides.
"""

from __future__ import annotations

from datetime import time
from typing import Literal

from policies.message import Message
from policies.parties import Role
from policies.rules.quiet_hours import QuietHours, QuietHoursOptions


class GuardianHoursOptions(QuietHoursOptions):
    start: time = time(7, 0)
    end: time = time(20, 0)
    closed_days: Literal["defer", "allow"] = "allow"  # families may hear from school on a holiday


class GuardianHours(QuietHours):
    id = "guardian_hours"
    category = "guardian_hours"
    description = "Staff to guardians (no student on the message) late at night: deferred to the morning."
    Options = GuardianHoursOptions
    audience = "a guardian"

    def __init__(self, options: GuardianHoursOptions | None = None) -> None:
        super().__init__(options if options is not None else GuardianHoursOptions())

    def applies(self, message: Message) -> bool:
        return (
            message.sender_is_staff
            and not message.student_recipients
            and any(party.role is Role.GUARDIAN for party in message.recipients)
        )
