"""Command groups of the `chaperone` CLI: adding a command means adding a module and one line here."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from gateway.commands import config_cmd

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

COMMAND_GROUPS: list[Register] = [
    config_cmd.register,
]
