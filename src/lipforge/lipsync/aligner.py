"""Phones of a known text placed on an audio that someone else made: synthesize, then DTW.

The text is spoken again with libespeak-ng (English `en-us`, Mandarin `cmn-latn-pinyin`,
which reads Han characters too), which reports each phone with its time in that synthetic
copy. Both audios become normalised log-mel frames (50 per second), dynamic time warping
finds the cheapest monotonic match between them, and each phone's start and end are
carried over through that match. Why this and not PocketSphinx's word alignment: it works
for every language espeak-ng speaks (PocketSphinx's wheel has only an English dictionary and
acoustic model), needs no model download, and its phone set is the one the script path uses.
Sentence timings, when a TTS server reported them, bound each sentence's search; a whole
transcript without them is aligned in one pass within a diagonal band. A sentence spans at
most `MAX_ALIGN_S` of audio (a longer one is left out: without phones, the caller listens
with the ear instead); a transcription server's pieces bound their own sentences.
"""

from __future__ import annotations

import numpy as np

from lipforge.media.audio import SAMPLE_RATE, melspectrogram
from lipforge.media.timing import Phone, Sentence

FEATURE_STEP = 2  # mel steps (80 per s) per DTW frame: 50 frames per second
FEATURE_BANDS = 40  # the lower half of Wav2Lip's 80 mel bands: the speech formant range
MAX_ALIGN_S = 240.0  # per sentence (a transcription server's pieces are shorter)
MAX_ALIGN_SAMPLES = int(MAX_ALIGN_S * SAMPLE_RATE)
BAND_FRACTION = 0.15  # the warping path stays within this share of the length off the diagonal
MIN_BAND_FRAMES = 100
VOICES = {"zh": "cmn-latn-pinyin", "cmn": "cmn-latn-pinyin", "en": "en-us"}
_DIAG, _UP, _LEFT = 0, 1, 2


def espeak_voice_for(language: str, text: str) -> str:
    """The espeak-ng voice that reads `text`: Mandarin when it has Han characters."""
    if any("\u4e00" <= char <= "\u9fff" for char in text):
        return VOICES["zh"]
    return VOICES.get(language.split("-")[0].lower(), VOICES["en"])


def align_sentences(
    samples: np.ndarray, sentences: tuple[Sentence, ...], language: str = ""
) -> tuple[Phone, ...] | None:
    """Phones of `sentences` placed on 16 kHz `samples`; None when it cannot be done."""
    duration_s = len(samples) / SAMPLE_RATE
    if not sentences:
        return None
    phones: list[Phone] = []
    for sentence in sentences:
        start_s = max(0.0, sentence.start_s)
        end_s = min(duration_s, sentence.end_s) if sentence.end_s > start_s else duration_s
        part = samples[int(start_s * SAMPLE_RATE) : int(end_s * SAMPLE_RATE)]
        if not sentence.text.strip() or not SAMPLE_RATE // 10 <= len(part) <= MAX_ALIGN_SAMPLES:
            continue
        placed = align_text(part, sentence.text, espeak_voice_for(language, sentence.text))
        phones += [Phone(p.symbol, p.start_s + start_s, p.end_s + start_s) for p in placed]
    return tuple(phones)


def align_text(samples: np.ndarray, text: str, voice: str) -> tuple[Phone, ...]:
    """Phones of `text` (spoken by espeak-ng `voice`) placed on 16 kHz `samples`."""
    from scipy.signal import resample_poly

    from lipforge.phonetics.espeaklib import synthesize

    synth, rate, synth_phones = synthesize(_speakable(text, voice), voice)
    if not synth_phones or len(synth) == 0:
        return ()
    synth16 = resample_poly(synth.astype(np.float64) / 32768.0, SAMPLE_RATE, rate)
    real, made = _features(samples), _features(synth16)
    real_of_made = _warp(real, made)
    step_s = FEATURE_STEP / 80.0

    def carry(time_s: float) -> float:
        position = time_s / step_s
        return float(np.interp(position, np.arange(len(real_of_made)), real_of_made)) * step_s

    placed = []
    for phone in synth_phones:
        start_s, end_s = carry(phone.start_s), carry(phone.end_s)
        if end_s > start_s:
            placed.append(Phone(phone.symbol, start_s, end_s))
    return tuple(placed)


