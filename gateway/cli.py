"""The `chaperone` command. Each command group lives in gateway/commands/ and registers itself here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from gateway.commands import COMMAND_GROUPS
from gateway.config import ConfigError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chaperone", description="District compliance relay")
    parser.add_argument("--config", help="TOML config file (default: $CHAPERONE_CONFIG, else built-in)")
    groups = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in COMMAND_GROUPS:
        register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except ConfigError as exc:
        print(f"chaperone: config error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
