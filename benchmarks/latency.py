"""Chaperone's added latency per message, read from its own archive: from acceptance (the message record)
to the last copy recorded as delivered downstream. Waits for the queue to drain first."""

from __future__ import annotations

import sqlite3
import sys
import time
from datetime import datetime


def main(db: str, expected: int, label: str = "added latency", last: int = 0) -> None:
    """Wait for ``expected`` messages to be accepted and delivered, then print the latency percentiles
    of all of them, or of the ``last`` ones accepted."""
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
    measured = sorted(accepted_at, key=accepted_at.__getitem__)[-last:] if last else list(accepted_at)
    latencies = sorted(
        (delivered_at[m] - accepted_at[m]).total_seconds() * 1000 for m in measured if m in delivered_at
    )
    if not latencies:
        print(f"{label + ':':<20}no deliveries recorded")
        return
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"{label + ':':<20}p50 {p50:.0f} ms, p99 {p99:.0f} ms "
        f"(accepted -> delivered, {len(latencies)} messages)"
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:4], *map(int, sys.argv[4:5]))
