"""`chaperone config check`: validate the configuration and print it with secrets masked."""

from __future__ import annotations

import argparse
import json

from gateway.config import load_settings, masked


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = groups.add_parser("config", help="inspect the configuration")
    actions = config.add_subparsers(dest="action", required=True)
    check = actions.add_parser("check", help="validate and print the effective config, secrets masked")
    check.set_defaults(run=_check)


def _check(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    print(json.dumps(masked(settings), indent=2, default=str))
    return 0
