"""The sentence cache: each (voice, text) spoken once, kept as samples + phones on disk.

The key is a sha256 of the text and of every voice setting that changes the sound (engine,
server, speaker, model, speed, language, rate, reference, options), so editing a voice
makes new entries instead of serving stale audio. Entries are `.npz` files written to a
temp name and renamed; an unreadable entry, or one at a rate no speech has (written before
such answers were refused), is treated as missing, so a mended server is asked again.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
import zipfile
from pathlib import Path

import numpy as np

from lipforge.media.timing import Phone
from lipforge.speech.engines import Utterance
from lipforge.speech.voices import SAMPLE_RATE_RANGE, Voice

CACHE_FORMAT = 1
NOT_SOUND = ("name", "builtin", "reference_key")


class SentenceCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def key(self, voice: Voice, text: str) -> str:
        settings = {k: v for k, v in voice.to_json().items() if k not in NOT_SOUND}
        settings["options"] = {k: v for k, v in voice.options.items() if k != "concurrency"}
        blob = json.dumps([CACHE_FORMAT, settings, text], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> Utterance | None:
        path = self._path(key)
        try:
            with np.load(path, allow_pickle=False) as data:
                phones = json.loads(str(data["phones"]))
                if not SAMPLE_RATE_RANGE[0] <= int(data["rate"]) <= SAMPLE_RATE_RANGE[1]:
                    return None
                return Utterance(
                    samples=data["samples"].astype(np.float32),
                    sample_rate=int(data["rate"]),
                    phones=None if phones is None else tuple(Phone(*p) for p in phones),
                )
        except (OSError, KeyError, ValueError, zipfile.BadZipFile):
            return None

    def put(self, key: str, utterance: Utterance) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        phones = utterance.phones
        phones = None if phones is None else [[p.symbol, p.start_s, p.end_s] for p in phones]
        partial = path.with_name(f".{uuid.uuid4().hex}.npz")
        try:
            np.savez(
                partial,
                samples=utterance.samples.astype(np.float32),
                rate=np.int64(utterance.sample_rate),
                phones=np.array(json.dumps(phones)),
            )
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
