"""Every request the relay makes to Twilio, checked against Twilio's own OpenAPI description of the
2010-04-01 API: Stoplight Prism (installed by the Makefile) serves a validating mock from
../shared/vendor/twilio-oai/ and answers 422 to any request the spec does not allow."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from twilio.base.exceptions import TwilioException

from adapters.sms_transport import TwilioTransport
from archive.records import RecordKind
from gateway.config import Settings
from gateway.directory import Directory
from gateway.media_links import MediaLinks
from gateway.outbound import OutboundText
from tests.conftest import SHARED, Downstream, archive_url
from tests.mail import archive_rows, eventually
from tests.sms import MAIN, PATEL, PUBLIC_URL, REYES, sms_relay, sms_settings, text

PRISM = Path(__file__).resolve().parents[1] / ".venv" / "prism" / "node_modules" / ".bin" / "prism"
SPEC = SHARED / "vendor" / "twilio-oai" / "twilio_api_v2010.json"
ACCOUNT = "AC" + "0123456789abcdef" * 2


@pytest.fixture(scope="module")
def prism() -> Iterator[str]:
    assert PRISM.exists(), f"{PRISM} is missing: `make .venv/.dev` installs Stoplight Prism"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [str(PRISM), "mock", "--errors", "-h", "127.0.0.1", "-p", str(port), str(SPEC)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:  # it lists every route, then says it is listening
            if "Prism is listening" in line:
                break
        else:
            raise AssertionError("Prism stopped before listening")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def twilio_settings(tmp_path: Path, port: int, base_url: str) -> Settings:
    twilio = {
        "provider": "twilio",
        "account_sid": ACCOUNT,
        "api_base_url": base_url,
        "segments_per_second": 50,
    }
    return sms_settings(tmp_path, port, sms=twilio)


@pytest.fixture
async def transport(tmp_path: Path, prism: str) -> AsyncIterator[TwilioTransport]:
    async def at_once(number: str, seconds: float, now: float) -> float:  # pacing is not under test here
        return now

    made = TwilioTransport(twilio_settings(tmp_path, 25, prism), MediaLinks("secret", PUBLIC_URL), at_once)
    try:
        yield made
    finally:
        await made.close()


async def test_sending_a_text_is_a_request_twilio_s_spec_allows(transport: TwilioTransport) -> None:
    [outcome] = await transport.send(MAIN, [PATEL], OutboundText("Practice moved to 4pm 👍").to_bytes())
    assert outcome.code == 250 and outcome.provider_id and outcome.provider_id.startswith("SM"), outcome


async def test_looking_up_a_text_whose_answer_was_lost_is_a_request_the_spec_allows(
    transport: TwilioTransport,
) -> None:
    key = "a lost answer"
    transport._unsure[key] = time.time()
    # Prism checks the request (To, From, DateSent>, PageSize) and then its own example answer, whose
    # page URIs are not the absolute URIs the spec's "format: uri" asks for: it reports that as a 500 whose
    # violations all lie in the response. A request violation would be listed under "request" or "query".
    with pytest.raises(TwilioException) as answered:
        await transport._sent_before(key, MAIN, PATEL, "Practice moved to 4pm")
    violations = json.loads(str(answered.value).partition("HTTP 500 ")[2].rstrip(")"))["validation"]
    assert violations and all(v["location"][0] == "response" for v in violations), violations


async def test_the_relay_s_texts_through_prism_are_accepted_and_wait_for_their_callbacks(
    tmp_path: Path, downstream: Downstream, directory: Directory, prism: str
) -> None:
    settings = twilio_settings(tmp_path, downstream.port, prism)
    url = archive_url(tmp_path)
    async with sms_relay(settings, directory) as relay:
        await text(relay, REYES, MAIN, "@spatel Bus leaves at 7")
        await eventually(lambda: len(archive_rows(url, RecordKind.DELIVERY_ACCEPTED)) == 3, within=15)
    attempts = [o for r in archive_rows(url, RecordKind.DELIVERY_ATTEMPT) for o in r["payload"]["outcomes"]]
    assert all(o["code"] == 250 for o in attempts if o["recipient"].startswith("+")), attempts
