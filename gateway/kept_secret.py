"""A secret the relay makes for itself once and keeps in data_dir (mode 0600): development's webhook token,
the portal's session key. Every process of the relay reads the same one; the first to make it wins."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def kept_secret(path: Path, make: Callable[[], str]) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    made = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(made, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(make())
    try:
        os.link(made, path)  # whole or not at all; a process that got there first keeps its secret
    except FileExistsError:
        pass
    finally:
        made.unlink()
    return path.read_text(encoding="ascii").strip()
