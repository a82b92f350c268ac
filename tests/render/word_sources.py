"""Where a viseme measurement's words come from besides a script: a user's transcript, or a
transcription server (the stand-in, answering as Whisper writes: sentences with punctuation,
Mandarin in Han characters). Used by bench/visemes.py and tests/render/test_transcript_visemes.py.

`WordSources(work)` runs one stand-in for its lifetime; `timing(case, wav, mode)` gives the
SpeechTiming a job would get for `mode` "server" (through render/transcript_stage.py's real
client, pieces and cache) or "transcript" (as PATCH /api/assets/{id} stores it).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from tests.speech.transcribe_standin import Hearing, serve  # noqa: E402

from lipforge.config import Settings  # noqa: E402
from lipforge.media.timing import SpeechTiming  # noqa: E402
from lipforge.render.transcript_stage import heard_timing, transcript_timing  # noqa: E402

WORD_MODES = ("server", "transcript")
HAN = {  # the bench's numbered-pinyin sentences as a person (or Whisper) writes them
    "ma1 ma5 mai3 le5 mian4 bao1.": "妈妈买了面包。",
    "bu4 pa4, wo3 men5 ming2 tian1 bu3 ban1.": "不怕，我们明天补班。",
    "wu3 ge4 xiao3 peng2 you3 qu4 kan4 yue4 liang4.": "五个小朋友去看月亮。",
    "yi1 qi3 xi3 huan1 xing1 xing1.": "一起喜欢星星。",
}


def written(parts: tuple[str, ...]) -> str:
    """The words of a case as text: English sentences spaced, Mandarin in Han characters."""
    if all(part in HAN for part in parts):
        return "".join(HAN[part] for part in parts)
    return " ".join(parts)


class WordSources:
    def __init__(self, work: Path) -> None:
        self.data = work / "words-data"
        self.hearing = Hearing()
        self._standin = serve("openai", self.hearing)

    def __enter__(self) -> WordSources:
        shutil.rmtree(self.data, ignore_errors=True)  # no cached transcripts from an earlier run
        self._standin.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._standin.__exit__(*exc)

    def timing(self, parts: tuple[str, ...], wav: Path, duration_s: float, mode: str):
        text = written(parts)
        if mode == "transcript":
            return transcript_timing(text, duration_s)
        self.hearing.texts = [text]
        settings = Settings(data=self.data, transcribe_url=self._standin.url + "/v1")
        sha256 = hashlib.sha256(wav.read_bytes()).hexdigest()
        timing: SpeechTiming = heard_timing(settings, sha256, wav)
        return timing
