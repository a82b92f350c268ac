"""Where a render's phones come from: the script, an aligned transcript, or the recogniser.

`find_phones(samples, timing)` picks, in order: the phones a `SpeechTiming` already carries
(LipForge made the speech: espeak-ng reported them), the sentences' text aligned to the
audio (`aligner`: a TTS server's audio, or `lipforge run --transcript`), else phones
recognised from the audio alone (`recogniser`). It returns the phones and their source
name, which `mouthshape` uses to decide how far to trust them; (None, "") when there are
none, and the mouth then follows the audio alone. A failure of the aligner or recogniser
is logged and never fails the render.
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
    return _recognised(samples)


def _aligned(samples: np.ndarray, timing: SpeechTiming) -> tuple[Phone, ...] | None:
    from lipforge.lipsync.aligner import align_sentences

    try:
        return align_sentences(samples, timing.sentences, timing.language)
    except Exception as exc:  # noqa: BLE001 - the audio path still moves the mouth
        log.warning("aligning the transcript failed (%r); recognising phones instead", exc)
        return None


def _recognised(samples: np.ndarray) -> tuple[tuple[Phone, ...] | None, str]:
    from lipforge.lipsync.recogniser import recognise_phones, recogniser_available

    if not recogniser_available():
        return None, ""
    try:
        phones = recognise_phones(samples, SAMPLE_RATE)
    except Exception as exc:  # noqa: BLE001 - the audio path still moves the mouth
        log.warning("phone recognition failed (%r); the mouth follows the loudness", exc)
        return None, ""
    return (phones, "recognised") if phones else (None, "")
