"""POST /api/v1/messages: a staff member starts a text from the portal or their own tools, signed in with
their district e-mail and app password; the same service as a text to the relay number does the rest."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from archive.records import RecordKind
from gateway.directory import Directory
from gateway.service import Relay
from tests.conftest import PASSWORD, Downstream, archive_url, give_passwords
from tests.mail import archive_rows
from tests.sms import PATEL, sms_relay, sms_settings, texts_sent

REYES_EMAIL = "dreyes@nusd.example.org"


async def call(
    relay: Relay, body: Any, *, password: str = PASSWORD, key: str | None = None, raw: bytes | None = None
) -> tuple[int, dict[str, Any]]:
    headers = {"Idempotency-Key": key} if key else {}
    auth = aiohttp.encode_basic_auth(REYES_EMAIL, password)
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"http://127.0.0.1:{relay.port('web')}/api/v1/messages",
            json=None if raw is not None else body,
            data=raw,
            headers={"Authorization": auth, **headers},
        ) as response:
            text = await response.text()
            return response.status, (
                await response.json() if response.content_type == "application/json" else {"text": text}
            )


async def test_a_staff_member_starts_a_text_from_the_api_once_however_often_it_is_retried(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings = sms_settings(tmp_path, downstream.port)
    await asyncio.to_thread(give_passwords, settings, REYES_EMAIL)
    async with sms_relay(settings, directory) as relay:
        status, answer = await call(relay, {"to": "spatel", "text": "Practice moved to 4pm"}, key="k-1")
        again, repeated = await call(relay, {"to": "spatel", "text": "Practice moved to 4pm"}, key="k-1")
        sent = await texts_sent(settings, 3)
    assert status == 201 and [m["action"] for m in answer["messages"]] == ["deliver"]
    assert (again, repeated) == (200, {"duplicate": True})
    assert [t["body"] for t in sent if t["to"] == PATEL] == ["Practice moved to 4pm"]
    assert len(archive_rows(archive_url(tmp_path), RecordKind.MESSAGE)) == 1


async def test_the_api_refuses_a_wrong_password_bad_json_and_unknown_recipients_with_the_reason(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings = sms_settings(tmp_path, downstream.port)
    await asyncio.to_thread(give_passwords, settings, REYES_EMAIL)
    async with sms_relay(settings, directory) as relay:
        wrong = await call(relay, {"to": "spatel", "text": "hi"}, password="guess")
        bad = await call(relay, None, raw=b'{"to": "spatel", "txt": "hi"}')
        unknown = await call(relay, {"to": "nobody", "text": "hi"})
    assert wrong[0] == 401
    assert bad[0] == 400 and "text: Field required" in bad[1]["error"]
    assert unknown == (422, {"error": "Not sent: @nobody is not on the district roster."})
    events = archive_rows(archive_url(tmp_path), RecordKind.SECURITY)
    assert [e["payload"]["event"] for e in events] == ["api sign-in failed"]
