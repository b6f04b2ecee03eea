"""Inbound webhook throughput: texts posted to /twilio/sms as Twilio posts them (each signed), through
signature validation, the session lookup, the policy engine and a durable commit, with the relay's own
delivery of every copy (the development outbox) running alongside.

The relay runs as `chaperone serve` in processes of its own; the load comes from a second process: an
aiohttp client pool of CONCURRENCY connections posting TEXTS replies from a student into one conversation,
each with its own MessageSid, or (LOAD=wrk) Debian's wrk posting requests signed beforehand. Prints
requests/s and p50/p99 response time.

    LOAD=wrk PROCESSES=2 .venv/bin/python benchmarks/sms_webhook.py
    STORE=postgresql .venv/bin/python benchmarks/sms_webhook.py   # TEXTS=5000 CONCURRENCY=32 PROCESSES=1
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import asyncpg
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[1]
CHAPERONE = str(ROOT / ".venv" / "bin" / "chaperone")
TEXTS = int(os.environ.get("TEXTS", "5000"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "32"))
STORE = os.environ.get("STORE", "sqlite")
PROCESSES = int(os.environ.get("PROCESSES", "1"))
LOAD = os.environ.get(
    "LOAD", "aiohttp"
)  # or "wrk": Debian's wrk, lighter on the shared cores  # acceptance processes, each serving the webhooks
POSTGRES = os.environ.get("POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
TOKEN = "benchmark-auth-token"
PUBLIC = "https://relay.nusd.example.org"
REYES, PATEL, MAIN = "+12025550111", "+12025550121", "+12025550105"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def archive_url(work: Path) -> str:
    if STORE == "sqlite":
        return f"sqlite:///{work / 'archive.db'}"
    name = "chaperone_bench_" + secrets.token_hex(4)
    admin = await asyncpg.connect(POSTGRES)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return POSTGRES.rsplit("/", 1)[0] + "/" + name


def write_config(work: Path, web: int, url: str) -> Path:
    config = work / "chaperone.toml"
    config.write_text(
        f"""data_dir = "{work}"
