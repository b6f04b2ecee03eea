"""Shared fixtures: the sample district, a real downstream SMTP server, and a running relay."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
import structlog
from aiosmtpd.smtp import SMTP

from adapters.roster_import import import_roster
from archive.backends import open_store
from archive.store import Store
from gateway.config import Settings
from gateway.credentials import StaffCredentials
from gateway.directory import Directory
from gateway.service import Relay, running_relay

SHARED = Path(__file__).resolve().parents[2] / "shared"
SAMPLE_DISTRICT = SHARED / "district-sample"
PASSWORD = "correct horse battery staple"
T = TypeVar("T")
# The PostgreSQL server the tests create their databases on (trust auth on this machine). It must be
# there: a test of the PostgreSQL store fails, never skips, when it is not.
POSTGRES = os.environ.get("CHAPERONE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ("sqlite", "postgresql")
# Fixtures whose tests run on both stores: every test that runs the relay end to end.
_BOTH_STORES = ("relay", "downstream")
# The store the current test's relays use (relay_settings). In the environment, not a global: test modules
# import this file as tests.conftest, a second copy beside the one pytest loaded.
_ARCHIVE_URL = "CHAPERONE_TEST_ARCHIVE_URL"


def run_in_thread(work: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to its end on a thread of its own, from sync or async code alike."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(asyncio.run(work()))  # type: ignore[arg-type]
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]  # type: ignore[no-any-return]


@contextmanager
def postgres_database() -> Iterator[str]:
    """A database of its own on the machine's PostgreSQL, dropped afterwards; yields its URL."""
    name = f"chaperone_test_{uuid.uuid4().hex[:12]}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(POSTGRES)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    run_in_thread(lambda: admin(f"CREATE DATABASE {name}"))
    base = POSTGRES.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        run_in_thread(lambda: admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "archive_backend" in metafunc.fixturenames and (
        "store_backend" in metafunc.fixturenames
        or any(name in metafunc.fixturenames for name in _BOTH_STORES)
    ):
        metafunc.parametrize("archive_backend", BACKENDS, indirect=True)


@pytest.fixture(autouse=True)
def archive_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The store this test's relays use: both, one after the other, for every test that runs a relay
    end to end (``relay_settings`` reads it); SQLite for the rest."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        os.environ[_ARCHIVE_URL] = f"sqlite:///{tmp_path / 'archive.db'}"
        try:
            yield backend
        finally:
            del os.environ[_ARCHIVE_URL]
        return
    with postgres_database() as url:
        os.environ[_ARCHIVE_URL] = url
        try:
            yield backend
        finally:
            del os.environ[_ARCHIVE_URL]


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
    pipelining: bool = True  # offered in EHLO, as the district's smarthost (Postfix, Exchange) does

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]] if self.pipelining else responses

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
    # A hostname given: aiosmtpd would otherwise ask DNS for ours (getfqdn) on every connection.
    server = await loop.create_server(
        lambda: SMTP(sink, decode_data=False, hostname="downstream.test"), "127.0.0.1", 0
    )
    sink.port = server.sockets[0].getsockname()[1]
    yield sink
    server.close()
    await server.wait_closed()


@pytest.fixture
def store_backend(archive_backend: str) -> None:
    """Asks for both backends (pytest_generate_tests): a test of the store interface itself."""


@pytest.fixture
async def store(store_backend: None, tmp_path: Path) -> AsyncIterator[Store]:
    """An empty archive of this test's own, on each backend in turn, started."""
    opened = open_store(archive_url(tmp_path))
    await opened.start()
    try:
        yield opened
    finally:
        await opened.close()


def zone_where_it_is(local_hour: int) -> str:
    """A fixed-offset time zone in which it is now about ``local_hour`` o'clock. Tests about who gets a
    copy run in a district where it is midday; quiet-hours tests pick a district where it is night."""
    offset = (local_hour - datetime.now(UTC).hour + 12) % 24 - 12  # -12 … +11 hours from UTC
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX zone names flip the sign


