"""Where a render's phones come from: the script, an aligned transcript, or the built-in ear.

`find_phones(samples, timing)` picks, in order: the phones a `SpeechTiming` already carries
(LipForge made the speech: espeak-ng reported them), the sentences' text aligned to the
audio (`aligner`: a TTS server's audio, or `lipforge run --transcript`), else mouth classes
heard in the audio alone (`ear`: phone-like events, one representative symbol per class, and
no phones in pauses). It returns the phones and their source name ("script", "aligned",
"heard"), which `mouthshape` uses to decide how far to trust them; (None, "") when there are
none, and the mouth then follows the loudness and spectrum alone. A failure of the aligner
or of the ear is logged and never fails the render.
"""

from __future__ import annotations

import logging

import numpy as np

from lipforge.media.audio import SAMPLE_RATE
from lipforge.media.timing import Phone, SpeechTiming

log = logging.getLogger(__name__)


def find_phones(
    samples: np.ndarray, timing: SpeechTiming | None
) -> tuple[tuple[Phone, ...] | None, str]:
    """The phones of 16 kHz `samples` and where they came from (see the module docstring)."""
    if timing is not None and timing.phones:
        return tuple(timing.phones), "script"
    if timing is not None and any(s.text.strip() for s in timing.sentences):
        phones = _aligned(samples, timing)
        if phones:
            return phones, "aligned"
    return _heard(samples)


def _aligned(samples: np.ndarray, timing: SpeechTiming) -> tuple[Phone, ...] | None:
    from lipforge.lipsync.aligner import align_sentences

    try:
        return align_sentences(samples, timing.sentences, timing.language)
    except Exception as exc:  # noqa: BLE001 - the audio path still moves the mouth
        log.warning("aligning the transcript failed (%r); the ear listens instead", exc)
        return None


def _heard(samples: np.ndarray) -> tuple[tuple[Phone, ...] | None, str]:
    from lipforge.lipsync.ear import hear_phones

    try:
        phones = hear_phones(samples, SAMPLE_RATE)
    except Exception as exc:  # noqa: BLE001 - the audio path still moves the mouth
        log.warning("hearing mouth shapes failed (%r); the mouth follows the loudness", exc)
        return None, ""
    return (phones, "heard") if phones else (None, "")
