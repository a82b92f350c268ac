"""The `lipforge` command: one Typer app; each command group lives in its own module here.

Every command catches `LipforgeError` in one place (`main`) and prints `Error: …`
with the error's exit code; a traceback is shown only with `--debug`.
"""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from lipforge.errors import LipforgeError

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
err_console = Console(stderr=True)

COMMAND_MODULES = (
    "run",
    "probe",
    "doctor",
    "serve",
    "worker",
    "upload",
    "submit",
    "models",
    "importer",
    "voices",
    "say",
)


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        try:
            importlib.import_module(f"lipforge.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"lipforge.cli.{name}":
                raise


def main() -> None:
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    _register_commands()
    try:
        app()
    except LipforgeError as exc:
        if debug:
            raise
        err_console.print(f"[bold red]Error:[/] {exc}", highlight=False)
        sys.exit(exc.exit_code)