def _speakable(text: str, voice: str) -> str:
    if not voice.startswith("cmn"):
        return text
    try:
        from lipforge.phonetics.chinese import has_han, to_numbered_pinyin

        return to_numbered_pinyin(text) if has_han(text) else text
    except ImportError:  # without pypinyin, cmn-latn-pinyin still reads Han characters
        return text


def _features(samples: np.ndarray) -> np.ndarray:
    """(frames, bands) log-mel, mean and variance normalised per utterance."""
    mel = melspectrogram(np.asarray(samples, np.float32))[:FEATURE_BANDS]
    usable = mel.shape[1] - mel.shape[1] % FEATURE_STEP
    steps = mel[:, :usable].reshape(FEATURE_BANDS, -1, FEATURE_STEP).mean(axis=2).T
    steps = steps if len(steps) else mel.T[:1]
    centred = steps - steps.mean(axis=0)
    return (centred / (steps.std(axis=0) + 1e-3)).astype(np.float32)


def _warp(real: np.ndarray, made: np.ndarray) -> np.ndarray:
    """For each frame of `made`, the (fractional) frame of `real` it matches best.

    Classic DTW (steps: diagonal, up, left) within a band around the diagonal; each row is
    one vectorised pass (the left steps as a running minimum), and only the band's moves
    are kept, so memory is rows x band bytes.
    """
    rows, cols = len(real), len(made)
    band = max(MIN_BAND_FRAMES, int(BAND_FRACTION * max(rows, cols)))
    width = 2 * band + 1
    moves = np.full((rows, width), _LEFT, np.uint8)
    starts = np.zeros(rows, np.int64)
    previous = np.full(cols, np.inf)
    made_sq = (made**2).sum(axis=1)
    for i in range(rows):
        centre = int(i * (cols - 1) / max(rows - 1, 1))
        lo, hi = max(0, centre - band), min(cols, centre + band + 1)
        starts[i] = lo
        cost = np.maximum(made_sq[lo:hi] - 2.0 * made[lo:hi] @ real[i] + real[i] @ real[i], 0.0)
        if i == 0:
            diagonal = np.full(hi - lo, np.inf)
            up = np.full(hi - lo, np.inf)
            up[0] = 0.0 if lo == 0 else np.inf
        else:
            shifted = np.concatenate([[np.inf], previous])  # shifted[j] = previous[j - 1]
            diagonal, up = shifted[lo:hi], previous[lo:hi]
        entry = np.minimum(diagonal, up) + cost
        summed = np.cumsum(cost)
        best = summed + np.minimum.accumulate(entry - summed)
        step = np.where(best < entry - 1e-6, _LEFT, np.where(diagonal <= up, _DIAG, _UP))
        moves[i, : hi - lo] = step
        previous = np.full(cols, np.inf)
        previous[lo:hi] = best
    return _backtrack(moves, starts, rows, cols)


def _backtrack(moves: np.ndarray, starts: np.ndarray, rows: int, cols: int) -> np.ndarray:
    i, j = rows - 1, cols - 1
    hits: dict[int, list[int]] = {}
    while i >= 0 and j >= 0:
        hits.setdefault(j, []).append(i)
        offset = j - starts[i]
        move = moves[i, offset] if 0 <= offset < moves.shape[1] else _DIAG
        if move == _DIAG:
            i, j = i - 1, j - 1
        elif move == _UP:
            i -= 1
        else:
            j -= 1
    known = sorted(hits)
    centres = [float(np.mean(hits[j])) for j in known]
    return np.interp(np.arange(cols), known, centres)
