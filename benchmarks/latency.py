"""Chaperone's added latency per message, read from its own archive: from acceptance (the message record)
to the last copy recorded as delivered downstream. Waits for the queue to drain first."""

from __future__ import annotations

import sqlite3
import sys
import time
from datetime import datetime


def main(db: str, expected: int) -> None:
    connection = sqlite3.connect(db)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        pending = connection.execute("SELECT COUNT(*) FROM deliveries WHERE state = 'pending'").fetchone()[0]
        accepted = connection.execute("SELECT COUNT(*) FROM records WHERE kind = 'message'").fetchone()[0]
        if accepted >= expected and pending == 0:
            break
        time.sleep(0.2)
    rows = connection.execute(
        "SELECT message_id, kind, recorded_at FROM records WHERE kind IN ('message', 'delivery.done')"
    ).fetchall()
    accepted_at: dict[str, datetime] = {}
    delivered_at: dict[str, datetime] = {}
    for message_id, kind, recorded_at in rows:
        moment = datetime.fromisoformat(recorded_at)
        if kind == "message":
            accepted_at[message_id] = moment
        else:
            delivered_at[message_id] = max(moment, delivered_at.get(message_id, moment))
    latencies = sorted(
        (delivered_at[m] - accepted_at[m]).total_seconds() * 1000 for m in delivered_at if m in accepted_at
    )
    if not latencies:
        print("added latency:      no deliveries recorded")
        return
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"added latency:      p50 {p50:.0f} ms, p99 {p99:.0f} ms "
        f"(accepted -> delivered, {len(latencies)} messages)"
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
