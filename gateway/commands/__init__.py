"""Command groups of the `chaperone` CLI: adding a command means adding a module and one line here."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from gateway.commands import (
    archive_cmd,
    config_cmd,
    db_cmd,
    policy_cmd,
    portal_cmd,
    review_cmd,
    roster_cmd,
    serve_cmd,
    sms_cmd,
    staff_cmd,
)

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

COMMAND_GROUPS: list[Register] = [
    config_cmd.register,
    serve_cmd.register,
    roster_cmd.register,
    staff_cmd.register,
    review_cmd.register,
    policy_cmd.register,
    db_cmd.register,
    sms_cmd.register,
    archive_cmd.register,
    portal_cmd.register,
]
