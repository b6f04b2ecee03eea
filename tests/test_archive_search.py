"""Search for supervisors and investigators, on both stores, over messages sent through the running relay:
words and filters find what they should, newest first; each person's window holds what it should and
nothing else (compliance all, a principal their schools, staff their own conversations, a guardian their
own children's); a thread opens whole, with copies and their status; and every search, view and refused
view is itself archived."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from archive.models import SearchQuery
from archive.store import Store
from gateway.archive_access import NoWindow, Viewer, viewer
from gateway.archive_reader import AUDIT_KINDS, ArchiveReader
from gateway.cli import main
from gateway.config import Settings
from gateway.directory import Directory
from tests.conftest import SAMPLE_DISTRICT, Downstream
from tests.mail import in_store
from tests.portal import FIELD, PATEL, REYES, started

T = TypeVar("T")


@pytest.fixture
async def archive(tmp_path: Path, downstream: Downstream, directory: Directory) -> AsyncIterator[Settings]:
    """Three conversations (tests.portal): Reyes (Northfield High) to Patel, and to Kim (held), Lindqvist
    (Lakeview) to Garcia, in that order."""
    async for running in started(tmp_path, downstream, directory):
        yield running.relay.settings


def look(settings: Settings, work: Callable[[ArchiveReader, Store], Awaitable[T]]) -> T:
    return in_store(settings.archive.url, lambda store: work(ArchiveReader(store), store))


def as_viewer(settings: Settings, directory: Directory, email: str) -> Viewer:
    person = directory.by_email(email) or directory.person(email)
    assert person is not None
    return viewer(person, settings, directory)


def subjects(settings: Settings, who: Viewer, query: SearchQuery) -> list[str]:
    hits = look(settings, lambda reader, _: reader.search(who, query, via="test"))
    return [hit.subject for hit in hits]


async def test_words_and_filters_find_newest_first(archive: Settings, directory: Directory) -> None:
    field = as_viewer(archive, directory, FIELD)
    assert subjects(archive, field, SearchQuery()) == ["Science fair", "Your essay", "Field trip"]
    assert subjects(archive, field, SearchQuery(words=("bus",))) == ["Science fair", "Field trip"]
    assert subjects(archive, field, SearchQuery(words=("BUS", "seven"))) == ["Field trip"]
    assert subjects(archive, field, SearchQuery(words=("leaves at seven",))) == ["Field trip"]
    assert subjects(archive, field, SearchQuery(words=("seven at leaves",))) == []
    assert subjects(archive, field, SearchQuery(actions=("hold",))) == ["Your essay"]
    assert subjects(archive, field, SearchQuery(category="secrecy")) == ["Your essay"]
    assert subjects(archive, field, SearchQuery(keys=("person:s-patel",))) == ["Field trip"]
    assert subjects(archive, field, SearchQuery(keys=("person:g-garcia",))) == ["Science fair"]
    assert subjects(archive, field, SearchQuery(keys=("school:org-lms",), words=("bus",))) == ["Science fair"]
    assert subjects(archive, field, SearchQuery(direction="to_staff")) == []
    assert subjects(archive, field, SearchQuery(until="2000-01-01")) == []
    first = look(archive, lambda reader, _: reader.search(field, SearchQuery(limit=1), via="test"))
    page = SearchQuery(older_than=first[0].entry, limit=5)
    assert subjects(archive, field, page) == ["Your essay", "Field trip"]


@pytest.mark.parametrize(
    ("who", "seen"),
    [
        (FIELD, ["Science fair", "Your essay", "Field trip"]),  # compliance: all
        ("abrooks@nusd.example.org", ["Your essay", "Field trip"]),  # Northfield High's principal
        ("tnguyen@nusd.example.org", ["Science fair"]),  # Lakeview's principal
        (REYES, ["Your essay", "Field trip"]),  # their own conversations
        ("cokafor@nusd.example.org", []),  # a colleague: none of theirs
        ("priya.patel@example.net", ["Field trip"]),  # a guardian: their own child's
        ("g-garcia", ["Science fair"]),
    ],
)
async def test_each_window_holds_what_it_should(
    archive: Settings, directory: Directory, who: str, seen: list[str]
) -> None:
    assert subjects(archive, as_viewer(archive, directory, who), SearchQuery()) == seen
    # Asking for someone outside the window by name finds nothing either.
    outside = SearchQuery(keys=("person:s-garcia",)) if "Science fair" not in seen else None
    if outside is not None:
        assert subjects(archive, as_viewer(archive, directory, who), outside) == []


async def test_students_have_no_window(archive: Settings, directory: Directory) -> None:
    with pytest.raises(NoWindow):
        as_viewer(archive, directory, PATEL)


async def test_a_thread_opens_whole_for_its_family_only_and_every_look_is_archived(
    archive: Settings, directory: Directory
) -> None:
    field = as_viewer(archive, directory, FIELD)
    [hit] = look(archive, lambda reader, _: reader.search(field, SearchQuery(words=("seven",)), via="test"))
    [whole] = look(archive, lambda reader, _: reader.thread(field, hit.thread, via="test"))
    assert whole.subject == "Field trip" and "The bus leaves at seven." in whole.text
    assert whole.decision["action"] == "deliver"
    assert {c.purpose for c in whole.copies} >= {"family", "supervisors"}

    mother = as_viewer(archive, directory, "priya.patel@example.net")
    [hers] = look(archive, lambda reader, _: reader.thread(mother, hit.thread, via="portal"))
    assert [c.purpose for c in hers.copies] == ["family"]
    assert hers.decision == {"action": "deliver"}
    assert {r["person_id"] for r in hers.recipients} == {"s-patel"}

    other = as_viewer(archive, directory, "g-garcia")
    assert look(archive, lambda reader, _: reader.thread(other, hit.thread, via="portal")) is None

    async def audit(_: ArchiveReader, store: Store) -> list[tuple[str, str, str | None]]:
        found = await store.records(kinds=AUDIT_KINDS)
        return [(r.kind, r.payload["viewer"], r.payload.get("asked")) for r in found]

    assert look(archive, audit) == [
        ("archive.searched", "a-field", None),
        ("archive.viewed", "a-field", hit.thread),
        ("archive.viewed", "g-patel-1", hit.thread),
        ("archive.view_refused", "g-garcia", hit.thread),
    ]


async def test_the_command_line_searches_within_the_named_window_and_is_archived(
    archive: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "chaperone.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\n[district]\ncompliance_contact = "{FIELD}"\n'
        f'[archive]\nurl = "{archive.archive.url}"\n',
        encoding="utf-8",
    )

    def chaperone(*args: str) -> int:
        return main(["--config", str(config), *args])

    assert await asyncio.to_thread(chaperone, "roster", "import", str(SAMPLE_DISTRICT)) == 0
    capsys.readouterr()
    assert await asyncio.to_thread(chaperone, "archive", "search", "bus") == 0
    found = [json.loads(line)["subject"] for line in capsys.readouterr().out.splitlines()]
    assert found == ["Science fair", "Field trip"]
    assert await asyncio.to_thread(chaperone, "archive", "search", "--as", "tnguyen@nusd.example.org") == 0
    assert [json.loads(line)["subject"] for line in capsys.readouterr().out.splitlines()] == ["Science fair"]
    assert await asyncio.to_thread(chaperone, "archive", "search", "--since", "yesterday") == 2
    assert "since: 'yesterday' is not a date" in capsys.readouterr().err
    searched = in_store(archive.archive.url, lambda store: store.records(kinds=["archive.searched"]))
    assert [(r.payload["viewer"], r.payload["via"]) for r in searched] == [
        ("a-field", "cli"),
        ("a-nguyen", "cli"),
    ]
