"""Worst-case cost of reading and deciding crafted hostile messages, per step and per rule.

    .venv/bin/python benchmarks/worst_case.py [--sizes 100000,1000000,25000000] [--rules-up-to BYTES]

Each shape is a message built to hit one known weak spot (folded header lines, repeated insults or phone
numbers without a sentence end, thousands of MIME boundaries, HTML comments, base64 attachments...). For
every size it prints the seconds spent splitting and checking the header, reading the MIME tree, and
deciding (the whole engine: every rule, the learned model, findings and actions), and the slowest rule.
Every step should grow linearly: 10x the bytes, about 10x the time. The engine runs on sizes up to
--rules-up-to only (the reader caps what it sees at TEXT_LIMIT characters anyway).
"""

from __future__ import annotations

import argparse
import base64
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from adapters.roster_import import import_roster
from gateway.headers import HeaderBlock, check_header_block
from gateway.reading import read_email
from policies.context import Context
from policies.engine import Engine
from policies.message import Party
from policies.pack import load_pack

SHARED = Path(__file__).resolve().parents[2] / "shared"
HEAD = b"From: dreyes@nusd.example.org\r\nTo: spatel@students.nusd.example.org\r\nSubject: x\r\n"


def _repeat(unit: bytes, size: int) -> bytes:
    return unit * max(1, size // len(unit))


def _text(unit: bytes) -> Callable[[int], bytes]:
    return lambda size: HEAD + b"\r\n" + _repeat(unit, size)


SHAPES: dict[str, Callable[[int], bytes]] = {
    "folded header": lambda size: (
        HEAD + b"X-Folded: a\r\n" + _repeat(b" folded line\r\n", size) + b"\r\nhi\r\n"
    ),
    "insults, no full stop": _text(b"you are such a stupid idiot loser and "),
    "phone numbers, no full stop": _text(b"call 202 555 0147 or 312-555-0199 and "),
    "phone number sentences": _text(b"Call 312-555-0199. "),
    "insults at named students": _text(b"Sam Patel is stupid. Mr. Wu is an idiot. "),
    "handles in sentences": _text(b"Add me @coach_o22 on it. "),
    "words, no spaces": _text(b"a" * 1000),
    "quoted history": _text(b"> On Tue Jordan wrote:\r\n>> keep this between us\r\n"),
    "html comments": lambda size: (
        HEAD + b"Content-Type: text/html\r\n\r\n" + _repeat(b"<!-- x -->", size) + b"<p>meet me alone</p>"
    ),
    "boundary lines": lambda size: (
        HEAD + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + _repeat(b"--b\r\n", size)
    ),
    "base64 attachment": lambda size: (
        HEAD
        + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        + b"--b\r\nContent-Type: text/plain\r\n\r\nphoto\r\n"
        + b"--b\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(b"\xff\xd8\xff" + b"x" * (size * 3 // 4))
        + b"--b--\r\n"
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,25000000")
    parser.add_argument("--rules-up-to", type=int, default=30_000_000)
    parser.add_argument("--district", type=Path, default=SHARED / "district-sample")
    args = parser.parse_args()
    directory = import_roster(args.district).directory
    context = Context(roster=directory, timezone=ZoneInfo("America/Chicago"))
    engine = Engine(load_pack("default"))
    sender = Party("dreyes@nusd.example.org", directory.by_email("dreyes@nusd.example.org"))
    student = Party(
        "spatel@students.nusd.example.org", directory.by_email("spatel@students.nusd.example.org")
    )
    print(f"{'shape':30} {'bytes':>10} {'header':>8} {'read':>8} {'decide':>8}  slowest rule")
    worst = 0.0
    for name, build in SHAPES.items():
        for size in (int(s) for s in args.sizes.split(",")):
            raw = build(size)
            started = time.perf_counter()
            check_header_block(HeaderBlock.of(raw).fields)
            header = time.perf_counter() - started
            started = time.perf_counter()
            message = read_email(
                raw, message_id="m", sender=sender, recipients=(student,), received_at=datetime.now(UTC)
            )
            reading = time.perf_counter() - started
            rules, slowest = 0.0, ("", 0.0)
            if size <= args.rules_up_to:
                started = time.perf_counter()
                engine.evaluate(message, context)  # the whole decision: every rule, findings, actions
                rules = time.perf_counter() - started
                for running in engine._running:
                    started = time.perf_counter()
                    list(running.rule.check(message, context))
                    spent = time.perf_counter() - started
                    slowest = max(slowest, (running.config.id, spent), key=lambda pair: pair[1])
            worst = max(worst, header + reading + rules)
            shown = f"{slowest[0]} {slowest[1]:.3f}s" if slowest[0] else "(not run)"
            print(f"{name:30} {len(raw):>10} {header:>8.3f} {reading:>8.3f} {rules:>8.3f}  {shown}")
    print(f"worst case: {worst:.2f} s for one message")


if __name__ == "__main__":
    main()
