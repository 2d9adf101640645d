"""The `leadstate` command. Each service module registers its own sub-commands; wiring stays lazy so
that `leadstate --help` imports nothing heavy and a bad setting is one line, exit code 2."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from services.common.devrecord import attach_dev_stack
from services.common.settings import Settings, SettingsError, exit_on_settings_error, load_settings

# Modules with `register(subparsers)`; each sub-command sets `func(args, settings) -> int | None` and,
# when it needs infrastructure, `needs` (devrecord.DATABASE, BROKER, URLS): what the environment does
# not configure is taken from the running `leadstate dev`, or the command stops with one line.
COMMAND_MODULES = ("services.stack.commands", "services.qualifier.commands", "services.handoff.commands")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leadstate",
        description="Event-driven lead state with explainable MQLs and a closed loop with sales.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace, Settings], int | None] = args.func
    try:
        settings = attach_dev_stack(load_settings(), getattr(args, "needs", ()))
        code = func(args, settings)
    except SettingsError as error:
        exit_on_settings_error(error)
    except KeyboardInterrupt:
        code = 130
    sys.exit(code or 0)


if __name__ == "__main__":
    main()
