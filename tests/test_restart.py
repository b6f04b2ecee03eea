"""Durability: a relay killed between its 250 and delivery delivers after restart, exactly once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, SAMPLE_DISTRICT, Downstream, archive_url
from tests.mail import submit
from tests.relay_process import chaperone, free_port, start_relay

REYES = "dreyes@nusd.example.org"
OKAFOR = "cokafor@nusd.example.org"


@pytest.mark.slow
@pytest.mark.relay_in_other_processes
async def test_killed_after_250_delivers_after_restart_exactly_once(
    tmp_path: Path, downstream: Downstream
) -> None:
    port = free_port()
    config = tmp_path / "chaperone.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\n'
        f'[archive]\nurl = "{archive_url(tmp_path)}"\n'
        f'[smtp]\nsubmission = "127.0.0.1:{port}"\ninbound = "127.0.0.1:0"\nrequire_tls = false\n'
        f'[delivery]\ntarget = "smtp://127.0.0.1:{downstream.port}"\nfirst_retry_seconds = 0.2\n'
        "max_retry_seconds = 0.3\n",
        encoding="utf-8",
    )
    await asyncio.to_thread(chaperone, config, "roster", "import", str(SAMPLE_DISTRICT))
    await asyncio.to_thread(
        chaperone, config, "staff", "set-password", REYES, "--password-stdin", stdin=PASSWORD + "\n"
    )

    downstream.data_replies = ["451 4.3.0 not yet"] * 1000  # nothing gets through before the crash
    process = await start_relay(config, port)
    try:
        response = await submit(port, REYES, [OKAFOR])
        assert response.startswith("2.0.0 Accepted")
    finally:
        process.kill()  # SIGKILL: no shutdown code runs
        await process.wait()
    assert downstream.received == []

    downstream.data_replies.clear()
    process = await start_relay(config, port)
    try:
        received = await downstream.wait_for(1, within=20)
        assert [r.rcpt_tos for r in received] == [[OKAFOR]]
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 20)

    # A third start finds the copy recorded as sent and sends nothing again.
    process = await start_relay(config, port)
    try:
        await asyncio.sleep(1.0)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 20)
    assert len(downstream.received) == 1
