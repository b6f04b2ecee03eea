"""Private files in data_dir (mode 0600): a secret the relay makes for itself once (development's webhook
token, the portal's session key; every process reads the same one, the first to make it wins), and files
replaced whole (password hashes, invitations)."""

from __future__ import annotations

import os
import tempfile
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


def replace_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (a temporary file, fsynced, renamed), mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
