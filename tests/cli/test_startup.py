"""How the `lipforge` command starts: fast (no heavy import before a command runs), with a
plain `--help`, documented exit codes, and no traceback when Ctrl-C lands during start-up.

The import test is the guard of the start-up rule written in `lipforge/cli/__init__.py`:
a command module that imports SciPy, MediaPipe, onnxruntime, the API app (or the other
heavy libraries below) at its top fails it, whoever adds the command.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
import typer

LIPFORGE = str(Path(sys.executable).parent / "lipforge")
HEAVY = (
    "scipy", "mediapipe", "onnxruntime", "lipforge.api", "fastapi", "starlette", "uvicorn",
    "av", "cv2", "numpy", "sqlalchemy", "alembic", "httpx", "lipforge.lipsync", "lipforge.media",
)  # fmt: skip
LOADED_AFTER = """
import json, sys
sys.argv = ["lipforge", *sys.argv[1:]]
from lipforge.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def heavy_modules_loaded(*args: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", LOADED_AFTER, *args], capture_output=True, text=True, timeout=60
    )
    loaded = json.loads(result.stderr.strip().splitlines()[-1])
    return [m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY)]


@pytest.mark.parametrize(
    "args", [["--help"], ["upload", "--help"], ["submit", "--help"], ["models", "--help"]]
)
def test_help_loads_no_heavy_module(args):
    assert heavy_modules_loaded(*args) == []


def test_every_command_module_imports_light():
    code = (
        "import json, sys; from lipforge.cli import _register_commands; _register_commands(); "
        "print(json.dumps(sorted(sys.modules)))"
    )
    loaded = json.loads(subprocess.check_output([sys.executable, "-c", code], text=True))
    heavy = [m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    assert heavy == [], "import these inside the command (see lipforge/cli/__init__.py)"


def _commands(command: click.Command, path: tuple[str, ...] = ()):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_help_shows_plain_placeholders_and_the_exit_codes():
    from lipforge.cli import _register_commands, app, tidy_help

    _register_commands()
    root = typer.main.get_command(app)
    tidy_help(root)
    for path, command in _commands(root):
        with click.Context(command, info_name=" ".join(("lipforge", *path))) as ctx:
            text = command.get_help(ctx)
        assert "<bool>" not in text and "<list[" not in text, (path, text)
        assert "--no-no-" not in text, (path, text)
    top = subprocess.run([LIPFORGE, "--help"], capture_output=True, text=True, timeout=60)
    assert top.returncode == 0
    flat = " ".join(top.stdout.split())
    assert "0 done; 1 some items failed" in flat and "130 interrupted" in flat


def test_usage_errors_exit_2():
    result = subprocess.run([LIPFORGE, "upload"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def _caught_signals(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return int(line.split()[1], 16)
    return 0


def _wait_for_our_code(process: subprocess.Popen) -> None:
    """Until the launcher runs (SIGINT no longer Python's own handler) or main's handlers are
    in (SIGTERM caught): before that, Python itself is starting, out of the project's reach."""
    sigint, sigterm = 1 << (signal.SIGINT - 1), 1 << (signal.SIGTERM - 1)
    python_started = False  # Python catches SIGINT from its init on, the launcher lets it go
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        caught = _caught_signals(process.pid)
        if caught & sigterm or (python_started and not caught & sigint):
            return
        python_started = python_started or bool(caught & sigint)
        time.sleep(0.001)


@pytest.mark.parametrize("delay_s", [0.0, 0.1, 0.3, 0.6])
def test_ctrl_c_during_start_up_prints_no_traceback(tmp_path, delay_s):
    env = {"LIPFORGE_DATA": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen(
        [LIPFORGE, "doctor"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    _wait_for_our_code(process)
    assert process.poll() is None, "the CLI never reached its own signal handling"
    time.sleep(delay_s)
    process.send_signal(signal.SIGINT)
    _stdout, stderr = process.communicate(timeout=60)
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert process.returncode in (0, 130, -signal.SIGINT), stderr


@pytest.mark.parametrize("option", ["--port", "--heygem-port"])
def test_serve_on_a_port_in_use_says_so_without_a_traceback(tmp_path, option):
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        ports = (
            ["--port", str(taken)] if option == "--port" else ["--port", "0", option, str(taken)]
        )
        result = subprocess.run(
            [LIPFORGE, "serve", "--data", str(tmp_path / "data"), *ports],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output and f"127.0.0.1:{taken}" in output and option in output
