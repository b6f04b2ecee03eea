"""Chaperone's added latency per message, read from its own archive through the store interface: from
acceptance (the message record) to the last copy recorded as delivered downstream. Waits for the queue to
drain first. With --since (when the load began, epoch seconds) it also prints the end-to-end rate: the
messages measured over the time until their last copy reached the sink.

    .venv/bin/python benchmarks/latency.py ARCHIVE_URL EXPECTED [LABEL] [LAST] [--since EPOCH]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import datetime

from archive.backends import open_store


async def main(url: str, expected: int, label: str, last: int, since: float | None) -> None:
    store = open_store(url)
    await store.start()
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            accepted = await store.count_records("message")
            if accepted >= expected and await store.next_due_at() is None:
                break
            await asyncio.sleep(0.1)
        records = await store.records(kinds=("message", "delivery.done"))
    finally:
        await store.close()
    accepted_at: dict[str, datetime] = {}
    delivered_at: dict[str, datetime] = {}
    for record in records:
        if record.message_id is None:
            continue
        moment = datetime.fromisoformat(record.recorded_at)
        if record.kind == "message":
            accepted_at[record.message_id] = moment
        else:
            delivered_at[record.message_id] = max(moment, delivered_at.get(record.message_id, moment))
    measured = sorted(accepted_at, key=accepted_at.__getitem__)[-last:] if last else list(accepted_at)
    latencies = sorted(
        (delivered_at[m] - accepted_at[m]).total_seconds() * 1000 for m in measured if m in delivered_at
    )
    if not latencies:
        print(f"{label + ':':<20}no deliveries recorded")
        return
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    line = f"{label + ':':<20}p50 {p50:.0f} ms, p99 {p99:.0f} ms"
    line += f" (accepted -> delivered, {len(latencies)} messages)"
    if since is not None:
        done = max(delivered_at[m] for m in measured if m in delivered_at).timestamp()
        line += f"; end to end {len(latencies) / (done - since):.0f} msg/s"
    print(line)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("expected", type=int)
    parser.add_argument("label", nargs="?", default="added latency")
    parser.add_argument("last", nargs="?", type=int, default=0)
    parser.add_argument("--since", type=float)
    args = parser.parse_args()
    asyncio.run(main(args.url, args.expected, args.label, args.last, args.since))
