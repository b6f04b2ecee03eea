"""[smtp] processes = 2: a supervisor, two acceptance processes sharing the port and one delivery process.

Real processes, a real downstream server: every copy arrives exactly once whichever process accepted it,
a killed acceptance process is replaced while the other keeps serving, and no child outlives the
supervisor, however it ends. The delivery process polls the queue only once a minute here: copies
arrive in time only because the acceptance processes ring its doorbell.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, SAMPLE_DISTRICT, Downstream, archive_url
from tests.mail import submit
from tests.relay_process import chaperone, free_port, start_relay

REYES = "dreyes@nusd.example.org"
OKAFOR = "cokafor@nusd.example.org"
pytestmark = [pytest.mark.slow, pytest.mark.relay_in_other_processes]


def children_of(pid: int) -> dict[int, str]:
    """The live children of ``pid`` and their role (the last word of their command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # exited while we looked
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(entry.name)] = command[-2].decode() if len(command) > 1 else ""
    return found


def nice_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


async def until(check: Callable[[], bool], within: float = 20.0) -> None:
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110 - the state lives in other processes
            await asyncio.sleep(0.05)


def roles(pid: int) -> list[str]:
    return sorted(children_of(pid).values())


def listening_sockets(port: int) -> int:
    """How many sockets listen on ``port``: one, bound by the supervisor and shared by its children."""
    wanted = f":{port:04X}"
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            count += local.endswith(wanted) and state == "0A"  # 0A: LISTEN
    return count


@pytest.fixture
async def supervisor(
    tmp_path: Path, downstream: Downstream
) -> AsyncIterator[tuple[asyncio.subprocess.Process, int]]:
    port = free_port()
    config = tmp_path / "chaperone.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\n'
        f'[archive]\nurl = "{archive_url(tmp_path)}"\n'
        f'[smtp]\nsubmission = "127.0.0.1:{port}"\ninbound = ""\nrequire_tls = false\nprocesses = 2\n'
        f'[delivery]\ntarget = "smtp://127.0.0.1:{downstream.port}"\npoll_seconds = 60\nnice = 5\n',
        encoding="utf-8",
    )
    await asyncio.to_thread(chaperone, config, "roster", "import", str(SAMPLE_DISTRICT))
    await asyncio.to_thread(
        chaperone, config, "staff", "set-password", REYES, "--password-stdin", stdin=PASSWORD + "\n"
    )
    process = await start_relay(config, port)
    await until(lambda: roles(process.pid) == ["acceptance", "acceptance", "delivery"])
    # One queue for both acceptance processes: a connection waits there for whichever is free, so a
    # client is never refused while a process starts or dies.
    await until(lambda: listening_sockets(port) == 1)
    yield process, port
    if process.returncode is None:
        process.kill()
        await process.wait()
    for child in children_of(process.pid):
        os.kill(child, signal.SIGKILL)


async def test_every_copy_is_delivered_once_whichever_process_accepted_it(
    supervisor: tuple[asyncio.subprocess.Process, int], downstream: Downstream
) -> None:
    process, port = supervisor
    replies = await asyncio.gather(*(submit(port, REYES, [OKAFOR]) for _ in range(40)))
    assert all(reply.startswith("2.0.0 Accepted") for reply in replies)
    accepted = {reply.split()[3].rstrip(";.") for reply in replies}
    received = await downstream.wait_for(40, within=30)
    await asyncio.sleep(0.5)  # nothing more arrives: no copy is sent twice
    assert len(downstream.received) == 40
    delivered = {
        line.split(b":", 1)[1].strip().decode()
        for copy in received
        for line in copy.content.splitlines()
        if line.startswith(b"X-Chaperone-Id:")
    }
    assert delivered == accepted
    delivery = next(pid for pid, role in children_of(process.pid).items() if role == "delivery")
    assert nice_of(delivery) - nice_of(process.pid) == 5


async def test_a_killed_acceptance_process_is_replaced_and_the_other_keeps_serving(
    supervisor: tuple[asyncio.subprocess.Process, int], downstream: Downstream
) -> None:
    process, port = supervisor
    victim = next(pid for pid, role in children_of(process.pid).items() if role == "acceptance")
    os.kill(victim, signal.SIGKILL)
    # At once, before the supervisor has even noticed: every new connection waits in the shared queue and
    # the survivor answers it (with a queue per process, those the kernel gave the victim were refused).
    replies = [await submit(port, REYES, [OKAFOR]) for _ in range(8)]
    assert all(reply.startswith("2.0.0 Accepted") for reply in replies)
    await until(lambda: roles(process.pid) == ["acceptance", "acceptance", "delivery"])
    assert victim not in children_of(process.pid)
    assert (await submit(port, REYES, [OKAFOR])).startswith("2.0.0 Accepted")
    await downstream.wait_for(9, within=30)


async def test_terminating_the_supervisor_stops_every_child(
    supervisor: tuple[asyncio.subprocess.Process, int],
) -> None:
    process, _ = supervisor
    children = children_of(process.pid)
    process.terminate()
    assert await asyncio.wait_for(process.wait(), 30) == 0
    await until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in children))


async def test_children_do_not_outlive_a_killed_supervisor(
    supervisor: tuple[asyncio.subprocess.Process, int],
) -> None:
    process, _ = supervisor
    children = children_of(process.pid)
    process.kill()  # no shutdown code runs in the supervisor: the children notice their pipe close
    await process.wait()
    await until(lambda: not any(_alive(pid) for pid in children))


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
