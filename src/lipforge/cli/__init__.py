"""The `lipforge` command: one Typer app; each command group lives in its own module here.

Every command catches `LipforgeError` in one place (`main`) and prints `Error: …`
with the error's exit code; a traceback is shown only with `--debug`. Exit statuses
are the ones in `cli/exits.py` (shown by `--help`). Ctrl-C, SIGTERM and SIGHUP all
raise KeyboardInterrupt, so a command cleans up the same way for each (exit 130).

START-UP RULE (tests/cli/test_startup.py holds it): `lipforge --help` imports every module
in COMMAND_MODULES, so a command module imports at its top only the standard library,
typer, `lipforge.cli`, `lipforge.cli.exits`, `lipforge.config` and `lipforge.errors`.
Everything else (rich, httpx, numpy, av, SQLAlchemy, the API app, the pipeline,
onnxruntime...) is imported inside the command function that needs it:

    @app.command()
    def voices(...) -> None:
        from lipforge.speech.voices import list_voices   # here, not at the top
"""

from __future__ import annotations

import importlib
import signal
import sys

import typer

from lipforge.cli.exits import EXIT_CODES_HELP, EXIT_INTERRUPTED, EXIT_SOME_FAILED, EXIT_USAGE
from lipforge.errors import LipforgeError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    epilog=EXIT_CODES_HELP,
)

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

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
TYPE_METAVARS = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "path": "PATH"}


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"lipforge {version('lipforge')}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="print the version"
    ),
) -> None:
    """LipForge: lip-sync face videos to speech or scripts, here (run) or on a server (submit)."""


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        try:
            importlib.import_module(f"lipforge.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"lipforge.cli.{name}":
                raise


def _stop_like_ctrl_c(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def install_stop_signals() -> None:
    """Ctrl-C, SIGTERM and SIGHUP all raise KeyboardInterrupt in the main thread."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in STOP_SIGNALS:
        signal.signal(signum, _stop_like_ctrl_c)


def tidy_help(command) -> None:
    """Plain metavars (PATH, TEXT) instead of `<list[Path]>`, and no `--no-no-x` switches."""
    for param in command.params:
        if getattr(param, "param_type_name", "") == "argument":
            param.metavar = param.metavar or param.name.upper()
            param.display_type_rich = _no_type  # the name says it: FILES, not FILES <list[Path]>
        if getattr(param, "param_type_name", "") == "option":
            if param.is_flag and param.default is False:  # --x, not --x / --no-x [default: no-x]
                param.secondary_opts, param.show_default = [], False
            param.secondary_opts = [o for o in param.secondary_opts if not o.startswith("--no-no-")]
            if param.metavar is None and not param.is_flag:
                param.metavar = _metavar(param)
    for sub in getattr(command, "commands", {}).values():
        tidy_help(sub)


def _no_type(ctx: object = None) -> None:
    return None


def _metavar(param) -> str:
    try:
        label = param.display_type(None).strip("<>")
    except Exception:  # noqa: BLE001 - a label is cosmetic; the option still works
        return "VALUE"
    if label.startswith("list[") and label.endswith("]"):
        label = label[len("list[") : -1]
    label = label.removesuffix(" range")  # the range itself is shown as [x>=1]
    return TYPE_METAVARS.get(label.lower(), label.upper())


def main() -> None:
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    install_stop_signals()
    try:
        _register_commands()
        command = typer.main.get_command(app)
        tidy_help(command)
        status = command.main(prog_name="lipforge", standalone_mode=False)
    except (KeyboardInterrupt, typer.Abort):
        typer.echo("Interrupted.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except typer.TyperException as exc:  # a usage error: bad option, missing argument
        exc.show()
        sys.exit(getattr(exc, "exit_code", EXIT_USAGE))
    except LipforgeError as exc:
        if debug:
            raise
        typer.echo(f"{typer.style('Error:', fg='red', bold=True)} {exc}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug: one line for the user, the traceback with --debug
        if debug:
            raise
        typer.echo(f"Error: unexpected {type(exc).__name__}: {exc} (--debug shows where)", err=True)
        sys.exit(EXIT_SOME_FAILED)
    sys.exit(status if isinstance(status, int) else 0)
