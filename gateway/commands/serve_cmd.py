"""`chaperone serve` and `chaperone demo`: run the relay until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import secrets
import signal
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

from adapters.roster_import import import_roster
from archive.backends import redacted
from gateway import logs
from gateway.config import Settings, load_settings
from gateway.credentials import StaffCredentials
from gateway.processes import (
    ROLES,
    bind_listeners,
    inherited_listeners,
    stop_when_supervisor_exits,
    supervise,
)
from gateway.roster_snapshot import roster_snapshot_path, save_directory
from gateway.service import Relay, running_delivery, running_relay

DEMO_STAFF = ("t-reyes", "t-okafor", "t-lindqvist", "aide-wu", "a-brooks", "a-nguyen", "a-ellis", "a-field")


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = groups.add_parser("serve", help="run the relay with the configured listeners")
    # Internal: how the supervisor starts its children when [smtp] processes > 1 (gateway/processes.py).
    serve.add_argument("--process", choices=ROLES, help=argparse.SUPPRESS)
    serve.set_defaults(run=_serve)
    demo = groups.add_parser("demo", help="import the sample district and run the relay on it")
    demo.add_argument("--data-dir", default="chaperone-data", help="where the demo keeps its state")
    demo.add_argument("--roster", default=None, help="OneRoster folder (default: the sample district)")
    demo.set_defaults(run=_demo)


def _serve(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    logs.configure(settings.logging.format, settings.logging.level)
    if args.process is not None:
        asyncio.run(_until_signal(partial(_run_child, settings, args.process)))
    elif settings.smtp.processes > 1:
        config = ["--config", args.config] if args.config else []
        command = [sys.executable, "-m", "gateway.cli", *config, "serve", "--process"]
        children = [(f"acceptance-{n}", [*command, "acceptance"]) for n in range(settings.smtp.processes)]
        children.append(("delivery", [*command, "delivery"]))
        sockets = bind_listeners(settings.smtp.listeners)
        asyncio.run(_until_signal(partial(supervise, children, sockets=sockets)))
    else:
        asyncio.run(_run_until_signal(settings, announce=None))
    return 0


DEMO_CONFIG = """# Written by `chaperone demo`: the sample district on this machine, nothing sent anywhere.
data_dir = "{data_dir}"

[roster]
path = "{roster}"

[archive]
url = "sqlite:///{data_dir}/archive.db"

[smtp]
require_tls = false
submission = "127.0.0.1:2525"
inbound = "127.0.0.1:2526"
verify_inbound_senders = false  # the demo runs without DNS: a reply's domain cannot be verified

[delivery]
target = "maildir:{data_dir}/maildir"

[sms]
relay_numbers = ["+12025550105", "+12025550106", "+12025550107", "+12025550108", "+12025550109"]
provider = "outbox:{data_dir}/sms-outbox.jsonl"
public_url = "http://127.0.0.1:8080"

[web]
listen = "127.0.0.1:8080"
public_url = "http://127.0.0.1:8080"
secure_cookies = false  # the demo's portal is plain HTTP on loopback
"""


def _demo(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir).resolve()
    roster = Path(args.roster).resolve() if args.roster else Settings().roster.path.resolve()
    config = data_dir / "chaperone.toml"
    data_dir.mkdir(parents=True, exist_ok=True)
    config.write_text(DEMO_CONFIG.format(data_dir=data_dir.as_posix(), roster=roster.as_posix()))
    settings = load_settings(config)
    logs.configure("console", "info")
    imported = import_roster(settings.roster.path)
    save_directory(imported.directory, roster_snapshot_path(settings))
    password = secrets.token_urlsafe(12)
    credentials = StaffCredentials(settings.data_dir)
    for person_id in DEMO_STAFF:
        person = imported.directory.person(person_id)
        if person is not None and person.email:
            credentials.set_password(person.email, password)
    asyncio.run(_run_until_signal(settings, announce=lambda relay: _print_demo(relay, password)))
    return 0


def _print_demo(relay: Relay, password: str) -> None:
    port = relay.port("submission")
    maildir = relay.settings.delivery.target.removeprefix("maildir:")
    reyes, patel = "dreyes@nusd.example.org", "spatel@students.nusd.example.org"
    message = f"From: {reyes}\\r\\nTo: {patel}\\r\\nSubject: Lab report\\r\\n\\r\\nDue Friday.\\r\\n"
    lines = [
        "",
        f"Chaperone demo is running: submission on 127.0.0.1:{port}, "
        f"replies on 127.0.0.1:{relay.port('inbound')}.",
        f"Fixture staff (dreyes@, cokafor@, mlindqvist@, kwu@, abrooks@ … @nusd.example.org) use: {password}",
        "",
        "Send Dana Reyes's message to Sam Patel (grade 10):",
        "",
        f"  swaks --server 127.0.0.1:{port} --auth LOGIN --auth-user {reyes} --auth-password '{password}' \\",
        f"        --from {reyes} --to {patel} --header 'Subject: Lab report' --body 'Due Friday.'",
        "",
        "or, without swaks:",
        "",
        f"  python3 -c \"import smtplib; s=smtplib.SMTP('127.0.0.1',{port}); "
        f"s.login('{reyes}','{password}'); \\",
        f"s.sendmail('{reyes}',['{patel}'],'{message}')\"",
        "",
        f"Copies land in Maildirs under {maildir}/: Sam ({patel}), his guardians Priya and Raj Patel",
        "(Cc, with a Reply-To conversation address), and principal Alan Brooks (abrooks@nusd.example.org).",
        "Between 21:00 and 06:00 Chicago time quiet hours apply: the copies wait until 06:00 and Dana gets a",
        "notice saying so; add --header 'X-Chaperone-Urgent: reason' to send at once, flagged for review.",
        "",
        f"The portal: http://127.0.0.1:{relay.port('web')}/portal/ (sign in as abrooks@nusd.example.org,",
        "the principal, with the password above: the review queue, search, threads).",
        "",
        "Text Sam from Dana Reyes's phone through the relay number pool (Twilio's webhook, signed as Twilio",
        "signs it); the relay's texts land in " + relay.settings.sms.provider.removeprefix("outbox:") + ":",
        "",
        f"  chaperone --config {relay.settings.data_dir / 'chaperone.toml'} sms simulate \\",
        "        --from +12025550111 '@spatel Practice moved to 4pm'",
        "",
        f"The archive is {redacted(relay.settings.archive.url)}. Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)


async def _run_until_signal(settings: Settings, announce: object) -> None:
    async def serve(stop: asyncio.Event) -> None:
        async with running_relay(settings) as relay:
            _freeze_what_lives_as_long_as_the_relay()
            if callable(announce):
                announce(relay)
            await stop.wait()

    await _until_signal(serve)


async def _run_child(settings: Settings, role: str, stop: asyncio.Event) -> None:
    watch = asyncio.create_task(stop_when_supervisor_exits(stop))
    if role == "delivery":
        os.nice(settings.delivery.nice)
        async with running_delivery(settings):
            await stop.wait()
    else:
        async with running_relay(settings, deliver=False, sockets=inherited_listeners()):
            _freeze_what_lives_as_long_as_the_relay()
            await stop.wait()
    watch.cancel()


def _freeze_what_lives_as_long_as_the_relay() -> None:
    """The roster, the policy engine and the settings, out of the garbage collector's reach: with a
    50,000-student roster every full collection otherwise stopped all sessions for about 55 ms."""
    gc.collect()
    gc.freeze()


async def _until_signal(run: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    await run(stop)
