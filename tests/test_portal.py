"""The portal over HTTP, on both stores: sign-in (throttled, locked out, archived), sessions in sealed
HttpOnly SameSite cookies, CSRF on every form, and a table-driven authorisation matrix of every role
against every endpoint."""

from __future__ import annotations

import asyncio
import email
import io
import json
import re
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.config import Web
from gateway.directory import Directory
from gateway.service import running_relay
from tests.conftest import SAMPLE_DISTRICT, Downstream, Received, relay_settings
from tests.mail import eventually, in_store
from tests.portal import (
    ANA,
    BROOKS,
    FIELD,
    NGUYEN,
    OKAFOR,
    PATEL,
    PRIYA,
    REYES,
    PortalRelay,
    browser_client,
    csrf_of,
    sign_in,
    started,
)


@pytest.fixture
async def portal(tmp_path: Path, downstream: Downstream, directory: Directory) -> AsyncIterator[PortalRelay]:
    async for running in started(tmp_path, downstream, directory):
        yield running


async def threads(portal: PortalRelay) -> dict[str, str]:
    """Each subject's thread, as the compliance officer's search shows it."""
    async with browser_client() as client:
        assert await sign_in(client, portal.base, FIELD) == 303
        async with client.get(f"{portal.base}/search") as page:
            html = await page.text()
    return {
        subject: thread for thread, subject in re.findall(r'href="/portal/thread/([^"]+)">([^<]+)<', html)
    }


async def test_signing_in_starts_a_sealed_session_and_is_archived(portal: PortalRelay) -> None:
    async with browser_client() as client:
        async with client.get(f"{portal.base}/search", allow_redirects=False) as anonymous:
            assert anonymous.status == 303 and anonymous.headers["Location"].startswith("/portal/signin")
        assert await sign_in(client, portal.base, REYES, "wrong password") == 401
        assert await sign_in(client, portal.base, PATEL) == 401  # students have no portal account
        assert await sign_in(client, portal.base, REYES) == 303
        async with client.get(f"{portal.base}/search") as page:
            assert page.status == 200 and "Field trip" in await page.text()
            assert page.headers["Cache-Control"] == "no-store"
            assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        async with client.get(f"{portal.base}/search") as page:
            token = csrf_of(await page.text())
        async with client.post(f"{portal.base}/signout", data={"csrf": token}, allow_redirects=False) as out:
            assert out.status == 303
        async with client.get(f"{portal.base}/search", allow_redirects=False) as after:
            assert after.status == 303
    signed = in_store(
        portal.relay.settings.archive.url, lambda store: store.records(kinds=["portal.signed_in"])
    )
    assert [r.payload["person_id"] for r in signed] == ["t-reyes"]


