"""Scoring the rules against a labelled corpus, exactly as shared/corpus/README.md defines it.

Per category: precision, recall, F1 and support, with the message ids behind every false positive and
false negative so a person can read them. Overall: micro figures, macro F1, the false-positive rate on
clean messages and on hard negatives, action accuracy with the 5×5 confusion matrix, and the messages
whose enforcement was missed. ``outcomes_of`` runs an engine over the cases; ``evaluate_outcomes`` scores
any outcomes, pure, so a CLI, a test or a notebook can compare systems on the same footing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from policies.context import Context
from policies.corpus import CorpusCase
from policies.decision import Action, Decision
from policies.engine import Engine

CATEGORIES: tuple[str, ...] = (
    "profanity", "harassment", "threat", "sexual", "substances", "personal_channel", "secrecy",
    "confidential", "quiet_hours", "unregistered_sender", "unknown_recipient", "media_consent",
)  # fmt: skip
ENFORCING = frozenset({Action.HOLD, Action.BLOCK, Action.DEFER})
NOT_ENFORCED = frozenset({Action.DELIVER, Action.FLAG})


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Outcome(_Model):
    """What the system said about one message: the categories of its findings and its action."""

    categories: frozenset[str]
    action: Action

    @classmethod
    def of(cls, decision: Decision) -> Outcome:
        return cls(categories=frozenset(decision.categories), action=decision.action)


class CategoryScore(_Model):
    category: str
    support: int  # TP + FN
    tp: int
    fp: int
    fn: int
    precision: float | None  # None (n/a) when the system never reported the category
    recall: float | None  # None when no message has the category
    f1: float
    false_positives: tuple[str, ...]
    false_negatives: tuple[str, ...]


class Mismatch(_Model):
    id: str
    expected: Action
    got: Action


class Evaluation(_Model):
    messages: int
    categories: tuple[CategoryScore, ...]
    micro_precision: float | None
    micro_recall: float | None
    micro_f1: float
    macro_f1: float
    clean: int
    clean_with_findings: tuple[str, ...]
    false_positive_rate: float | None
    hard_negatives: int
    hard_negatives_with_findings: tuple[str, ...]
    hard_negative_false_positive_rate: float | None
    action_accuracy: float | None
    confusion: dict[str, dict[str, int]]  # expected action -> system action -> messages
    action_mismatches: tuple[Mismatch, ...]
    missed_enforcement: tuple[str, ...]  # expected hold/block/defer, delivered or only flagged

    def render_table(self) -> str:
        return _render(self)


def outcomes_of(engine: Engine, cases: Sequence[CorpusCase], context: Context) -> dict[str, Outcome]:
    """Run the engine over every case: what ``evaluate_outcomes`` scores."""
    return {case.id: Outcome.of(engine.evaluate(case.message, context)) for case in cases}


LEARNED = "model."  # the learned detector's rule ids start so (policies/rules/learned.py)


def outcomes_by_detector(
    engine: Engine, cases: Sequence[CorpusCase], context: Context
) -> dict[str, dict[str, Outcome]]:
    """The engine once over every case, its findings seen three ways: the rules alone, the learned
    detector alone, and both together (what the relay does)."""
    seen: dict[str, dict[str, Outcome]] = {"rules": {}, "model": {}, "combined": {}}
    for case in cases:
        decision = engine.evaluate(case.message, context)
        rules = [f for f in decision.findings if not f.rule.startswith(LEARNED)]
        learned = [f for f in decision.findings if f.rule.startswith(LEARNED)]
        seen["rules"][case.id] = Outcome.of(Decision.of(rules))
        seen["model"][case.id] = Outcome.of(Decision.of(learned))
        seen["combined"][case.id] = Outcome.of(decision)
    return seen


def render_comparison(evaluations: Mapping[str, Evaluation]) -> str:
    """Recall per category and the false-positive rate, side by side for each detector."""
    names = list(evaluations)
    lines = [f"{'recall':<20}{'support':>8}" + "".join(f"{name:>10}" for name in names)]
    first = next(iter(evaluations.values()))
    for index, score in enumerate(first.categories):
        if not score.support:
            continue
        row = "".join(f"{_num(ev.categories[index].recall):>10}" for ev in evaluations.values())
        lines.append(f"{score.category:<20}{score.support:>8}{row}")
    lines.append(
        f"{'false positives':<28}"
        + "".join(f"{_num(ev.false_positive_rate):>10}" for ev in evaluations.values())
        + f"   (of {first.clean} clean messages)"
    )
    lines.append(
        f"{'hard negatives':<28}"
        + "".join(f"{_num(ev.hard_negative_false_positive_rate):>10}" for ev in evaluations.values())
        + f"   (of {first.hard_negatives})"
    )
    return "\n".join(lines)


def evaluate_outcomes(cases: Sequence[CorpusCase], outcomes: Mapping[str, Outcome]) -> Evaluation:
    missing = [case.id for case in cases if case.id not in outcomes]
    if missing:
        raise ValueError(f"no outcome for {len(missing)} message(s): {', '.join(missing[:10])}")
    scores = tuple(_score(category, cases, outcomes) for category in CATEGORIES)
    tp, fp, fn = (sum(getattr(s, name) for s in scores) for name in ("tp", "fp", "fn"))
    micro_p, micro_r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)

    clean = [case for case in cases if not case.categories]
    hard = [case for case in clean if case.hard_negative]
    # "Any finding at all": every category the system reported counts here, not only the twelve.
    clean_hits = tuple(case.id for case in clean if outcomes[case.id].categories)
    hard_hits = tuple(case.id for case in hard if outcomes[case.id].categories)

    confusion = {str(e): {str(g): 0 for g in Action} for e in Action}
    mismatches = []
    for case in cases:
        got = outcomes[case.id].action
        confusion[str(case.action)][str(got)] += 1
        if got is not case.action:
            mismatches.append(Mismatch(id=case.id, expected=case.action, got=got))
    missed = tuple(
        case.id for case in cases if case.action in ENFORCING and outcomes[case.id].action in NOT_ENFORCED
    )
    return Evaluation(
        messages=len(cases),
        categories=scores,
        micro_precision=micro_p,
        micro_recall=micro_r,
        micro_f1=_f1(micro_p, micro_r),
        macro_f1=sum(s.f1 for s in scores) / len(scores),
        clean=len(clean),
        clean_with_findings=clean_hits,
        false_positive_rate=_ratio(len(clean_hits), len(clean)),
        hard_negatives=len(hard),
        hard_negatives_with_findings=hard_hits,
        hard_negative_false_positive_rate=_ratio(len(hard_hits), len(hard)),
        action_accuracy=_ratio(len(cases) - len(mismatches), len(cases)),
        confusion=confusion,
        action_mismatches=tuple(mismatches),
        missed_enforcement=missed,
    )


def _score(category: str, cases: Sequence[CorpusCase], outcomes: Mapping[str, Outcome]) -> CategoryScore:
    fp_ids, fn_ids, tp = [], [], 0
    for case in cases:
        expected, got = category in case.categories, category in outcomes[case.id].categories
        if expected and got:
            tp += 1
        elif got:
            fp_ids.append(case.id)
        elif expected:
            fn_ids.append(case.id)
    precision, recall = _ratio(tp, tp + len(fp_ids)), _ratio(tp, tp + len(fn_ids))
    return CategoryScore(
        category=category,
        support=tp + len(fn_ids),
        tp=tp,
        fp=len(fp_ids),
        fn=len(fn_ids),
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        false_positives=tuple(fp_ids),
        false_negatives=tuple(fn_ids),
    )


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _f1(precision: float | None, recall: float | None) -> float:
    # n/a counts as 0 (the README's macro rule), and F1 is 0 when P + R = 0.
    p, r = precision or 0.0, recall or 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


# --- for people ---------------------------------------------------------------------------------------


def _render(ev: Evaluation) -> str:
    lines = [
        f"{'category':<20}{'support':>8}{'TP':>7}{'FP':>7}{'FN':>7}{'precision':>11}{'recall':>8}{'F1':>7}",
    ]
    for s in ev.categories:
        lines.append(
            f"{s.category:<20}{s.support:>8}{s.tp:>7}{s.fp:>7}{s.fn:>7}"
            f"{_num(s.precision):>11}{_num(s.recall):>8}{_num(s.f1):>7}"
        )
    tp, fp, fn = (sum(getattr(s, n) for s in ev.categories) for n in ("tp", "fp", "fn"))
    lines.append(
        f"{'micro':<20}{tp + fn:>8}{tp:>7}{fp:>7}{fn:>7}"
        f"{_num(ev.micro_precision):>11}{_num(ev.micro_recall):>8}{_num(ev.micro_f1):>7}"
    )
    lines += [
        f"macro F1: {_num(ev.macro_f1)}",
        "",
        f"false-positive rate: {_share(len(ev.clean_with_findings), ev.clean)} of clean messages, "
        f"{_share(len(ev.hard_negatives_with_findings), ev.hard_negatives)} of hard negatives got a finding",
        f"action accuracy: {_share(ev.messages - len(ev.action_mismatches), ev.messages)}",
        "",
        "confusion (rows: expected action, columns: system action)",
        f"{'':<10}" + "".join(f"{a!s:>9}" for a in Action),
    ]
    for expected, row in ev.confusion.items():
        lines.append(f"{expected:<10}" + "".join(f"{row[str(a)]:>9}" for a in Action))
    lines += ["", f"missed enforcement: {len(ev.missed_enforcement)} {_ids(ev.missed_enforcement)}".rstrip()]
    for s in ev.categories:
        if s.false_positives:
            lines.append(f"FP {s.category}: {_ids(s.false_positives)}")
        if s.false_negatives:
            lines.append(f"FN {s.category}: {_ids(s.false_negatives)}")
    if ev.clean_with_findings:
        lines.append(f"clean with findings: {_ids(ev.clean_with_findings)}")
    for m in ev.action_mismatches:
        lines.append(f"action {m.id}: expected {m.expected}, got {m.got}")
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole}" + (f" ({100 * part / whole:.1f}%)" if whole else "")


def _ids(ids: Sequence[str]) -> str:
    return ", ".join(ids)
