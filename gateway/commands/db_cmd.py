"""`chaperone db upgrade`: bring the archive's schema up to date (versioned files in archive/migrations).

A relay does the same when it starts; this is for doing it first, on purpose, before a new version of the
relay is rolled out to several instances.
"""

from __future__ import annotations

import argparse
import asyncio

from archive.backends import open_store, redacted
from gateway.config import load_settings


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = groups.add_parser("db", help="the archive's database")
    actions = db.add_subparsers(dest="action", required=True)
    actions.add_parser("upgrade", help="apply the schema migrations it has not had").set_defaults(
        run=_upgrade
    )


def _upgrade(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)

    async def run() -> list[str]:
        store = open_store(settings.archive.url)
        await store.start()
        await store.close()
        return store.newly_applied

    applied = asyncio.run(run())
    where = redacted(settings.archive.url)
    if not applied:
        print(f"{where}: the schema is up to date")
    for name in applied:
        print(f"{where}: applied {name}")
    return 0
