"""Which store an ``[archive] url`` names: ``sqlite:///PATH`` (embedded) or ``postgresql://…``."""

from __future__ import annotations

from pathlib import Path

from archive.store import Store

SCHEMES = ("sqlite:///", "postgresql://", "postgres://")


class UnknownArchive(ValueError):
    pass


def check_url(url: str) -> str:
    if not url.startswith(SCHEMES):
        raise UnknownArchive("must be sqlite:///PATH or postgresql://…")
    if url.startswith("sqlite:///") and not url.removeprefix("sqlite:///"):
        raise UnknownArchive("sqlite:/// needs a file path")
    return url


def sqlite_path(url: str) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def redacted(url: str) -> str:
    """An archive URL fit to print or log: its password, if it has one, masked."""
    scheme, _, rest = url.partition("://")
    credentials, at, place = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{place}"


def open_store(url: str, *, linger: float | None = None) -> Store:
    """The store for ``url``, not yet started (``await store.start()``)."""
    check_url(url)
    path = sqlite_path(url)
    if path is not None:
        from archive.sqlite import LINGER, SqliteStore

        return SqliteStore(path, linger=LINGER if linger is None else linger)
    from archive.postgres import PostgresStore

    return PostgresStore(url, linger=linger)
