"""The policy engine: run a pack's rules over a message and turn their hits into findings and a decision.

Pure and synchronous: the message and the context carry everything, so a decision can be replayed from
the archive and explained finding by finding. Rules run in id order and report hits; the pack gives each
hit its action, citation and escalation (Mailman's chain table, as data). A rule that raises is a bug and
the exception propagates: a silently skipped rule would deliver what policy says to hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from policies.context import Context
from policies.decision import Action, Decision, Finding, Severity
from policies.lexicon import wordlists_digest
from policies.message import Message
from policies.pack import DEFAULT, ConfiguredRule, Pack, load_pack
from policies.parties import Role
from policies.rules import Hit, Rule


@dataclass(frozen=True, slots=True)
class _Running:
    """A rule built once with its options, beside the pack's settings for it."""

    config: ConfiguredRule
    rule: Rule


class Engine:
    """Built once per pack (rules are instantiated here, not per message); ``evaluate`` is then cheap."""

    def __init__(self, pack: Pack) -> None:
        self.pack = pack
        self._running = tuple(
            _Running(config, config.type.build(config.options))
            for config in pack.rules
            if config.settings.enabled
        )
        self._made_by = {"pack": pack.digest, "wordlists": wordlists_digest()}
        self._detectors = {
            running.config.id: digest
            for running in self._running
            if (digest := getattr(running.rule, "digest", None))
        }

    @property
    def detectors(self) -> dict[str, str]:
        """What besides the rules' code decided, by digest (the learned model): so a decision can be
        replayed with the same model."""
        return self._detectors

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(running.config.id for running in self._running)

    def evaluate(self, message: Message, context: Context) -> Decision:
        fired = [
            (running.config, hits)
            for running in self._running
            if (hits := list(running.rule.check(message, context)))
        ]
        fired = _drop_unmet_requirements(fired)
        # Lenient only between adults the roster vouches for: an unknown address may be a student's own.
        adults_only = all(
            party.person is not None and party.role is not Role.STUDENT for party in message.recipients
        )
        # The action is the rule's, once per rule; a rule's findings are capped, since a crafted message
        # can match a pattern tens of thousands of times and the decision is archived whole.
        findings = [
            _finding(config, hit, message.text, action)
            for config, hits in fired
            for action in (_action(config, hits, adults_only),)
            for hit in hits[:FINDINGS_PER_RULE]
        ]
        return Decision.of(findings, detectors=self.detectors, made_by=self._made_by)


FINDINGS_PER_RULE = 20


def _drop_unmet_requirements(
    fired: list[tuple[ConfiguredRule, list[Hit]]],
) -> list[tuple[ConfiguredRule, list[Hit]]]:
    """Keep a rule with ``requires`` only while another kept rule has one of those categories.

    Repeated until nothing changes, so a rule that needed a rule that was itself dropped goes too.
    """
    kept = fired
    while True:
        still = [
            (config, hits)
            for config, hits in kept
            if not config.settings.requires
            or any(other.category in config.settings.requires for other, _ in kept if other is not config)
        ]
        if len(still) == len(kept):
            return kept
        kept = still


def _action(config: ConfiguredRule, hits: list[Hit], adults_only: bool) -> Action:
    action = config.settings.action
    lenient = config.settings.lenient_action
    if lenient is not None and adults_only and all(hit.severity is Severity.LOW for hit in hits):
        action = lenient
    caps = [hit.at_most for hit in hits if hit.at_most is not None]
    if len(caps) == len(hits):  # every hit is less sure than the rule: the surest decides
        action = min(action, max(caps, key=lambda a: a.rank), key=lambda a: a.rank)
    return action


def _finding(config: ConfiguredRule, hit: Hit, text: str, action: Action) -> Finding:
    located = hit.start is not None and hit.end is not None
    return Finding(
        rule=config.id,
        category=config.category,
        severity=hit.severity,
        action=action,
        reason=hit.reason,
        citation=config.settings.citation,
        start=hit.start if located else None,
        end=hit.end if located else None,
        evidence=text[hit.start : hit.end] if located else hit.evidence,
        release_at=hit.release_at,
        escalate=config.settings.escalate,
    )


_engines: dict[int, tuple[Pack, Engine]] = {}


def evaluate(message: Message, context: Context, pack: Pack | None = None) -> Decision:
    """One-off evaluation; the engine for a pack (the default one when ``pack`` is None) is built once."""
    pack = _default_pack() if pack is None else pack
    cached = _engines.get(id(pack))
    if cached is None or cached[0] is not pack:
        if len(_engines) > 8:  # packs come and go in tests; a relay uses one
            _engines.clear()
        cached = (pack, Engine(pack))
        _engines[id(pack)] = cached
    return cached[1].evaluate(message, context)


@cache
def _default_pack() -> Pack:
    return load_pack(DEFAULT)
