"""Shared fixtures: the sample district, a real downstream SMTP server, and a running relay."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP

from adapters.roster_import import import_roster
from gateway.config import Settings
from gateway.credentials import StaffCredentials
from gateway.directory import Directory
from gateway.service import Relay, running_relay

SHARED = Path(__file__).resolve().parents[2] / "shared"
SAMPLE_DISTRICT = SHARED / "district-sample"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def directory() -> Directory:
    return import_roster(SAMPLE_DISTRICT).directory


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class Downstream:
    """A real SMTP server standing in for the district's smarthost: it keeps what it accepts and can be
    told to refuse recipients (RCPT) or whole messages (DATA) with a given reply."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    data_replies: list[str] = field(default_factory=list)  # consumed one per DATA; empty → accept
    mail_replies: list[str] = field(default_factory=list)  # consumed one per MAIL; empty → accept
    mail_sessions: list[int] = field(default_factory=list)  # which connection each MAIL came on
    resets: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        self.mail_sessions.append(id(session))
        if self.mail_replies:
            return self.mail_replies.pop(0)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RSET(self, server: Any, session: Any, envelope: Any) -> str:
        self.resets += 1
        return "250 2.0.0 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        self.arrived.set()
        return "250 2.0.0 queued"

    async def wait_for(self, count: int, within: float = 10.0) -> list[Received]:
        async with asyncio.timeout(within):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.received


@pytest.fixture
async def downstream() -> AsyncIterator[Downstream]:
    sink = Downstream()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink, decode_data=False), "127.0.0.1", 0)
    sink.port = server.sockets[0].getsockname()[1]
    yield sink
    server.close()
    await server.wait_closed()


def zone_where_it_is(local_hour: int) -> str:
    """A fixed-offset time zone in which it is now about ``local_hour`` o'clock. Tests about who gets a
    copy run in a district where it is midday; quiet-hours tests pick a district where it is night."""
    offset = (local_hour - datetime.now(UTC).hour + 12) % 24 - 12  # -12 … +11 hours from UTC
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX zone names flip the sign


def relay_settings(tmp_path: Path, downstream_port: int, **sections: dict[str, Any]) -> Settings:
    base: dict[str, dict[str, Any]] = {
        "district": {"timezone": zone_where_it_is(12)},
        "archive": {"url": f"sqlite:///{tmp_path / 'archive.db'}"},
        "smtp": {"submission": "127.0.0.1:0", "inbound": "127.0.0.1:0", "require_tls": False},
        "delivery": {
            "target": f"smtp://127.0.0.1:{downstream_port}",
            "first_retry_seconds": 0.2,
            "max_retry_seconds": 0.5,
        },
    }
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    return Settings(data_dir=tmp_path, **base)  # type: ignore[arg-type]


def give_passwords(settings: Settings, *emails: str) -> None:
    credentials = StaffCredentials(settings.data_dir)
    for email in emails:
        credentials.set_password(email, PASSWORD)


@pytest.fixture
async def relay(tmp_path: Path, downstream: Downstream, directory: Directory) -> AsyncIterator[Relay]:
    settings = relay_settings(tmp_path, downstream.port)
    give_passwords(
        settings, "dreyes@nusd.example.org", "cokafor@nusd.example.org", "mlindqvist@nusd.example.org"
    )
    async with running_relay(settings, directory) as running:
        yield running
