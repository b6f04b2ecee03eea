"""The evidence archive at district scale, on either store: fill it with messages shaped like a district's
(a roster from ../shared/tools/make_district.py), then print the append rate with durable commits, search
latency (a name and a word within a month; a common word, newest first), the time to verify everything,
and the bytes on disk per message.

    .venv/bin/python benchmarks/archive_scale.py ARCHIVE_URL [--messages 1000000] [--students 50000]

Each message writes what the relay writes for a delivered message (gateway.pipeline, gateway.delivery):
its body, the message and decision records, a family copy and a supervisors' copy planned and then
done, and its search-index entry: six records. Messages are committed 100 to a unit, as the relay's group
commit does under load; the rate of one-message units is printed too, from the first 2,000.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from adapters.roster_import import import_roster
from archive.backends import open_store
from archive.changes import Changes
from archive.checkpoints import new_key_text, private_key
from archive.models import QueuedDelivery, SearchQuery
from archive.records import Record, RecordKind
from archive.store import Store
from gateway.directory import Directory
from gateway.evidence import Notary
from gateway.search_index import concerned, search_entry
from gateway.verification import verify
from policies.parties import Person

SHARED = Path(__file__).resolve().parents[2] / "shared"
SUBJECTS = [
    "Field trip permission", "Lab report", "Missing homework", "Science fair", "Practice schedule",
    "Reading log", "Makeup test", "Band rehearsal", "Essay feedback", "Project groups", "Library books",
    "Parent conference", "Math quiz", "Soccer tryouts", "Volunteer hours", "Art supplies",
]  # fmt: skip
COMMON = (
    "the a to and of you your for is in on please we will be this that with by at it class today tomorrow "
    "week homework assignment due bring remember thanks reminder question answer chapter page team "
    "practice game bus trip form signed parent guardian grade quiz test project group lab notes"
).split()
RARE = [f"{a}{b}" for a in ("photo", "chem", "geo", "bio", "alge", "hist", "lit", "mus") for b in
        ("synthesis", "metry", "logy", "bra", "ory", "erature", "ical", "graph")]  # fmt: skip


def district(students: int) -> Directory:
    folder = Path(tempfile.mkdtemp(prefix="district-"))
    make = SHARED / "tools" / "make_district.py"
    subprocess.run([sys.executable, str(make), str(folder), "--students", str(students)], check=True)
    return import_roster(folder).directory


def message(n: int, at: datetime, rng: random.Random, staff: dict[str, list[Person]], students: list[Person],
            directory: Directory) -> Changes:  # fmt: skip
    student = rng.choice(students)
    teacher = rng.choice(staff.get(student.schools[0] if student.schools else "", staff[""]))
    words = [rng.choice(COMMON) for _ in range(rng.randint(30, 120))]
    words.insert(rng.randrange(len(words)), student.given_name)
    if rng.random() < 0.2:
        words.insert(rng.randrange(len(words)), rng.choice(RARE))
    subject = rng.choice(SUBJECTS)
    body = " ".join(words)
    raw = (f"From: {teacher.email}\r\nTo: {student.email}\r\nSubject: {subject}\r\nMessage-ID: <{n}@bench>"
           f"\r\n\r\n{body}\r\n").encode()  # fmt: skip
    message_id = f"m-{n:08d}"
    changes = Changes()
    digest = changes.put_body(raw)
    parties = {
        "sender": {"address": teacher.email, "person_id": teacher.person_id, "role": "staff"},
        "recipients": [{"address": student.email, "person_id": student.person_id, "role": "student"}],
    }
    payload = {
        "channel": "email",
        "body_digest": digest,
        "size": len(raw),
        "received_at": at.isoformat(),
        "peer": "10.0.0.1",
        "envelope_from": teacher.email,
        **parties,
        "subject": subject,
        "header_message_id": f"<{n}@bench>",
        "date": None,
        "attachments": [],
        "conversation": None,
        "thread": message_id,
        **concerned(teacher, [student], directory),
        "sender_auth": None,
    }
    decision = {"action": "deliver", "release_at": None, "findings": [], "detectors": {}, "made_by": {}}
    record = Record(RecordKind.MESSAGE, message_id, payload, at)
    changes.append(record)
    changes.append(Record(RecordKind.DECISION, message_id, decision, at))
    changes.index_message(search_entry(message_id, record.recorded_at_text, payload, decision, body))
    guardians = [g.email for g in directory.guardians_of(student) if g.email]
    supervisors = [s.email for s in directory.supervisors_of(teacher) if s.email]
    for purpose, to in (("family", [student.email, *guardians]), ("supervisors", supervisors)):
        copy = f"{message_id}-{purpose}"
        changes.enqueue(QueuedDelivery(copy, message_id, str(teacher.email), tuple(t for t in to if t),
                                       b"", digest, 0.0, 0.0, 1, purpose, state="sent"))  # fmt: skip
        changes.append(Record(RecordKind.DELIVERY_PLANNED, message_id,
                              {"delivery_id": copy, "purpose": purpose, "recipients": to}, at))  # fmt: skip
        changes.append(Record(RecordKind.DELIVERY_DONE, message_id, {"delivery_id": copy}, at))
    return changes


def merged(units: list[Changes]) -> Changes:
    whole = Changes()
    for unit in units:
        whole.records += unit.records
        whole.bodies += unit.bodies
        whole.enqueued += unit.enqueued
        whole.indexed += unit.indexed
    return whole


async def fill(store: Store, count: int, directory: Directory) -> tuple[float, float]:
    rng = random.Random(7)
    teachers = [p for p in directory.staff() if p.email and p.roster_role == "teacher"]
    staff: dict[str, list[Person]] = {"": teachers}  # each school's teachers, and everyone's
    for teacher in teachers:
        for school in teacher.schools:
            staff.setdefault(school, []).append(teacher)
    students = [p for p in directory.students() if p.email]
    start = datetime(2026, 8, 20, 7, tzinfo=UTC)
    step = timedelta(days=300) / max(count, 1)
    single = 2000 if count > 4000 else 0
    began = time.perf_counter()
    for n in range(single):
        await store.commit(message(n, start + step * n, rng, staff, students, directory))
    single_rate = single / (time.perf_counter() - began) if single else 0.0
    began = time.perf_counter()
    for first in range(single, count, 100):
        units = [message(n, start + step * n, rng, staff, students, directory)
                 for n in range(first, min(first + 100, count))]  # fmt: skip
        await store.commit(merged(units))
        if first % 100_000 < 100:
            print(f"  {first:,} messages", file=sys.stderr, flush=True)
    return single_rate, (count - single) / (time.perf_counter() - began)


async def latencies(store: Store, queries: list[SearchQuery]) -> tuple[float, float]:
    took = []
    for query in queries:
        began = time.perf_counter()
        await store.search(query)
        took.append((time.perf_counter() - began) * 1000)
    took.sort()
    return statistics.median(took), took[int(len(took) * 0.95) - 1]


async def on_disk(url: str) -> int:
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite://"))
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    connection = await asyncpg.connect(url)
    try:
        return int(await connection.fetchval("SELECT pg_database_size(current_database())"))
    finally:
        await connection.close()


async def main(url: str, count: int, students: int, searched_only: bool) -> None:
    directory = await asyncio.to_thread(district, students)
    store = open_store(url)
    await store.start()
    try:
        if searched_only:  # an archive filled before: search and verify it again
            count = await store.count_records("message")
        print(f"{url.split(':')[0]}: {count:,} messages, {students:,} students", flush=True)
        if not searched_only:
            single, batched = await fill(store, count, directory)
            print(f"append, durable commits: {batched:,.0f} messages/s in units of 100 "
                  f"({batched * 6:,.0f} records/s); {single:,.0f} messages/s one per unit")  # fmt: skip
        rng = random.Random(11)
        people = [p for p in directory.students() if p.email]
        named = []
        for _ in range(60):
            month = datetime(2026, 9, 1, tzinfo=UTC) + timedelta(days=30 * rng.randrange(9))
            named.append(
                SearchQuery(
                    words=(rng.choice(people).family_name, rng.choice(COMMON[20:])),
                    since=month.isoformat(),
                    until=(month + timedelta(days=30)).isoformat(),
                )
            )
        p50, p95 = await latencies(store, named)
        print(f"search, a name and a word within a month: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
        common = [SearchQuery(words=(word,)) for word in COMMON[:40]] + [
            SearchQuery(words=("the", "bus"))
        ] * 20
        p50, p95 = await latencies(store, common)
        print(f"search, a common word, newest first: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
        key = private_key(new_key_text())
        signed = await Notary(store, key).checkpoint()
        began = time.perf_counter()
        # An archive filled before was signed with that run's key: its signatures are not checked again.
        verdict = await verify(store, key.public_key() if signed is not None else None, url=url)
        took = time.perf_counter() - began
        print(f"verify, every record: {took:.1f} s for {verdict.records:,} records "
              f"({'ok' if verdict.ok else verdict.problems[:3]})")  # fmt: skip
        print(f"on disk: {await on_disk(url) / count:,.0f} bytes per message")
    finally:
        await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="sqlite:////path/archive.db or postgresql://user@host/db (empty)")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--searched-only", action="store_true", help="an archive filled before: no filling")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.url, arguments.messages, arguments.students, arguments.searched_only))
