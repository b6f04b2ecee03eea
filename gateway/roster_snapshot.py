"""The roster snapshot the relay loads at start, written atomically so that a failed import leaves the
previous directory in force, and followed while the relay runs: a new import takes effect without a
restart."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from contextlib import suppress
from datetime import date
from pathlib import Path
from typing import Any

import structlog

from gateway.config import ConfigError, Settings
from gateway.directory import Directory
from policies.parties import Person, Role

SNAPSHOT_FORMAT = "chaperone-roster"
SNAPSHOT_VERSION = 1
NO_SNAPSHOT = "no roster imported yet: run `chaperone roster import DIR`"

log = structlog.get_logger("gateway.roster_snapshot")


def roster_snapshot_path(settings: Settings) -> Path:
    return settings.data_dir / "roster.json"


async def follow_snapshot(
    path: Path, directory: Directory, every: float, *, loaded: SnapshotIdentity | None
) -> None:
    """Until cancelled: every ``every`` seconds, look whether `chaperone roster import` has written a new
    snapshot since the one ``directory`` was ``loaded`` from (``snapshot_identity`` before loading it),
    and if so make ``directory`` the new roster. An unreadable snapshot is logged and the roster in force
    stays (as a failed import leaves it)."""
    seen = loaded
    while True:
        await asyncio.sleep(every)
        current = snapshot_identity(path)
        if current == seen or current is None:
            continue
        seen = current
        try:
            newer = await asyncio.to_thread(load_directory, path)
        except ConfigError as exc:
            log.error("new roster snapshot not loaded; the roster in force stays", error=str(exc))
            continue
        directory.take_over(newer)
        log.info("roster reloaded", people=newer.counts())


SnapshotIdentity = tuple[int, int, int]


def snapshot_identity(path: Path) -> SnapshotIdentity | None:
    """What changes when an import replaces the snapshot (a new file, renamed over the old one)."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_ino, status.st_mtime_ns, status.st_size


def save_directory(directory: Directory, path: Path) -> None:
    """Write the snapshot atomically: a crash or a full disk mid-write leaves the previous one whole."""
    document = {
        "format": SNAPSHOT_FORMAT,
        "version": SNAPSHOT_VERSION,
        "schools": directory.school_names(),
        "classes": directory.class_titles(),
        "people": [_person_record(person) for person in directory.people()],
    }
    if directory.supervisor_fallback() is not None:
        # Who `roster import` found to stand in for missing supervisors ([roster] supervisor_fallback).
        document["supervisor_fallback"] = directory.supervisor_fallback()
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file readable by its owner only: the snapshot holds students' details.
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, ensure_ascii=False, separators=(",", ":"))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_folder(path.parent)


def load_directory(path: Path) -> Directory:
    """The directory from its snapshot; ``ConfigError`` if there is none or it cannot be read."""
    try:
        with path.open("rb") as handle:
            document = json.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: {NO_SNAPSHOT}") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{path}: roster snapshot unreadable ({exc}); run `chaperone roster import DIR`"
        ) from None
    if not isinstance(document, dict) or document.get("format") != SNAPSHOT_FORMAT:
        raise ConfigError(f"{path}: not a roster snapshot; run `chaperone roster import DIR`")
    if document.get("version") != SNAPSHOT_VERSION:
        raise ConfigError(
            f"{path}: roster snapshot version {document.get('version')!r} is not {SNAPSHOT_VERSION}; "
            "run `chaperone roster import DIR` again"
        )
    try:
        people = [_person_from(record) for record in document["people"]]
        return Directory(
            people,
            schools=document["schools"],
            classes=document["classes"],
            supervisor_fallback=_fallback_from(document),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"{path}: roster snapshot damaged ({exc!r}); run `chaperone roster import DIR`"
        ) from None


def _fallback_from(document: dict[str, Any]) -> str | None:
    """The stand-in supervisor's sourcedId; absent in snapshots written before there was one."""
    fallback = document.get("supervisor_fallback")
    if fallback is not None and not isinstance(fallback, str):
        raise TypeError(f"supervisor_fallback {fallback!r} is not a sourcedId")
    return fallback


def _person_record(person: Person) -> dict[str, Any]:
    """Only what a person has: most have no phone, no birth date or no supervisors."""
    record: dict[str, Any] = {
        "id": person.person_id,
        "role": person.role.value,
        "roster_role": person.roster_role,
        "given": person.given_name,
        "family": person.family_name,
    }
    for key, value in (("email", person.email), ("sms", person.sms), ("phone", person.phone)):
        if value:
            record[key] = value
    if person.birth_date is not None:
        record["born"] = person.birth_date.isoformat()
    for key, values in (
        ("schools", person.schools),
        ("grades", person.grades),
        ("guardians", person.guardian_ids),
        ("students", person.student_ids),
        ("classes", person.class_ids),
        ("supervisors", person.supervisor_ids),
    ):
        if values:
            record[key] = values
    return record


def _person_from(record: dict[str, Any]) -> Person:
    born = record.get("born")
    return Person(
        person_id=record["id"],
        role=Role(record["role"]),
        roster_role=record["roster_role"],
        given_name=record["given"],
        family_name=record["family"],
        email=record.get("email"),
        sms=record.get("sms"),
        phone=record.get("phone"),
        schools=tuple(record.get("schools", ())),
        grades=tuple(record.get("grades", ())),
        birth_date=date.fromisoformat(born) if born else None,
        guardian_ids=tuple(record.get("guardians", ())),
        student_ids=tuple(record.get("students", ())),
        class_ids=tuple(record.get("classes", ())),
        supervisor_ids=tuple(record.get("supervisors", ())),
    )


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable; not every platform can open a folder for fsync."""
    with suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
