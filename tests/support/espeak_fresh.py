"""espeak-ng speech for tests and benches that is the same on every call: each synthesis runs in
a fresh interpreter.

libespeak-ng keeps its pitch flutter's phase in a function-static (`Flutter_ix` in wavegen.c's
AdvanceParameters) that no call resets, so in one process the same text comes out a little
different each time (here: 35761, 35758, 35769 and 35771 samples for one sentence, in that order
in every process). Renders of that speech then differ a little, MediaPipe reads those renders'
shut lips a little differently, and a test's figures moved with whatever the process had spoken
before (rest in pauses 97 % alone, 76 % inside a whole `tests/lipsync` run: first blamed on
MediaPipe). A fresh interpreter starts the flutter at 0. Results are kept per arguments, so a
text costs one interpreter per test process.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from lipforge.media.timing import Phone
from lipforge.phonetics.espeaklib import Synthesis

_SPEAK = """
import json, sys
import numpy as np
from lipforge.phonetics.espeaklib import synthesize
args = json.loads(sys.argv[1])
spoken = synthesize(args.pop("text"), args.pop("voice"), **args)
np.save(sys.argv[2], spoken.samples)
print(json.dumps({"rate": spoken.sample_rate,
                  "phones": [[p.symbol, p.start_s, p.end_s] for p in spoken.phones]}))
"""


def synthesize(text: str, voice: str = "en-us", **options: int) -> Synthesis:
    """As `lipforge.phonetics.espeaklib.synthesize`, the same samples on every call."""
    return _synthesize(text, voice, tuple(sorted(options.items())))


@functools.lru_cache(maxsize=256)
def _synthesize(text: str, voice: str, options: tuple[tuple[str, int], ...]) -> Synthesis:
    args = json.dumps({"text": text, "voice": voice, **dict(options)})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "samples.npy"
        done = subprocess.run(
            [sys.executable, "-c", _SPEAK, args, str(path)],
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"espeak-ng in a fresh interpreter failed:\n{done.stderr[-2000:]}")
        samples = np.load(path)
    told = json.loads(done.stdout)
    phones = tuple(Phone(symbol, start, end) for symbol, start, end in told["phones"])
    samples.setflags(write=False)  # shared by every caller of these arguments
    return Synthesis(samples, told["rate"], phones)
