"""The exit statuses every `lipforge` command uses, and the text `--help` and the README show.

A command that finishes its work exits 0; one that ran every item but some failed exits 1;
a `LipforgeError` exits with its class's `exit_code` (errors.py), which is one of these.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_MODEL_MISSING = 4
EXIT_AUTH = 5
EXIT_DISK_FULL = 6
EXIT_UNREACHABLE = 7
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = (
    "Exit status: 0 done; 1 some items failed (the others finished); 2 usage or setting error; "
    "3 bad input (not media, no face, refused); 4 model missing; 5 token refused; "
    "6 disk full; 7 cannot reach the server or the download source; "
    "130 interrupted (Ctrl-C, SIGTERM, SIGHUP). "
    "Add --debug anywhere to see the traceback of an error."
)
