"""The policy engine alone, on one core: the dev corpus repeated to 100,000 messages, in messages/s.

    .venv/bin/python benchmarks/policy_engine.py [--pack default] [--messages 100000]

Reads the corpus and the sample district once, builds the engine once (as the relay does), warms up with
one pass, then times only ``Engine.evaluate``. The target is at least 5,000 messages/s.
"""

from __future__ import annotations

import argparse
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
    engine = Engine(load_pack(args.pack))
    messages = [case.message for case in cases]
    for message in messages:  # warm-up: regexes compiled, caches filled
        engine.evaluate(message, context)

    # Every message in the batch is distinct (a signature word of its own), so no per-text cache can
    # answer a repeat: each one is read and matched as the relay would a new message.
    batch = [
        replace(message, body=f"{message.body}\n\n{_signature(number)}")
        for number, message in enumerate(islice(cycle(messages), args.messages))
    ]
    actions: Counter[str] = Counter()
    started = time.perf_counter()
    for message in batch:
        actions[engine.evaluate(message, context).action] += 1
    elapsed = time.perf_counter() - started

    rate = len(batch) / elapsed
    print(f"rules:              {len(engine.rule_ids)} ({', '.join(engine.rule_ids)})")
    print(f"messages:           {len(batch):,} ({len(messages)} corpus lines, every copy distinct), 1 core")
    print(f"elapsed:            {elapsed:.2f} s")
    verdict = "ok" if rate >= TARGET else "below target"
    print(f"throughput:         {rate:,.0f} messages/s (target >= {TARGET:,}: {verdict})")
    print(f"per message:        {1e6 * elapsed / len(batch):.1f} µs")
    print(f"decisions:          {', '.join(f'{a} {n:,}' for a, n in sorted(actions.items()))}")


def _signature(number: int) -> str:
    letters = ""
    while True:
        number, digit = divmod(number, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[digit]
        if number == 0:
            return f"Sent from room {letters}"


if __name__ == "__main__":
    main()