[roster]
path = "{ROOT.parent / "shared" / "district-sample"}"
[archive]
url = "{url}"
[smtp]
submission = "127.0.0.1:{free_port()}"
inbound = ""
require_tls = false
processes = {PROCESSES}
[delivery]
target = "maildir:{work}/maildir"
[logging]
level = "warning"
[sms]
relay_numbers = ["+12025550105", "+12025550106", "+12025550107", "+12025550108", "+12025550109"]
provider = "outbox:{work}/outbox.jsonl"
public_url = "{PUBLIC}"
[web]
listen = "127.0.0.1:{web}"
"""
    )
    return config


async def post(session: aiohttp.ClientSession, port: int, validator: RequestValidator, sender: str, to: str,
               body: str) -> float:  # fmt: skip
    form = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "From": sender,
        "To": to,
        "Body": body,
        "NumMedia": "0",
    }
    signature = validator.compute_signature(PUBLIC + "/twilio/sms", form)
    started = time.perf_counter()
    async with session.post(
        f"http://127.0.0.1:{port}/twilio/sms", data=form, headers={"X-Twilio-Signature": signature}
    ) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"{response.status}: {await response.text()}")
    return time.perf_counter() - started


_WRK_SCRIPT = """
local signatures, bodies, n = {}, {}, 0
for line in io.lines(os.getenv("REQUESTS")) do
  local signature, body = line:match("^(%S+) (.*)$")
  signatures[#signatures + 1], bodies[#bodies + 1] = signature, body
end
request = function()
  n = n + 1
  if n > #bodies then n = 1 end
  return wrk.format("POST", "/twilio/sms", {["Content-Type"] = "application/x-www-form-urlencoded",
                                           ["X-Twilio-Signature"] = signatures[n]}, bodies[n])
end
"""


def run_wrk(work: Path, port: int, validator: RequestValidator, number: str) -> str:
    """Debian's wrk (C, one thread) as the load, so that the load takes less of the two cores than an
    aiohttp pool: WRK_TEXTS requests signed beforehand, each its own MessageSid, for WRK_SECONDS."""
    if shutil.which("wrk") is None:  # as benchmarks/relay.sh installs postfix
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env={**os.environ,
                       "DEBIAN_FRONTEND": "noninteractive"}, stdout=subprocess.DEVNULL)  # fmt: skip
    seconds, count = int(os.environ.get("WRK_SECONDS", "10")), int(os.environ.get("WRK_TEXTS", "40000"))
    requests = work / "requests.txt"
    with requests.open("w") as out:
        for n in range(count):
            form = {"MessageSid": "SM" + secrets.token_hex(16), "From": PATEL, "To": number,
                    "Body": f"ok see you at practice {n}", "NumMedia": "0"}  # fmt: skip
            out.write(f"{validator.compute_signature(PUBLIC + '/twilio/sms', form)} {urlencode(form)}\n")
    script = work / "texts.lua"
    script.write_text(_WRK_SCRIPT)
    done = subprocess.run(
        ["wrk", "-t1", f"-c{CONCURRENCY}", f"-d{seconds}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}/twilio/sms"],
        env={**os.environ, "REQUESTS": str(requests)}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    rate = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    total = re.search(r"(\d+) requests in", done.stdout)
    p50 = re.search(r"50%\s+(\S+)", done.stdout)
    p99 = re.search(r"99%\s+(\S+)", done.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    if not (rate and total and p50 and p99) or errors or int(total.group(1)) > count:
        return "wrk gave no clean result:\n" + done.stdout
    texts = total.group(1)
    return f"{float(rate.group(1)):.0f} requests/s, p50 {p50.group(1)}, p99 {p99.group(1)} ({texts} texts)"


async def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="chaperone-sms-bench-"))
    web = free_port()
    config = write_config(work, web, await archive_url(work))
    env = {**os.environ, "CHAPERONE_SMS__AUTH_TOKEN": TOKEN}
    subprocess.run([CHAPERONE, "--config", str(config), "roster", "import"], check=True, env=env,  # noqa: ASYNC221
                   stdout=subprocess.DEVNULL)  # fmt: skip
    relay = subprocess.Popen([CHAPERONE, "--config", str(config), "serve"], env=env)  # noqa: ASYNC220
    if os.environ.get("PROFILE"):  # py-spy's flame graph of the relay under this load, into PROFILE
        subprocess.Popen(  # noqa: ASYNC220
            ["py-spy", "record", "-p", str(relay.pid), "-o", os.environ["PROFILE"], "-d", "25", "-f", "raw"]
        )
    validator = RequestValidator(TOKEN)
    try:
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:
            for _ in range(200):
                try:
                    async with session.get(f"http://127.0.0.1:{web}/healthz") as ready:
                        if ready.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            await post(session, web, validator, REYES, MAIN, "@spatel Practice moved to 4pm")
            await asyncio.sleep(1.0)
            lines = (work / "outbox.jsonl").read_text().splitlines()
            number = next(t["from"] for t in map(json.loads, lines) if t["to"] == PATEL)
            for n in range(200):  # warm-up, not counted
                await post(session, web, validator, PATEL, number, f"warm-up {n}")
            if LOAD == "wrk":
                report = await asyncio.to_thread(run_wrk, work, web, validator, number)
                print(f"store={STORE} processes={PROCESSES} load=wrk concurrency={CONCURRENCY}: {report}")
                return
            waiting = asyncio.Semaphore(CONCURRENCY)

            async def one(n: int) -> float:
                async with waiting:
                    return await post(session, web, validator, PATEL, number, f"ok see you at practice {n}")

            started = time.perf_counter()
            times = await asyncio.gather(*(one(n) for n in range(TEXTS)))
            elapsed = time.perf_counter() - started
    finally:
        relay.terminate()
        relay.wait(timeout=30)
    times = sorted(times)
    p50, p99 = statistics.median(times) * 1000, times[int(len(times) * 0.99)] * 1000
    print(f"store={STORE} processes={PROCESSES} texts={TEXTS} concurrency={CONCURRENCY}: "
          f"{TEXTS / elapsed:.0f} requests/s, "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
