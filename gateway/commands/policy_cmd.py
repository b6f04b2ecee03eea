"""`chaperone policy check FILE` and `chaperone policy eval CORPUS`: the engine on messages, offline.

`check` prints each message's decision and findings (a table, or one JSON object per line with --json);
`eval` scores the engine on a labelled corpus (shared/corpus/README.md) and can fail a build below a bar.
Both use the configured roster and policy pack, as the relay would.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any

from adapters.roster_import import import_roster
from gateway.commands import model_cmd
from gateway.config import ConfigError, Settings, load_settings
from gateway.directory import Directory
from gateway.district_calendar import policy_context
from gateway.reading import read_email
from gateway.roster_snapshot import load_directory, roster_snapshot_path
from policies.context import Context
from policies.corpus import CorpusError, CorpusRoster, case_from_record, party, read_corpus
from policies.decision import Decision
from policies.engine import Engine
from policies.evaluation import LEARNED, evaluate_outcomes, outcomes_by_detector, render_comparison
from policies.message import Message
from policies.pack import PackError, load_pack, with_rule_options
from policies.parties import Roster


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    policy = groups.add_parser("policy", help="run the policy engine offline")
    actions = policy.add_subparsers(dest="action", required=True)
    check = actions.add_parser("check", help="decide an .eml file or a JSONL file of messages")
    check.add_argument("file", type=Path)
    check.add_argument("--json", action="store_true", help="one JSON object per line")
    check.add_argument("--at", help="send time for an .eml (ISO 8601; default: its Date header)")
    _common(check, corpus_roster=False)
    check.set_defaults(run=_check)
    evaluate = actions.add_parser("eval", help="precision and recall on a labelled corpus")
    evaluate.add_argument("corpus", type=Path)
    evaluate.add_argument("--min-recall", type=float, default=None, help="fail if any category is below")
    evaluate.add_argument("--max-fp", type=float, default=None, help="fail above this false-positive rate")
    evaluate.add_argument("--json", action="store_true", help="print the evaluation as JSON")
    evaluate.add_argument(
        "--held-out",
        action="store_true",
        help="CORPUS is a folder of batches: decide each writer's with a model trained without them",
    )
    _common(evaluate, corpus_roster=True)
    evaluate.set_defaults(run=_eval)
    model_cmd.add_actions(actions)


def _common(parser: argparse.ArgumentParser, *, corpus_roster: bool) -> None:
    parser.add_argument("--pack", help="policy pack (default: the configured one)")
    parser.add_argument("--model", type=Path, help="learned model file (default: the one the pack names)")
    parser.add_argument(
        "--roster-scope",
        choices=("district", "corpus"),
        default="corpus" if corpus_roster else "district",
        help="'corpus': only the people the corpus README registers (its labels assume that roster)",
    )


def _setup(args: argparse.Namespace) -> tuple[Settings, Engine, Context]:
    settings = load_settings(args.config)
    try:
        pack = load_pack(args.pack or settings.policy.pack)
    except PackError as exc:
        raise ConfigError(str(exc)) from None
    if args.model is not None:
        pack = with_rule_options(pack, LEARNED, model_file=args.model)
    engine = Engine(pack)
    directory = _directory(settings)
    context = policy_context(settings, directory, datetime.now(UTC).date())
    if args.roster_scope == "corpus":
        context = dataclasses.replace(context, roster=CorpusRoster(directory))
    return settings, engine, context


def _directory(settings: Settings) -> Directory:
    """The imported roster; before the first import, the configured OneRoster folder read directly."""
    snapshot = roster_snapshot_path(settings)
    if snapshot.exists():
        return load_directory(snapshot)
    return import_roster(settings.roster.path).directory


def _check(args: argparse.Namespace) -> int:
    _, engine, context = _setup(args)
    try:
        messages = _read_messages(args.file, context.roster, args.at)
    except (CorpusError, OSError, ValueError) as exc:
        print(f"chaperone: {exc}", file=sys.stderr)
        return 1
    for message in messages:
        decision = engine.evaluate(message, context)
        if args.json:
            print(json.dumps(_as_json(message, decision), ensure_ascii=False))
        else:
            print(_as_table(message, decision))
    return 0


def _eval(args: argparse.Namespace) -> int:
    _, engine, context = _setup(args)
    try:
        if args.held_out:
            from policies.learned.held_out import held_out_outcomes  # scikit-learn: trains per writer

            cases, seen = held_out_outcomes(args.corpus, engine.pack, context)
        else:
            cases = [c for path in _corpus_files(args.corpus) for c in read_corpus(path, context.roster)]
            seen = outcomes_by_detector(engine, cases, context)
    except (CorpusError, OSError) as exc:
        print(f"chaperone: {exc}", file=sys.stderr)
        return 1
    by_detector = {name: evaluate_outcomes(cases, outcomes) for name, outcomes in seen.items()}
    evaluation = by_detector["combined"]
    if args.json:
        print(json.dumps({name: ev.model_dump(mode="json") for name, ev in by_detector.items()}, indent=2))
    else:
        print(render_comparison(by_detector))
        print()
        print("rules and model together (what the relay decides):")
        print(evaluation.render_table())
    failures = []
    if args.min_recall is not None:
        failures += [
            f"{score.category} recall {score.recall:.3f} < {args.min_recall}"
            for score in evaluation.categories
            if score.recall is not None and score.recall < args.min_recall
        ]
    fp_rate = evaluation.false_positive_rate
    if args.max_fp is not None and fp_rate is not None and fp_rate > args.max_fp:
        failures.append(f"false-positive rate {fp_rate:.3f} > {args.max_fp}")
    for failure in failures:
        print(f"chaperone: below the bar: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _corpus_files(path: Path) -> list[Path]:
    """A corpus file, or every batch in a folder of them."""
    return sorted(path.glob("*.jsonl")) if path.is_dir() else [path]


def _read_messages(path: Path, roster: Roster, at: str | None) -> list[Message]:
    if path.suffix.lower() == ".jsonl":
        return _jsonl_messages(path, roster)
    return [_eml_message(path, roster, at)]


def _jsonl_messages(path: Path, roster: Roster) -> list[Message]:
    messages = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            record.setdefault("expect", {"categories": [], "action": "deliver"})  # check needs no labels
            messages.append(case_from_record(record, roster).message)
        except (ValueError, TypeError) as exc:
            raise CorpusError(f"{path}:{number}: {exc}") from None
    return messages


def _eml_message(path: Path, roster: Roster, at: str | None) -> Message:
    raw = path.read_bytes()
    headers = BytesHeaderParser(policy=default_policy).parsebytes(raw, headersonly=True)
    authors = getaddresses([str(v) for v in headers.get_all("From", [])])
    recipients = getaddresses([str(v) for name in ("To", "Cc", "Bcc") for v in headers.get_all(name, [])])
    sent_at = datetime.fromisoformat(at) if at else _date_of(headers.get("Date"))
    return read_email(
        raw,
        message_id=path.stem,
        sender=party(authors[0][1] if authors else "", roster),
        recipients=tuple(party(address, roster) for _, address in recipients if address),
        received_at=sent_at,
    )


def _date_of(value: Any) -> datetime:
    try:
        moment = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return datetime.now(UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _as_json(message: Message, decision: Decision) -> dict[str, Any]:
    return {
        "id": message.message_id,
        "action": str(decision.action),
        "findings": [
            {
                "rule": f.rule,
                "category": f.category,
                "severity": str(f.severity),
                "action": str(f.action),
                "start": f.start,
                "end": f.end,
                "evidence": f.evidence,
                "citation": f.citation,
                "reason": f.reason,
            }
            for f in decision.findings
        ],
    }


def _as_table(message: Message, decision: Decision) -> str:
    lines = [f"{message.message_id}: {decision.action}"]
    for f in decision.findings:
        where = f"[{f.start}:{f.end}] {f.evidence!r}" if f.start is not None else ""
        lines.append(f"  {f.action:<7} {f.rule:<28} {f.category:<18} {f.severity:<6} {where}")
        lines.append(f"          {f.reason}")
        lines.append(f"          policy: {f.citation}")
    return "\n".join(lines)
