"""The policy engine alone, on one core: the dev corpus repeated to 100,000 messages, in messages/s,
with the rules alone and with the learned model beside them, in the same run.

    .venv/bin/python benchmarks/policy_engine.py [--pack default] [--messages 100000]

Reads the corpus and the sample district once, builds the engine once (as the relay does), warms up with
one pass, then times only ``Engine.evaluate``. The target is at least 5,000 messages/s.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from collections import Counter
from dataclasses import replace
from itertools import cycle, islice
from pathlib import Path
from zoneinfo import ZoneInfo

from adapters.roster_import import import_roster
from policies.context import Context
from policies.corpus import CorpusRoster, read_corpus
from policies.engine import Engine
from policies.pack import load_pack

SHARED = Path(__file__).resolve().parents[2] / "shared"
TARGET = 5_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", default="default")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus" / "messages-dev.jsonl")
    parser.add_argument("--district", type=Path, default=SHARED / "district-sample")
    args = parser.parse_args()

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, whatever the machine has

    roster = CorpusRoster(import_roster(args.district).directory)
    cases = read_corpus(args.corpus, roster)
    context = Context(roster=roster, timezone=ZoneInfo("America/Chicago"))
    full = load_pack(args.pack)
    rules_only = dataclasses.replace(
        full, rules=tuple(r for r in full.rules if not r.id.startswith("model."))
    )
    messages = [case.message for case in cases]
    # Every message in the batch is distinct (a signature word of its own), so no per-text cache can
    # answer a repeat: each one is read and matched as the relay would a new message.
    batch = [
        replace(message, body=f"{message.body}\n\n{_signature(number)}")
        for number, message in enumerate(islice(cycle(messages), args.messages))
    ]
    print(f"messages:           {len(batch):,} ({len(messages)} corpus lines, every copy distinct), 1 core")
    rates = {}
    for name, pack in (
        ("rules only", rules_only),
        ("rules + model", full),
        ("rules only (again)", rules_only),
    ):
        engine = Engine(pack)
        for message in messages:  # warm-up: regexes compiled, caches filled
            engine.evaluate(message, context)
        actions: Counter[str] = Counter()
        started = time.perf_counter()
        for message in batch:
            actions[engine.evaluate(message, context).action] += 1
        elapsed = time.perf_counter() - started
        rates[name] = len(batch) / elapsed
        print(
            f"{name + ':':<20}{rates[name]:>8,.0f} messages/s, {1e6 * elapsed / len(batch):6.1f} µs each;"
            f" {', '.join(f'{a} {n:,}' for a, n in sorted(actions.items()))}"
        )
    baseline = (rates["rules only"] + rates["rules only (again)"]) / 2
    kept = rates["rules + model"] / baseline
    verdict = "ok" if rates["rules + model"] >= TARGET and kept >= 2 / 3 else "below target"
    print(f"with the model:     {kept:.0%} of the rules-only rate (target: 67%, {TARGET:,}/s: {verdict})")


def _signature(number: int) -> str:
    letters = ""
    while True:
        number, digit = divmod(number, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[digit]
        if number == 0:
            return f"Sent from room {letters}"


if __name__ == "__main__":
    main()
