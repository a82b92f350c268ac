"""Phones recognised from the audio alone: PocketSphinx in phone-loop (allphone) mode.

As Rhubarb Lip Sync does for speech it has no dictionary for, the en-us acoustic model that
PocketSphinx's PyPI wheel carries decodes against its phone language model, so no words and
no download are needed. Phones come back as IPA (ARPAbet mapped), timed at 10 ms steps;
silences and noises are dropped (the lip-sync room takes pauses from the loudness).

How good it is: on espeak-ng English it finds about a third of the bilabials and invents
none; on Mandarin (whose phones the en-us model does not know) a quarter, with a few false
ones. So recognised phones are blended with the audio path at a lower weight and a
recognised closure is kept only where the audio is not wide open (`mouthshape`). The
decoder is not thread-safe: each call makes its own (about 0.1 s to load).
"""

from __future__ import annotations

import os

import numpy as np

from lipforge.media.timing import Phone

SAMPLE_RATE = 16_000
FRAMES_PER_S = 100.0
LANGUAGE_WEIGHT = 2.0  # Rhubarb's settings for allphone decoding
BEAM = 1e-10
ARPABET_IPA = {
    "AA": "ɑ", "AE": "æ", "AH": "ʌ", "AO": "ɔ", "AW": "aʊ", "AY": "aɪ", "B": "b", "CH": "tʃ",
    "D": "d", "DH": "ð", "EH": "ɛ", "ER": "ɚ", "EY": "eɪ", "F": "f", "G": "ɡ", "HH": "h",
    "IH": "ɪ", "IY": "i", "JH": "dʒ", "K": "k", "L": "l", "M": "m", "N": "n", "NG": "ŋ",
    "OW": "oʊ", "OY": "ɔɪ", "P": "p", "R": "ɹ", "S": "s", "SH": "ʃ", "T": "t", "TH": "θ",
    "UH": "ʊ", "UW": "u", "V": "v", "W": "w", "Y": "j", "Z": "z", "ZH": "ʒ",
}  # fmt: skip


def recogniser_available() -> bool:
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        return False
    return True


def recognise_phones(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> tuple[Phone, ...]:
    """IPA phones with times heard in 16 kHz mono float samples (silences left out)."""
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"recognise_phones needs {SAMPLE_RATE} Hz samples, got {sample_rate}")
    from pocketsphinx import Decoder, get_model_path

    model = get_model_path()
    decoder = Decoder(
        hmm=os.path.join(model, "en-us", "en-us"),
        allphone=os.path.join(model, "en-us", "en-us-phone.lm.bin"),
        lw=LANGUAGE_WEIGHT,
        beam=BEAM,
        pbeam=BEAM,
        samprate=SAMPLE_RATE,
        loglevel="FATAL",
    )
    pcm = np.clip(np.asarray(samples, np.float32) * 32767.0, -32768, 32767).astype(np.int16)
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), full_utt=True)
    decoder.end_utt()
    phones = []
    for segment in decoder.seg():
        symbol = ARPABET_IPA.get(segment.word)
        if symbol is None:
            continue
        start_s = segment.start_frame / FRAMES_PER_S
        phones.append(Phone(symbol, start_s, (segment.end_frame + 1) / FRAMES_PER_S))
    return tuple(phones)
