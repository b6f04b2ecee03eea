"""Memory a relay process needs for large messages: peak RSS while N clients upload M-byte messages at once.

    .venv/bin/python benchmarks/memory.py [--clients 6] [--size 18000000]

Runs the relay in this process (Maildir delivery in a temporary folder, the sample district), sends the
messages in parallel through real SMTP sessions, and prints the resident set before and at its peak
(VmHWM), the peak per message byte in flight, and how many uploads were told to come back later (452 4.3.1)
because the budget of bytes in flight (`[smtp] max_bytes_in_flight`) was full.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import tempfile
from pathlib import Path

import aiosmtplib

from adapters.roster_import import import_roster
from gateway.config import Settings
from gateway.credentials import StaffCredentials
from gateway.service import running_relay

SHARED = Path(__file__).resolve().parents[2] / "shared"
SENDER, STUDENT, PASSWORD = "dreyes@nusd.example.org", "spatel@students.nusd.example.org", "bench-password"


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _message(size: int) -> bytes:
    # A photo-sized attachment, base64 as mail clients send it, under a short text.
    payload = base64.encodebytes(bytes(size * 3 // 4)).replace(b"\n", b"\r\n")
    head = (
        f"From: {SENDER}\r\nTo: {STUDENT}\r\nSubject: Lab photos\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
        "Scans of the lab worksheet.\r\n--b\r\nContent-Type: application/pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode()
    return head + payload + b"--b--\r\n"


async def _send(port: int, message: bytes) -> str:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=300)
    await client.connect()
    try:
        await client.login(SENDER, PASSWORD)
        await client.sendmail(SENDER, [STUDENT], message)
        return "accepted"
    except aiosmtplib.SMTPResponseException as refused:
        return f"{refused.code} {refused.message[:20]}"
    finally:
        client.close()


async def main(clients: int, size: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        settings = Settings(
            data_dir=data,
            archive={"url": f"sqlite:///{data / 'archive.db'}"},  # type: ignore[arg-type]
            smtp={"submission": "127.0.0.1:0", "inbound": "", "require_tls": False,  # type: ignore[arg-type]
                  "max_message_size": 2 * size},
            delivery={"target": f"maildir:{data / 'maildir'}"},  # type: ignore[arg-type]
        )  # fmt: skip
        StaffCredentials(data).set_password(SENDER, PASSWORD)
        directory = import_roster(SHARED / "district-sample").directory
        message = _message(size)
        async with running_relay(settings, directory) as relay:
            await _send(relay.port("submission"), _message(1000))  # warm up
            before = _status("VmRSS")
            outcomes = await asyncio.gather(
                *(_send(relay.port("submission"), message) for _ in range(clients))
            )
            peak = _status("VmHWM")
        budget = settings.smtp.max_bytes_in_flight
        print(f"clients:            {clients} x {len(message):,} bytes at once (budget {budget:,} bytes)")
        counts = {outcome: outcomes.count(outcome) for outcome in sorted(set(outcomes))}
        print(f"outcomes:           {', '.join(f'{n} {outcome}' for outcome, n in counts.items())}")
        print(f"RSS before:         {before / 2**20:.0f} MiB")
        print(f"RSS peak:           {peak / 2**20:.0f} MiB")
        accepted = max(1, outcomes.count("accepted"))
        in_flight = min(accepted * len(message), budget)
        print(f"peak per byte:      {(peak - before) / in_flight:.1f} bytes of memory per byte in flight")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--size", type=int, default=18_000_000)
    args = parser.parse_args()
    asyncio.run(main(args.clients, args.size))
