"""Hardening: no message may slip past the rules by its shape, and no author may be forged.

Each test here is a finding of the hardening review (an attacker with a real client): it failed on the
relay before the fix.
"""

from __future__ import annotations

import asyncio
import base64
import time

import aiosmtplib
import pytest

from gateway.service import Relay
from tests.conftest import PASSWORD, Downstream
from tests.mail import archive_rows, compose, parse, submit

REYES = "dreyes@nusd.example.org"
PATEL = "spatel@students.nusd.example.org"
BROOKS = "abrooks@nusd.example.org"
THREAT = "You will regret it if you tell anyone. I know where you live."


def message(headers: str, body: str) -> bytes:
    return (headers.replace("\n", "\r\n") + "\r\n\r\n" + body.replace("\n", "\r\n") + "\r\n").encode()


def plain_head(sender: str = REYES, extra: str = "") -> str:
    head = f"From: {sender}\nTo: {PATEL}\nSubject: Lab\nMessage-ID: <h1@example.org>"
    return head + (f"\n{extra}" if extra else "")


async def refused(relay: Relay, raw: bytes) -> aiosmtplib.SMTPDataError:
    with pytest.raises(aiosmtplib.SMTPDataError) as caught:
        await submit(relay.port("submission"), REYES, [PATEL], raw)
    return caught.value


# --- a header that is not RFC 5322 never reaches the queue ----------------------------------------------


@pytest.mark.parametrize(
    "bad_field",
    ["X Bad Header: y", " leading continuation: y", "No colon at all", "X-Nul: a\0b"],
)
async def test_a_header_that_is_not_rfc5322_is_refused_at_data(
    relay: Relay, downstream: Downstream, bad_field: str
) -> None:
    head = bad_field + "\n" + plain_head() if bad_field.startswith(" ") else plain_head(extra=bad_field)
    error = await refused(relay, message(head, "Lab at 3."))
    assert error.code == 554 and error.message.startswith("5.6.0")
    assert archive_rows(relay.settings.archive.url, "message") == []
    assert archive_rows(relay.settings.archive.url, "smtp.refusal")[-1]["payload"]["stage"] == "DATA"


# --- who a message is from ------------------------------------------------------------------------------