async def test_cookies_are_secure_httponly_and_samesite_by_default(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings = relay_settings(tmp_path, downstream.port)
    assert Web().secure_cookies
    settings = settings.model_copy(update={"web": Web(listen="127.0.0.1:0")})
    async with running_relay(settings, directory) as relay, browser_client() as client:
        async with client.get(f"http://127.0.0.1:{relay.port('web')}/portal/signin") as page:
            cookie = page.headers["Set-Cookie"]
    for attribute in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/portal/"):
        assert attribute in cookie


async def test_a_form_without_its_csrf_token_is_refused(portal: PortalRelay) -> None:
    async with browser_client() as client:
        async with client.get(f"{portal.base}/signin") as page:
            await page.text()
        form = {"email": REYES, "password": "x", "csrf": "forged"}
        async with client.post(f"{portal.base}/signin", data=form, allow_redirects=False) as answer:
            assert answer.status == 403
        assert await sign_in(client, portal.base, BROOKS) == 303
        subject_threads = await threads(portal)
        async with client.get(f"{portal.base}/thread/{subject_threads['Your essay']}") as page:
            assert 'value="approve"' in await page.text()
        message = await held_message(portal)
        verdict = {"verdict": "reject", "comment": "no", "csrf": "not the session's"}
        async with client.post(
            f"{portal.base}/review/{message}", data=verdict, allow_redirects=False
        ) as answer:
            assert answer.status == 403
    entry = in_store(portal.relay.settings.archive.url, lambda store: store.review(message))
    assert entry is not None and entry.state == "pending"


async def test_failed_sign_ins_lock_the_address_out(portal: PortalRelay) -> None:
    limit = portal.relay.settings.smtp.auth_failures_per_address
    async with browser_client() as client:
        for _ in range(limit):
            assert await sign_in(client, portal.base, OKAFOR, "guess") == 401
        assert await sign_in(client, portal.base, OKAFOR) == 429  # the right password, too late
    events = in_store(
        portal.relay.settings.archive.url, lambda store: store.records(kinds=["security.event"])
    )
    assert any(r.payload.get("event") == "sign-ins throttled" for r in events)


async def held_message(portal: PortalRelay) -> str:
    waiting = in_store(portal.relay.settings.archive.url, lambda store: store.reviews(["pending"]))
    return waiting[0].message_id


# Who gets what: every role against every endpoint. "own" is the Field trip thread (Reyes to Patel, at
# Northfield High); "held" is the Your essay message (Reyes to Kim, held). A POST with a verdict that is
# none of approve/reject/escalate shows access without deciding: 400 is "you may, but say what".
ROLES = {
    "anonymous": None,
    "compliance": FIELD,
    "principal of the school": BROOKS,
    "principal elsewhere": NGUYEN,
    "the teacher": REYES,
    "another teacher": OKAFOR,
    "the student's guardian": PRIYA,
    "another guardian": ANA,
}
MATRIX = {
    # role: (search, own thread, review queue, verdict on held, case file)
    "anonymous": (303, 303, 303, 303, 303),
    "compliance": (200, 200, 200, 400, 200),
    "principal of the school": (200, 200, 200, 400, 200),
    "principal elsewhere": (200, 404, 200, 404, 200),
    "the teacher": (200, 200, 403, 404, 403),
    "another teacher": (200, 404, 403, 404, 403),
    "the student's guardian": (200, 200, 403, 404, 403),
    "another guardian": (200, 404, 403, 404, 403),
}


@pytest.mark.parametrize("role", list(ROLES))
async def test_the_authorisation_matrix(portal: PortalRelay, role: str) -> None:
    subject_threads = await threads(portal)
    message = await held_message(portal)
    async with browser_client() as client:
        email = ROLES[role]
        token = ""
        if email is not None:
            assert await sign_in(client, portal.base, email) == 303
            async with client.get(f"{portal.base}/search") as page:
                token = csrf_of(await page.text())
        statuses = []
        for path in ("/search", f"/thread/{subject_threads['Field trip']}", "/review"):
            async with client.get(f"{portal.base}{path}", allow_redirects=False) as answer:
                statuses.append(answer.status)
        verdict = {"verdict": "neither", "comment": "checking", "csrf": token}
        if email is None:
            async with client.get(f"{portal.base}/signin") as page:
                verdict["csrf"] = csrf_of(await page.text())
        async with client.post(
            f"{portal.base}/review/{message}", data=verdict, allow_redirects=False
        ) as answer:
            statuses.append(answer.status)
        form = {"q": "bus", "csrf": verdict["csrf"]}
        async with client.post(f"{portal.base}/export", data=form, allow_redirects=False) as answer:
            statuses.append(answer.status)
            if answer.status == 200:
                assert answer.content_type == "application/zip"
                with zipfile.ZipFile(io.BytesIO(await answer.read())) as case:
                    manifest = json.loads(case.read("manifest.json"))
                seen = {"principal elsewhere": ["Science fair"], "compliance": ["Science fair", "Field trip"]}
                assert [m["subject"] for m in manifest["messages"]] == seen.get(role, ["Field trip"])
    assert tuple(statuses) == MATRIX[role]


async def test_a_guardian_invited_by_email_chooses_a_password_once(
    portal: PortalRelay, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = portal.relay.settings
    config = tmp_path / "chaperone.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\n[archive]\nurl = "{settings.archive.url}"\n', encoding="utf-8"
    )

    def chaperone(*args: str) -> int:
        return main(["--config", str(config), *args])

    assert await asyncio.to_thread(chaperone, "roster", "import", str(SAMPLE_DISTRICT)) == 0
    assert await asyncio.to_thread(chaperone, "portal", "invite", "--guardian", "g-kim") == 0
    assert "invited Helen Kim <helen.kim@example.org>" in capsys.readouterr().out

    def invitations() -> list[Received]:
        return [r for r in portal.downstream.received if b"Subject: Your access" in r.content]

    await eventually(lambda: bool(invitations()))
    [invitation] = invitations()
    assert invitation.rcpt_tos == ["helen.kim@example.org"]
    text = email.message_from_bytes(invitation.content).get_payload(decode=True).decode()
    path = re.search(r"/portal/welcome/\S+", text)
    assert path is not None
    link = f"http://127.0.0.1:{portal.relay.port('web')}{path.group(0)}"
    async with browser_client() as client:
        async with client.get(link) as page:
            token = csrf_of(await page.text())
        short = {"csrf": token, "password": "short", "again": "short"}
        async with client.post(link, data=short, allow_redirects=False) as answer:
            assert answer.status == 400 and "at least 12 characters" in await answer.text()
        chosen = {"csrf": token, "password": "a long family password", "again": "a long family password"}
        async with client.post(link, data=chosen, allow_redirects=False) as answer:
            assert answer.status == 303 and answer.headers["Location"] == "/portal/search"
        async with client.get(f"{portal.base}/search") as page:
            assert "Your essay" in await page.text()  # Kim's message: her child's
        async with client.get(link) as again:
            assert again.status == 404  # used up
    async with browser_client() as client:
        assert await sign_in(client, portal.base, "helen.kim@example.org", "a long family password") == 303
