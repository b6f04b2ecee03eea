"""A running relay with its portal, three conversations in its archive and everyone's passwords set: what
the portal's tests (HTTP and browser) start from."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from gateway.credentials import GuardianCredentials
from gateway.directory import Directory
from gateway.service import Relay, running_relay
from tests.conftest import PASSWORD, Downstream, give_passwords, relay_settings
from tests.mail import compose, submit

REYES, LINDQVIST, OKAFOR = (
    "dreyes@nusd.example.org",
    "mlindqvist@nusd.example.org",
    "cokafor@nusd.example.org",
)
FIELD = "rfield@nusd.example.org"  # the compliance officer
BROOKS, NGUYEN = "abrooks@nusd.example.org", "tnguyen@nusd.example.org"  # Northfield High's, Lakeview's
PATEL, KIM = "spatel@students.nusd.example.org", "jkim@students.nusd.example.org"
GARCIA = "lgarcia@students.nusd.example.org"
PRIYA, ANA = "priya.patel@example.net", "ana.garcia@example.org"  # Patel's mother, Garcia's
STAFF = (REYES, LINDQVIST, OKAFOR, FIELD, BROOKS, NGUYEN)


@dataclass
class PortalRelay:
    relay: Relay
    downstream: Downstream

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.relay.port('web')}/portal"


async def started(tmp_path: Path, downstream: Downstream, directory: Directory) -> AsyncIterator[PortalRelay]:
    """Reyes (Northfield High) writes to Patel, then to Kim (held: secrecy); Lindqvist (Lakeview) to
    Garcia."""
    settings = relay_settings(tmp_path, downstream.port, district={"compliance_contact": FIELD})
    await asyncio.to_thread(give_passwords, settings, *STAFF)
    for guardian in (PRIYA, ANA):
        await asyncio.to_thread(GuardianCredentials(settings.data_dir).set_password, guardian, PASSWORD)
    async with running_relay(settings, directory) as relay:
        port = relay.port("submission")
        await submit(port, REYES, [PATEL], compose(REYES, [PATEL], "Field trip", "The bus leaves at seven."))
        await submit(
            port, REYES, [KIM], compose(REYES, [KIM], "Your essay", "Don't tell your parents I helped.")
        )
        await submit(
            port, LINDQVIST, [GARCIA], compose(LINDQVIST, [GARCIA], "Science fair", "Bring the bus pass.")
        )
        yield PortalRelay(relay, downstream)


_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


async def sign_in(client: aiohttp.ClientSession, base: str, email: str, password: str = PASSWORD) -> int:
    """Sign in as a browser would (the form, its CSRF token); the status of the answer, unredirected."""
    async with client.get(f"{base}/signin") as page:
        token = csrf_of(await page.text())
    form = {"csrf": token, "email": email, "password": password, "next": "/portal/"}
    async with client.post(f"{base}/signin", data=form, allow_redirects=False) as answer:
        return answer.status


def browser_client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # cookies for 127.0.0.1
