"""MMS: a text's pictures are fetched with the account's credentials (which never follow a redirect to
another host), kept content-addressed in the archive, judged by the attachment rules, and sent on to the
other side through links only the relay can sign."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from archive.records import RecordKind
from gateway.directory import Directory
from gateway.service import Relay
from tests.conftest import Downstream, archive_url
from tests.mail import archive_rows, eventually, in_store
from tests.sms import MAIN, PATEL, PUBLIC_URL, REYES, TOKEN, post_webhook, sms_relay, sms_settings, text
from tests.twilio_fake import ACCOUNT, fake_twilio

# A phone camera's JPEG: the SOI marker, then an APP1 segment with the EXIF block phones write.
PHOTO = b"\xff\xd8\xff\xe1\x00\x16Exif\x00\x00" + b"\x00" * 16 + secrets.token_bytes(2048) + b"\xff\xd9"


@asynccontextmanager
async def media_host() -> AsyncIterator[dict[str, list[str | None]]]:
    """Twilio's media URL (127.0.0.1, wants the account's credentials) redirecting to its storage on
    another host (127.0.0.2), as Twilio does; records the Authorization each host was sent."""
    seen: dict[str, list[str | None]] = {"api": [], "storage": []}
    storage_port = 0

    async def api(request: web.Request) -> web.StreamResponse:
        seen["api"].append(request.headers.get("Authorization"))
        if request.headers.get("Authorization") != aiohttp.encode_basic_auth(ACCOUNT, TOKEN):
            return web.Response(status=401)
        raise web.HTTPFound(f"http://127.0.0.2:{storage_port}/storage/photo")

    async def storage(request: web.Request) -> web.Response:
        seen["storage"].append(request.headers.get("Authorization"))
        return web.Response(body=PHOTO, content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/2010-04-01/Accounts/{account}/Messages/{sid}/Media/{media}", api)
    app.router.add_get("/storage/photo", storage)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    first, second = web.TCPSite(runner, "127.0.0.1", 0), None
    await first.start()
    port = int(runner.addresses[0][1])
    second = web.TCPSite(runner, "127.0.0.2", 0)
    await second.start()
    storage_port = int(next(a[1] for a in runner.addresses if a[0] == "127.0.0.2"))
    seen["url"] = [f"http://127.0.0.1:{port}/2010-04-01/Accounts/{ACCOUNT}/Messages/MM1/Media/ME1"]
    try:
        yield seen
    finally:
        await runner.cleanup()


async def mms(relay: Relay, sender: str, to: str, body: str, url: str, kind: str) -> tuple[int, str]:
    form = {"MessageSid": "MM" + secrets.token_hex(16), "From": sender, "To": to, "Body": body,
            "NumMedia": "1", "MediaUrl0": url, "MediaContentType0": kind}  # fmt: skip
    return await post_webhook(relay, "/twilio/sms", form)


async def test_a_picture_is_fetched_archived_judged_and_sent_on_through_a_signed_link(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    url = archive_url(tmp_path)
    async with fake_twilio() as twilio, media_host() as host:
        settings = sms_settings(
            tmp_path, downstream.port,
            sms={"provider": "twilio", "account_sid": ACCOUNT, "api_base_url": twilio.base_url},
        )  # fmt: skip
        async with sms_relay(settings, directory) as relay:
            await text(relay, REYES, MAIN, "@spatel Send me a photo of your lab setup")
            await eventually(lambda: len(twilio.created) == 3)
            number = next(m["from"] for m in twilio.created if m["to"] == PATEL)
            status, _ = await mms(relay, PATEL, number, "here it is", str(host["url"][0]), "image/jpeg")
            assert status == 200
            await eventually(
                lambda: any(m["to"] == REYES and m["body"] == "here it is" for m in twilio.created)
            )
            sent = next(r for r in twilio.requests if r["To"] == REYES and r.get("Body") == "here it is")
            link = sent["MediaUrl"]
            assert link.startswith(PUBLIC_URL + "/media/sha256:")
            local = f"http://127.0.0.1:{relay.port('web')}" + link.removeprefix(PUBLIC_URL)
            async with aiohttp.ClientSession() as client:
                async with client.get(local) as served:
                    assert served.status == 200 and await served.read() == PHOTO
                    assert served.content_type == "image/jpeg"
                forged = local.replace("sig=", "sig=0")
                async with client.get(forged) as refused:
                    assert refused.status == 403
    # The credentials went to Twilio's host only, never to the storage it redirected to.
    assert host["api"] == [aiohttp.encode_basic_auth(ACCOUNT, TOKEN)] and host["storage"] == [None]
    message = archive_rows(url, RecordKind.MESSAGE)[-1]["payload"]
    [media] = message["media"]
    assert media["content_type"] == "image/jpeg" and media["size"] == len(PHOTO)
    attached = {"filename": "media-1.jpg", "content_type": "image/jpeg", "size": len(PHOTO)}
    assert message["attachments"] == [attached]
    assert in_store(url, lambda store: store.body(media["digest"])) == PHOTO
    assert urlsplit(link).path == f"/media/{media['digest']}"


async def test_a_file_the_relay_does_not_carry_is_refused_with_the_reason(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings = sms_settings(tmp_path, downstream.port)
    async with sms_relay(settings, directory) as relay:
        _, answer = await mms(relay, REYES, MAIN, "@spatel run this", "http://127.0.0.1:9/x.exe",
                              "application/x-msdownload")  # fmt: skip
    assert "application/x-msdownload cannot go through the relay" in answer
    assert archive_rows(archive_url(tmp_path), RecordKind.MESSAGE) == []