def encoded(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


@pytest.mark.parametrize(
    "head",
    [
        f"From: {REYES}\nFrom: {BROOKS}\nTo: {PATEL}\nSubject: x",  # two From fields
        f"From : {REYES}\nFrom: {BROOKS}\nTo: {PATEL}\nSubject: x",  # "From :" hides a second one
        f"From: {encoded(BROOKS)} <{REYES}>\nTo: {PATEL}\nSubject: x",  # the principal in an encoded name
        f"From: {REYES}\nSender: {BROOKS}\nTo: {PATEL}\nSubject: x",
        f"From: {REYES}\nResent-From: {BROOKS}\nTo: {PATEL}\nSubject: x",
        f"To: {PATEL}\nSubject: no From at all",
    ],
)
async def test_only_one_from_naming_only_the_sender_is_accepted(
    relay: Relay, downstream: Downstream, head: str
) -> None:
    error = await refused(relay, message(head, "Practice is at 4."))
    assert error.code in (553, 554)
    assert archive_rows(relay.settings.archive.url, "message") == []


async def test_an_encoded_display_name_of_ones_own_is_fine(relay: Relay, downstream: Downstream) -> None:
    head = f"From: {encoded('Dana Reyes, Biología')} <{REYES}>\nTo: {PATEL}\nSubject: x"
    assert (await submit(relay.port("submission"), REYES, [PATEL], message(head, "Lab at 3."))).startswith(
        "2.0.0"
    )


async def test_fields_that_redirect_replies_or_receipts_are_removed_from_every_copy(
    relay: Relay, downstream: Downstream
) -> None:
    personal = "dana.reyes.home@gmail.com"
    redirecting = ["Mail-Reply-To", "Mail-Followup-To", "Disposition-Notification-To", "Return-Receipt-To"]
    extra = "\n".join(f"{name}: {personal}" for name in [*redirecting, "Errors-To"])
    await submit(relay.port("submission"), REYES, [PATEL], message(plain_head(extra=extra), "Lab at 3."))
    received = await downstream.wait_for(2)
    for copy in received:
        assert personal.encode() not in copy.content


# --- the sender is told the category and the clause, not the words that matched -------------------------


async def test_the_reply_to_a_held_message_does_not_quote_what_matched(
    relay: Relay, downstream: Downstream
) -> None:
    response = await submit(relay.port("submission"), REYES, [PATEL], compose(REYES, [PATEL], body=THREAT))
    assert "held" in response
    assert "know where you live" not in response.lower() and "regret" not in response.lower()
    assert "threat" in response.lower() and "004_c1cf45d309814995.txt" in response
    notice = next(r for r in await downstream.wait_for(2) if r.rcpt_tos == [REYES])
    assert "know where you live" not in parse(notice.content).get_content()
    decision = archive_rows(relay.settings.archive.url, "decision")[-1]["payload"]
    assert any("know where you live" in f["evidence"].lower() for f in decision["findings"])


# --- every part a client may show is read -----------------------------------------------------------------


def multipart(kind: str, *parts: str, boundary: str = "b1") -> str:
    body = "".join(f"--{boundary}\n{part}\n" for part in parts)
    return (
        f'MIME-Version: 1.0\nContent-Type: multipart/{kind}; boundary="{boundary}"',
        f"{body}--{boundary}--",
    )


HIDING_PLACES = {
    "quoted with >": ("Content-Type: text/plain", f"Sounds good.\n\n> {THREAT}"),
    "made-up attribution": ("Content-Type: text/plain", f"Sure.\n\nOn Mon, Oct 5, Sam wrote:\n{THREAT}"),
    "original message marker": ("Content-Type: text/plain", f"Ok.\n\n-----Original Message-----\n{THREAT}"),
    "html alternative": multipart(
        "alternative",
        "Content-Type: text/plain\n\nSee you at practice.",
        f"Content-Type: text/html\n\n<p>{THREAT}</p>",
    ),
    "markdown part": multipart(
        "mixed", "Content-Type: text/plain\n\nNotes.", f"Content-Type: text/markdown\n\n{THREAT}"
    ),
    "inline text with a filename": multipart(
        "mixed",
        "Content-Type: text/plain\n\nNotes.",
        f'Content-Type: text/plain\nContent-Disposition: inline; filename="n.txt"\n\n{THREAT}',
    ),
    "attached message": multipart(
        "mixed",
        "Content-Type: text/plain\n\nFYI.",
        f"Content-Type: message/rfc822\n\nFrom: x@example.org\nSubject: fwd\n\n{THREAT}",
    ),
    "html comment inside a word": ("Content-Type: text/html", "<p>I know where you l<!-- -->ive.</p>"),
    "a megabyte of html comment first": (
        "Content-Type: text/html",
        "<!-- x -->\n" * 100_000 + f"<p>{THREAT}</p>",
    ),
}


@pytest.mark.parametrize("place", sorted(HIDING_PLACES))
async def test_a_threat_is_found_wherever_a_client_would_show_it(
    relay: Relay, downstream: Downstream, place: str
) -> None:
    content_head, body = HIDING_PLACES[place]
    raw = message(plain_head(extra=content_head), body)
    response = await submit(relay.port("submission"), REYES, [PATEL], raw)
    assert "held" in response, place
    decision = archive_rows(relay.settings.archive.url, "decision")[-1]["payload"]
    assert "threat" in {f["category"] for f in decision["findings"]}, place


@pytest.mark.parametrize(
    "shape",
    [
        multipart("mixed", *["Content-Type: text/plain\n\nok"] * 520),  # more parts than are walked
        (
            "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b0",
            "".join(f"--b{i}\nContent-Type: multipart/mixed; boundary=b{i + 1}\n\n" for i in range(40))
            + "--b40--",
        ),
        ("Content-Type: text/plain", "--\n" * 30_000 + THREAT),  # the text after them was never read
    ],
    ids=["520 parts", "nesting 40 deep", "30,000 boundary-like lines"],
)
async def test_a_message_the_reader_cannot_read_whole_is_held(
    relay: Relay, downstream: Downstream, shape: tuple[str, str]
) -> None:
    content_head, body = shape
    response = await submit(
        relay.port("submission"), REYES, [PATEL], message(plain_head(extra=content_head), body)
    )
    assert "held" in response
    decision = archive_rows(relay.settings.archive.url, "decision")[-1]["payload"]
    assert [f["rule"] for f in decision["findings"]] == ["content.unread"]


# --- no message stalls the others ---------------------------------------------------------------------------


async def test_other_sessions_are_answered_while_crafted_messages_are_decided(
    relay: Relay, downstream: Downstream
) -> None:
    crafted = [
        "Sam Patel is stupid. Mr. Wu is an idiot.\n" * 2_500,  # 100 KB of insults at named people
        "Call 312-555-0199.\n" * 5_500,  # 100 KB of numbers, a sentence each
        "you are such a stupid idiot loser and\n" * 27_000,  # 1 MB, one sentence
    ]
    idle = aiosmtplib.SMTP(hostname="127.0.0.1", port=relay.port("submission"), timeout=10)
    await idle.connect()
    await idle.login(REYES, PASSWORD)

    async def noops() -> float:
        slowest = 0.0
        while True:
            started = time.perf_counter()
            await idle.noop()
            slowest = max(slowest, time.perf_counter() - started)
            if sending.done():
                return slowest
            await asyncio.sleep(0.05)

    began = time.perf_counter()
    sending = asyncio.gather(
        *(submit(relay.port("submission"), REYES, [PATEL], compose(REYES, [PATEL], body=b)) for b in crafted)
    )
    slowest = await noops()
    replies = await sending
    took = time.perf_counter() - began
    idle.close()
    assert all("held" in reply for reply in replies)
    # Deciding inline stalled every session for the whole decision of the 1 MB message, most of the time the
    # three took (25 s on a fast machine); off the loop, a session waits only for its turn at the GIL beside
    # three deciding threads (a regex holds it for its whole match): 0.5-1.1 s on two shared cores of a fast
    # machine, three times that on a slow one. So the bound is 2 s, or half the time the messages took
    # on a machine slow enough to need more: room for those turns, none for a stall.
    assert slowest < max(2.0, took / 2), (slowest, took)


# --- pictures of students, whatever they are called -------------------------------------------------------

# A camera's JPEG: SOI, an APP1 segment holding the EXIF block cameras and phones write, then EOI.
CAMERA_JPEG = (
    b"\xff\xd8\xff\xe1\x00\x16Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
)


def attached(filename: str, content_type: str, data: bytes, *, inline: bool = False) -> tuple[str, str]:
    disposition = "inline" if inline else "attachment"
    part = (
        f"Content-Type: {content_type}\nContent-Transfer-Encoding: base64\n"
        f'Content-Disposition: {disposition}; filename="{filename}"\n\n' + base64.encodebytes(data).decode()
    )
    return multipart("mixed", "Content-Type: text/plain\n\nFrom Saturday, see attached.", part)


def zipped(*members: tuple[str, bytes]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


PICTURES = {
    "octet-stream": attached("scan", "application/octet-stream", CAMERA_JPEG),
    ".dat": attached("notes.dat", "application/octet-stream", CAMERA_JPEG),
    "a zip of photos": attached(
        "saturday.zip", "application/zip", zipped(("a.bin", CAMERA_JPEG), ("b.txt", b"hi"))
    ),
    "a photo named chart.jpg": attached("chart.jpg", "image/jpeg", CAMERA_JPEG),
    "an inline data: image": (
        "Content-Type: text/html",
        '<p>From Saturday:</p><img src="data:image/jpeg;base64,'
        + base64.b64encode(CAMERA_JPEG).decode()
        + '">',
    ),
}


@pytest.mark.parametrize("shape", sorted(PICTURES))
async def test_a_photo_is_judged_by_its_bytes_not_its_name(
    relay: Relay, downstream: Downstream, shape: str
) -> None:
    content_head, body = PICTURES[shape]
    response = await submit(
        relay.port("submission"), REYES, [PATEL], message(plain_head(extra=content_head), body)
    )
    assert "held" in response, shape
    decision = archive_rows(relay.settings.archive.url, "decision")[-1]["payload"]
    assert "media_consent" in {f["category"] for f in decision["findings"]}, shape


async def test_a_chart_from_a_spreadsheet_still_goes(relay: Relay, downstream: Downstream) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # no camera metadata
    content_head, body = attached("chart.png", "image/png", png)
    response = await submit(
        relay.port("submission"), REYES, [PATEL], message(plain_head(extra=content_head), body)
    )
    assert "held" not in response
