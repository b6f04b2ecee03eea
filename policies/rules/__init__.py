"""Policy rules: one small module per rule, registered in one place (``policies.rules.registry``).

A rule looks at a message and says where it matched (``Hit``); it does not choose the action. The engine
turns hits into findings with the action and citation the district's pack gives the rule. A rule with
settings (quiet hours' window, say) declares them as a pydantic ``Options`` model; the engine builds the
rule once per pack with ``RuleClass(options)``, so ``check`` itself stays pure and cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from policies.context import Context
from policies.decision import Action, Severity
from policies.message import Message


@dataclass(frozen=True, slots=True)
class Hit:
    """Where and why a rule matched. Offsets point into ``message.text``; none for whole-message rules."""

    reason: str
    severity: Severity = Severity.MEDIUM
    start: int | None = None
    end: int | None = None
    release_at: datetime | None = None  # quiet hours: when the message may go out
    evidence: str = ""  # for a hit without a span: what it rests on (the learned detector's words)
    at_most: Action | None = None  # a hit less sure than its rule's action: the engine caps it here


class Rule(Protocol):
    """Built as ``RuleClass(options)``; a rule without settings accepts and ignores ``None``."""

    id: str  # stable, used in packs and archived findings: "quiet_hours", "content.threat"
    category: str  # one of the corpus categories, e.g. "threat", "personal_channel"
    description: str

    def check(self, message: Message, context: Context) -> Iterable[Hit]: ...
