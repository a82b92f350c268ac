"""Where a job's output lives in the store: the key for an output path, and nothing more.

A succeeded job records `output_relpath` (`<batch>/<name>.mp4`); its bytes are the
object `outputs/<batch>/<name>.mp4` of `lipforge.storage` (the data dir or a bucket).
"""

from __future__ import annotations

OUTPUTS_PREFIX = "outputs/"


def output_key(output_relpath: str) -> str:
    return OUTPUTS_PREFIX + output_relpath
