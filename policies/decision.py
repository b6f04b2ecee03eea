"""What the policy engine answers: findings (rule hits, as data) and the decision they add up to.

Learned from GNU Mailman's rule hits: every finding says which rule fired, on which words, and which
clause of district policy it enforces, so a decision can be printed, archived, tested and replayed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    """Least to most severe. A decision is the most severe action among its findings."""

    DELIVER = "deliver"
    FLAG = "flag"  # deliver, and list for supervisor review
    DEFER = "defer"  # deliver at a later time (quiet hours)
    HOLD = "hold"  # quarantine until a supervisor approves or rejects
    BLOCK = "block"  # refuse; the sender is told why

    @property
    def rank(self) -> int:
        return _ACTION_ORDER.index(self)


_ACTION_ORDER = list(Action)


class Severity(StrEnum):
    LOW = "low"  # mild: a "damn" between adults
    MEDIUM = "medium"
    HIGH = "high"  # threats, sexual content, grooming signals


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule hit. ``start``/``end`` are offsets into ``Message.text`` (what the sender wrote)."""

    rule: str
    category: str
    severity: Severity
    action: Action
    reason: str  # one sentence for the sender and the reviewer
    citation: str  # "<seed file>: <the sentence it enforces>"
    start: int | None = None
    end: int | None = None
    evidence: str = ""
    release_at: datetime | None = None  # defer: when the message may go out
    escalate: bool = False  # alert supervisors and the compliance contact at once

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "category": self.category,
            "severity": str(self.severity),
            "action": str(self.action),
            "reason": self.reason,
            "citation": self.citation,
            "start": self.start,
            "end": self.end,
            "evidence": self.evidence,
            "release_at": None if self.release_at is None else self.release_at.isoformat(),
            "escalate": self.escalate,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    findings: tuple[Finding, ...] = field(default=())
    detectors: dict[str, str] = field(default_factory=dict)  # rule id -> digest of the model it ran
    # What else made it, by digest: the policy pack and the word lists ({"pack": ..., "wordlists": ...}).
    made_by: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        findings: tuple[Finding, ...] | list[Finding],
        detectors: dict[str, str] | None = None,
        made_by: dict[str, str] | None = None,
    ) -> Decision:
        findings = tuple(findings)
        action = max((f.action for f in findings), key=lambda a: a.rank, default=Action.DELIVER)
        return cls(action, findings, dict(detectors or {}), dict(made_by or {}))

    @property
    def release_at(self) -> datetime | None:
        """For a deferred message: the latest release time any deferring finding asks for."""
        if self.action is not Action.DEFER:
            return None
        times = [f.release_at for f in self.findings if f.action is Action.DEFER and f.release_at]
        return max(times) if times else None

    @property
    def escalate(self) -> bool:
        return any(f.escalate for f in self.findings)

    @property
    def categories(self) -> set[str]:
        return {f.category for f in self.findings}

    def explain(self) -> str:
        """The reasons behind the action, for the reviewer and the archive: each deciding finding's reason
        (with the words that matched) and the clause it enforces."""
        return self._reasons(lambda finding: finding.reason)

    def explain_to_sender(self) -> str:
        """The reasons as the sender is told them (SMTP reply, notice): the category and the policy
        clause, never the words that matched, which would teach a sender how to write around the rules.
        The words stay in the archive and the review view (``explain``)."""
        return self._reasons(_said_to_sender)

    def _reasons(self, say: Callable[[Finding], str]) -> str:
        """The deciding findings (those with the decision's action), each said once, with its clause."""
        deciding = [f for f in self.findings if f.action is self.action] or list(self.findings)
        seen: list[str] = []
        for finding in deciding:
            text = f"{say(finding)} (policy: {finding.citation})"
            if text not in seen:
                seen.append(text)
        return "; ".join(seen)

    def to_json(self) -> dict[str, Any]:
        return {
            "action": str(self.action),
            "release_at": None if self.release_at is None else self.release_at.isoformat(),
            "findings": [f.to_json() for f in self.findings],
            "detectors": dict(self.detectors),
            "made_by": dict(self.made_by),
        }


def _said_to_sender(finding: Finding) -> str:
    """A finding's category in plain words; a whole-message finding's own reason (quiet hours, an
    unregistered sender), which quotes nothing the sender wrote."""
    if finding.start is not None or finding.evidence or finding.category in _CATEGORY_SAID:
        return _CATEGORY_SAID.get(finding.category, finding.category.replace("_", " "))
    return finding.reason


# How a content category is named to the sender of a held message.
_CATEGORY_SAID = {
    "profanity": "language that may be profane or vulgar",
    "harassment": "language that may demean or harass someone",
    "threat": "language that may be threatening or intimidating",
    "sexual": "content that may be sexual or about a student's appearance",
    "substances": "content that may encourage alcohol, drugs or illegal activity",
    "secrecy": "content that may ask for secrecy or a private relationship with a student",
    "confidential": "what may be confidential student information",
    "personal_channel": "what may move a student or family to a personal channel",
    "media_consent": "a picture or video of students without a consent record",
    "unread": "content the relay could not check whole",
}
