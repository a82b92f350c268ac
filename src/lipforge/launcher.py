"""The `lipforge` console script: load the CLI with Ctrl-C quiet, then run it.

While the command modules load (a fraction of a second) nothing needs cleaning up, so
Ctrl-C, SIGTERM and SIGHUP simply end the process, without a traceback. `cli.main`
then installs the handlers that turn them into a clean stop (exit 130). This module
imports nothing of the CLI at its top, so it is loaded before any heavy import starts.
"""

from __future__ import annotations

import signal


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    from lipforge.cli import main as cli_main

    cli_main()
