"""Versioned schema changes, one SQL file each (``NNNN_what.sql``), per backend; applied in order by
``chaperone db upgrade`` (and by a store on start), each recorded in ``schema_version``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(backend: str) -> list[Migration]:
    """Every migration of ``backend`` ("sqlite" or "postgresql"), oldest first."""
    folder = resources.files("archive.migrations").joinpath(backend)
    found = []
    for entry in folder.iterdir():
        match = _NAME.fullmatch(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    return sorted(found, key=lambda m: m.version)
