"""Mouth poses from the driving audio: how far the jaw drops and how spread or round the lips are.

`mouth_poses(audio)` turns `AudioFeatures` into one `MouthPoses` series for the whole render,
before any frame is warped. When the phones are known (`audio.phones`), their visemes
(`visemes.py`) lead: lips shut on p/b/m, tuck on f/v, round on o/u, spread on i/e; the jaw opens
with the loudness envelope of the audio path, scaled by how open each viseme is (an "a"
takes all of it, an "i" or a "t" about 60 %). How much the lip shapes are trusted depends on
where the phones came from (a script's own synthesis, an aligned transcript, or the built-in
ear's mouth classes, "heard": one phone-like event per heard stretch of a class, no phones in
pauses, read through the same visemes; a p/b/m heard where the audio is wide open is ignored);
the rest of the weight stays with the audio path below, so a wrong phone never freezes the
mouth. Heard classes shape the lips, shut them and rest them, but the jaw follows the audio
path's opening as it is (a class heard wrongly never shrinks a loud vowel), and the wider the
jaw is open the less fully the lips may round (a full pucker on a wide jaw smears the skin
beside the mouth corners). In every case a pause of at least `PAUSE_MIN_S` (phones absent,
or the audio silent) brings the mouth to rest and holds it exactly still.

The audio path (the fallback, and the blend partner): opening follows the
loudness envelope (silence and the stop gaps of p/b/t/d/k/g close the mouth) and is pulled
down when the spectrum is dominated by a low nasal murmur (m, n: lips closed while voiced).
Lip shape follows the second formant: a high F2 (i, e) spreads the lips, a low one (o, u)
rounds them. Both series are smoothed with a fast attack and a slower release, then with a
short centred window, so the mouth is steady from frame to frame and never flaps. Pure numpy,
deterministic. It knows nothing of faces or pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lipforge.lipsync.engines.meshwarp.visemes import MIN_CLOSED_FRAMES, PAUSE_MIN_S, viseme_tracks
from lipforge.media.audio import AudioFeatures

MEL_FMIN_HZ = 55.0
MEL_FMAX_HZ = 7600.0
MEL_STEPS_PER_S = 80.0
MEL_MIN_DB = -100.0
MEL_MAX_ABS = 4.0

SILENCE_LOUDNESS = 0.06  # envelope value at and below which the lips stay closed
LOUD_PERCENTILE = 95.0  # this loudness (of the clip's voiced frames) opens the mouth fully
OPEN_SPAN = 0.5  # loudness this far below that closes the mouth (the envelope spans ~45 dB)
NASAL_LOW_BAND_HZ = (80.0, 350.0)
NASAL_MID_BAND_HZ = (500.0, 2500.0)
NASAL_RATIO_DB = (-4.0, 2.0)  # low/mid power ratio: from here nasal-ness starts / is full
NASAL_CLOSING = 0.5  # a fully nasal frame keeps this fraction of its opening closed
F2_HIGH_BAND_HZ = (1500.0, 3200.0)
F2_LOW_BAND_HZ = (500.0, 1300.0)
SHAPE_SCALE_DB = 6.0  # F2 balance (dB from the clip median) that gives a full spread/round
ATTACK_S = 0.02
RELEASE_S = 0.04
CENTRED_TAPS = np.array([0.25, 0.5, 0.25])
# How far phones of each origin are trusted over the audio path (the rest of the weight).
PHONE_WEIGHT = {"script": 0.7, "aligned": 0.65, "heard": 0.6}
VISEME_OPENING_FLOOR = 0.5  # the jaw opens this share of the loudness envelope on the most
# closed visemes (i, u, consonants), all of it on the open ones (a)
HEARD_CLOSURE_MAX_OPENING = 0.7  # a heard p/b/m shuts the lips only where the audio itself
# is not wide open (a closure misheard in a loud vowel is ignored)
HEARD_ROUNDING_EASE = 0.3  # heard rounding is capped at 1 less this share of the jaw's opening
SCRIPT_SHAPE_WEIGHT = 0.85  # a script's own phones shape the lips this much (its jaw: the audio)
SHAPE_GAIN = 1.8  # coarticulated lip shapes (spread, round) sharpened toward their targets
CLOSURE_LOUDER = 0.1  # of the 45 dB loudness range: a bilabial's frames this much louder than
# its quietest, at either end of it, are not its closure (the lips are still or already open)
PAUSE_REST_SHARE = 0.5  # frames eased this far to rest are the pause's, not a bilabial's
SHUT_SPREAD_SHARE = 0.4  # lips pressed shut on p/b/m keep this much of their rounding or spread
PAUSE_EASE_FRAMES = 1  # frames after the sound stops before the pose is held still


@dataclass(frozen=True)
class MouthPoses:
    """Per output frame: `opening` in [0, 1] (0 closed lips), `spread` in [-1, 1] (-1 round),
    `tuck` in [0, 1] (lower lip under the upper teeth), `resting` (a pause: held still),
    `pressed` (a bilabial: the lips pressed together, not only touching)."""

    opening: np.ndarray
    spread: np.ndarray
    tuck: np.ndarray | None = None
    resting: np.ndarray | None = None
    pressed: np.ndarray | None = None


def mouth_poses(audio: AudioFeatures) -> MouthPoses:
    """The mouth pose of every output frame: phones first when known, the audio always."""
    heard = audio_poses(audio)
    count = audio.frame_count
    silent = _pause_frames(heard.opening, audio)
    if not audio.phones or audio.phone_source not in PHONE_WEIGHT:
        opening, spread, tuck, resting = heard.opening, heard.spread, np.zeros(count), silent
        shut = np.zeros(count, bool)
    else:
        opening, spread, tuck, resting, shut = _with_phones(audio, heard, silent)
    opening, spread, tuck = opening.copy(), spread.copy(), tuck.copy()
    for track in (opening, spread, tuck):
        track[resting] = 0.0
    return MouthPoses(
        opening=np.clip(opening, 0.0, 1.0),
        spread=np.clip(spread, -1.0, 1.0),
        tuck=np.clip(tuck, 0.0, 1.0),
        resting=resting,
        pressed=shut & ~resting,
    )


def _with_phones(audio: AudioFeatures, heard: MouthPoses, silent: np.ndarray):
    weight = PHONE_WEIGHT[audio.phone_source]
    tracks = viseme_tracks(audio.phones, audio.fps, audio.frame_count)
    share = VISEME_OPENING_FLOOR + (1 - VISEME_OPENING_FLOOR) * tracks.opening
    opening = heard.opening * share
    shape_weight = max(weight, SCRIPT_SHAPE_WEIGHT) if audio.phone_source == "script" else weight
    spread = shape_weight * _sharpened(tracks.spread) + (1 - shape_weight) * heard.spread
    tuck = weight * tracks.tuck
    rest = np.zeros(audio.frame_count) if tracks.rest is None else tracks.rest
    shut = _closure_frames(tracks.closures, audio.loudness, rest, audio.frame_count)
    if audio.phone_source == "heard":
        shut = shut & (heard.opening < HEARD_CLOSURE_MAX_OPENING)
        opening = heard.opening.copy()
        spread = np.maximum(spread, HEARD_ROUNDING_EASE * opening - 1.0)
    easing = 1.0 - tracks.rest  # the audio path eases into a pause with the visemes
    opening, spread = opening * easing, spread * easing
    resting = tracks.resting | silent
    opening[shut] = 0.0
    spread[shut] *= SHUT_SPREAD_SHARE
    return opening, spread, tuck, resting, shut


def _sharpened(spread: np.ndarray) -> np.ndarray:
    """Lip spread/rounding pushed toward its targets: the blend of neighbouring visemes
    leaves an "o" or an "i" at about half its shape, which reads as a neutral mouth."""
    return np.tanh(SHAPE_GAIN * spread) / np.tanh(SHAPE_GAIN)


def _closure_frames(
    closures: tuple[tuple[int, int], ...], loudness: np.ndarray, rest: np.ndarray, count: int
) -> np.ndarray:
    """Frames with the lips shut: each bilabial's span less its loud ends (its frames louder
    than its quietest by more than CLOSURE_LOUDER: the vowel before still sounding, or the
    release into the next one, which a phone's timing counts as part of the p, b or m), and
    never fewer than MIN_CLOSED_FRAMES (grown toward the quieter neighbour). Frames still at
    rest (`rest` >= PAUSE_REST_SHARE: the silent lead of a phrase's first m) belong to the
    pause: they neither count as the quietest, which would take the closure off an m's own
    murmur, nor get pressed, which would move lips the rest already holds shut in silence."""
    level = np.zeros(count)
    level[: min(count, len(loudness))] = np.asarray(loudness, np.float64)[:count]
    pause = np.zeros(count, bool)
    pause[: min(count, len(rest))] = np.asarray(rest)[:count] >= PAUSE_REST_SHARE
    shut = np.zeros(count, bool)
    for first, last in closures:
        span = np.arange(first, last + 1)
        sounding = span[~pause[span]]
        if not len(sounding):
            continue  # all at rest: the lips are shut already
        quiet = sounding[level[sounding] <= level[sounding].min() + CLOSURE_LOUDER]
        first, last = int(quiet[0]), int(quiet[-1])
        while last - first + 1 < min(MIN_CLOSED_FRAMES, count):
            before = level[first - 1] if first > 0 else np.inf
            after = level[last + 1] if last + 1 < count else np.inf
            first, last = (first - 1, last) if before <= after else (first, last + 1)
        shut[first : last + 1] = True
    return shut & ~pause


def _pause_frames(opening: np.ndarray, audio: AudioFeatures) -> np.ndarray:
    """Frames inside a silence of at least PAUSE_MIN_S, once the mouth had time to settle."""
    loudness = np.asarray(audio.loudness, np.float64)[: audio.frame_count]
    quiet = np.pad(loudness, (0, audio.frame_count - len(loudness))) <= SILENCE_LOUDNESS
    resting = np.zeros(audio.frame_count, bool)
    min_frames = int(np.ceil(PAUSE_MIN_S * audio.fps))
    start = None
    for index, is_quiet in enumerate(np.append(quiet, False)):
        if is_quiet and start is None:
            start = index
        elif not is_quiet and start is not None:
            if index - start >= min_frames:
                first = start if start == 0 else start + PAUSE_EASE_FRAMES
                last = index if index == audio.frame_count else index - 1
                resting[first:last] = True
            start = None
    return resting


def audio_poses(audio: AudioFeatures) -> MouthPoses:
    """The audio path: the smoothed pose of every frame from loudness and spectrum alone."""
    loudness = np.clip(np.asarray(audio.loudness, np.float64)[: audio.frame_count], 0.0, 1.0)
    loudness = np.pad(loudness, (0, audio.frame_count - len(loudness)))
    power = frame_band_power(audio.mel, audio.fps, audio.frame_count)
    centres = mel_band_centres_hz(audio.mel.shape[0])
    voiced = loudness > SILENCE_LOUDNESS
    opening = _opening(loudness, voiced) * (1.0 - NASAL_CLOSING * _nasality(power, centres))
    spread = np.where(voiced, _spread(power, centres, voiced), 0.0)
    fps = audio.fps
    opening = _centred(_attack_release(opening, fps))
    spread = _centred(_attack_release(spread, fps, symmetric=True))
    return MouthPoses(opening=np.clip(opening, 0.0, 1.0), spread=np.clip(spread, -1.0, 1.0))


def mel_band_centres_hz(band_count: int) -> np.ndarray:
    """Centre frequencies of the Wav2Lip mel bands (Slaney mel scale, 55-7600 Hz)."""
    low, high = _hz_to_mel(MEL_FMIN_HZ), _hz_to_mel(MEL_FMAX_HZ)
    return _mel_to_hz(np.linspace(low, high, band_count + 2)[1:-1])


def frame_band_power(mel: np.ndarray, fps: float, frame_count: int) -> np.ndarray:
    """(frame_count, bands) linear power per video frame, from the normalised log mel."""
    level_db = (np.asarray(mel, np.float64) + MEL_MAX_ABS) / (2 * MEL_MAX_ABS) * -MEL_MIN_DB
    power = 10.0 ** ((level_db + MEL_MIN_DB) / 10.0)
    steps = power.shape[1]
    bounds = (np.arange(frame_count + 1) * MEL_STEPS_PER_S / fps).astype(int)
    starts, ends = bounds[:-1], np.maximum(bounds[:-1] + 1, bounds[1:])
    cumulative = np.concatenate([np.zeros((power.shape[0], 1)), np.cumsum(power, axis=1)], axis=1)
    starts, ends = np.clip(starts, 0, steps), np.clip(ends, 0, steps)
    sums = cumulative[:, ends] - cumulative[:, starts]
    counts = np.maximum(ends - starts, 1)
    return (sums / counts).T + 1e-12


def _opening(loudness: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    loud = np.percentile(loudness[voiced], LOUD_PERCENTILE) if voiced.any() else 1.0
    quiet = max(loud - OPEN_SPAN, SILENCE_LOUDNESS)
    return np.clip((loudness - quiet) / max(loud - quiet, 1e-3), 0.0, 1.0)


def _nasality(power: np.ndarray, centres: np.ndarray) -> np.ndarray:
    ratio_db = 10 * np.log10(
        _band(power, centres, NASAL_LOW_BAND_HZ) / _band(power, centres, NASAL_MID_BAND_HZ)
    )
    low, high = NASAL_RATIO_DB
    return np.clip((ratio_db - low) / (high - low), 0.0, 1.0)


def _spread(power: np.ndarray, centres: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    balance_db = 10 * np.log10(
        _band(power, centres, F2_HIGH_BAND_HZ) / _band(power, centres, F2_LOW_BAND_HZ)
    )
    reference = np.median(balance_db[voiced]) if voiced.any() else 0.0
    return np.tanh((balance_db - reference) / SHAPE_SCALE_DB)


def _band(power: np.ndarray, centres: np.ndarray, band_hz: tuple[float, float]) -> np.ndarray:
    inside = (centres >= band_hz[0]) & (centres <= band_hz[1])
    return power[:, inside].sum(axis=1)


def _attack_release(series: np.ndarray, fps: float, symmetric: bool = False) -> np.ndarray:
    """One-pole follower: quick to open (ATTACK_S), slower to close (RELEASE_S)."""
    attack = 1.0 - np.exp(-1.0 / (fps * ATTACK_S))
    release = 1.0 - np.exp(-1.0 / (fps * RELEASE_S))
    out = np.empty_like(series)
    state = 0.0
    for index, target in enumerate(series):
        rising = abs(target) > abs(state) if symmetric else target > state
        state += (attack if rising else release) * (target - state)
        out[index] = state
    return out


def _centred(series: np.ndarray) -> np.ndarray:
    if len(series) < len(CENTRED_TAPS):
        return series
    padded = np.pad(series, len(CENTRED_TAPS) // 2, mode="edge")
    return np.convolve(padded, CENTRED_TAPS, mode="valid")


def _hz_to_mel(hz: float | np.ndarray) -> np.ndarray:
    hz = np.asarray(hz, np.float64)
    linear = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    linear = mel * (200.0 / 3)
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log_part, linear)