def archive_url(tmp_path: Path) -> str:
    """The archive URL this test's relays use (``archive_backend``)."""
    return os.environ.get(_ARCHIVE_URL) or f"sqlite:///{tmp_path / 'archive.db'}"


def relay_settings(tmp_path: Path, downstream_port: int, **sections: dict[str, Any]) -> Settings:
    base: dict[str, dict[str, Any]] = {
        "district": {"timezone": zone_where_it_is(12)},
        "archive": {"url": archive_url(tmp_path)},
        "smtp": {"submission": "127.0.0.1:0", "inbound": "127.0.0.1:0", "require_tls": False},
        "web": {"listen": "127.0.0.1:0", "secure_cookies": False},  # plain HTTP on loopback, in tests only
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
    staff = ("dreyes@nusd.example.org", "cokafor@nusd.example.org", "mlindqvist@nusd.example.org")
    await asyncio.to_thread(give_passwords, settings, *staff)  # argon2: a moment each
    async with running_relay(settings, directory) as running:
        yield running


# --- the event loop watchdog -----------------------------------------------------------------------------
# Every event loop the tests make (pytest-asyncio's, and a relay's own in a thread) runs in asyncio's debug
# mode, which logs any callback that holds the loop longer than this; a test during which that happened
# fails, naming the callback. A blocked loop stalls every SMTP session of the process at once. The test's own
# body and fixtures (hashing a password, importing a roster to set up) get longer before they count: what
# the watchdog is for is the relay's code.
BLOCKED_LOOP_SECONDS = 1.0
TEST_CODE_BLOCKED_SECONDS = 3.0
_TOOK = re.compile(r" took (\d+(?:\.\d+)?) seconds")
_TEST_CODE = ("coro=<test_", "_wrap_asyncgen_fixture", "_wrap_async_fixture")


class _WatchedLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        super().__init__()
        self.slow_callback_duration = BLOCKED_LOOP_SECONDS
        super().set_debug(True)

    def set_debug(self, enabled: bool) -> None:
        super().set_debug(True)  # asyncio.Runner turns it off again by default


class _WatchedLoops(asyncio.DefaultEventLoopPolicy):
    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        return _WatchedLoop()


class _SlowCallbacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        took = _TOOK.search(message)
        if not message.startswith("Executing ") or took is None:
            return
        limit = TEST_CODE_BLOCKED_SECONDS if any(m in message for m in _TEST_CODE) else BLOCKED_LOOP_SECONDS
        if float(took.group(1)) >= limit:
            self.seen.append(message)


def pytest_configure(config: pytest.Config) -> None:
    # The loops a test makes itself (asyncio.run in a relay's thread), and pytest-asyncio's (below).
    asyncio.set_event_loop_policy(_WatchedLoops())
    # structlog's default renders an exception with Rich, every frame's locals included, inside the loop:
    # over a second for one logged failure on a loaded machine, which the watchdog would blame on the relay.
    # The relay's own configuration (gateway.logs) prints plain tracebacks; so do the tests.
    processors = [*structlog.get_config()["processors"][:-1]]
    processors.append(structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback))
    structlog.configure(processors=processors)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    return {"watched": _WatchedLoop}


@pytest.fixture(autouse=True)
def no_blocked_event_loop(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("relay_in_other_processes"):
        # Nothing of the relay runs here, and the relay's processes take the cores: a wall-clock watchdog
        # would only measure how long this process waited for one.
        yield
        return
    watcher = _SlowCallbacks()
    logger = logging.getLogger("asyncio")
    logger.addHandler(watcher)
    try:
        yield
    finally:
        logger.removeHandler(watcher)
    if watcher.seen:
        pytest.fail("the event loop was blocked:\n" + "\n".join(watcher.seen[:5]), pytrace=False)
