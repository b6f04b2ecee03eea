"""A steady load instead of a burst: MESSAGES messages at RATE per second over SESSIONS connections, from
the staff member the benchmark relay trusts on loopback (no AUTH), to a rostered minor.

    .venv/bin/python benchmarks/paced.py PORT RATE MESSAGES [SESSIONS] [SIZE]
"""

from __future__ import annotations

import asyncio
import sys
import time

import aiosmtplib

SENDER = "dreyes@nusd.example.org"
STUDENT = "spatel@students.nusd.example.org"


async def main(port: int, rate: float, messages: int, sessions: int = 4, size: int = 2048) -> None:
    body = ("x" * 76 + "\r\n") * max(1, size // 78)
    message = f"From: {SENDER}\r\nTo: {STUDENT}\r\nSubject: paced\r\n\r\n{body}".encode()
    started = time.monotonic()
    turns = asyncio.Queue[int]()
    for number in range(messages):
        turns.put_nowait(number)

    async def session() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=30)
        await client.connect()
        try:
            while not turns.empty():
                number = turns.get_nowait()
                await asyncio.sleep(max(0.0, started + number / rate - time.monotonic()))
                await client.sendmail(SENDER, [STUDENT], message)
        finally:
            client.close()

    await asyncio.gather(*(session() for _ in range(sessions)))
    print(f"{messages / (time.monotonic() - started):.0f}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), *map(int, sys.argv[4:6])))
