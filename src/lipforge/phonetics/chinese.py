"""Mandarin text made speakable by espeak-ng: numbers in Chinese words, Han text in numbered pinyin.

espeak-ng's plain `cmn` voice reads tone digits of pinyin as English numbers (espeak-ng
issues #1028, #1044), so Han text goes to `cmn-latn-pinyin` as numbered pinyin made by
pypinyin (`ni3 hao3`, neutral tone 5). Digits are read as Chinese numbers first (a year
before 年 digit by digit, decimals after 点, a percentage as 百分之...). `runs` cuts mixed
text into Chinese and Latin-script runs, so English words inside Chinese go to `en-us`.
"""

from __future__ import annotations

import re
import unicodedata

DIGITS = "零一二三四五六七八九"
SMALL_UNITS = ("", "十", "百", "千")
BIG_UNITS = ("", "万", "亿", "万亿")
NUMBER = re.compile(r"(\d+)(?:\.(\d+))?(%?)")
YEAR = re.compile(r"(\d{2,4})(?=年)")
LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z0-9'’&+.\-]*(?:\s+[A-Za-z0-9][A-Za-z0-9'’&+.\-]*)*")
HAN_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
PAUSE_PUNCTUATION = {"，": ",", "、": ",", "：": ",", "；": ",", "。": ".", "！": "!", "？": "?"}
MAX_GROUPED_DIGITS = 16


def digits_to_hanzi(digits: str) -> str:
    """ "2024" -> "二零二四"."""
    return "".join(DIGITS[int(d)] for d in digits)


def integer_to_hanzi(digits: str) -> str:
    """ "10502" -> "一万零五百零二"; very long numbers are read digit by digit."""
    digits = digits.lstrip("0") or "0"
    if len(digits) > MAX_GROUPED_DIGITS:
        return digits_to_hanzi(digits)
    if digits == "0":
        return DIGITS[0]
    groups = []
    while digits:
        groups.insert(0, digits[-4:])
        digits = digits[:-4]
    words, pending_zero = "", False
    for index, group in enumerate(groups):
        unit = BIG_UNITS[len(groups) - 1 - index]
        if int(group) == 0:
            pending_zero = bool(words)
            continue
        if words and (pending_zero or len(group.lstrip("0")) < 4):
            words += DIGITS[0]
        words += _group_to_hanzi(group.lstrip("0")) + unit
        pending_zero = False
    if words.startswith("一十"):
        words = words[1:]
    return words


def _group_to_hanzi(group: str) -> str:
    words, zero = "", False
    for position, digit in enumerate(group):
        value = int(digit)
        if value == 0:
            zero = bool(words)
            continue
        if zero:
            words += DIGITS[0]
            zero = False
        words += DIGITS[value] + SMALL_UNITS[len(group) - 1 - position]
    return words


def numbers_to_hanzi(text: str) -> str:
    """Every number in `text` spelled in Chinese words."""
    text = YEAR.sub(lambda m: digits_to_hanzi(m[1]), text)

    def spell(match: re.Match) -> str:
        words = integer_to_hanzi(match[1])
        if match[2]:
            words += "点" + digits_to_hanzi(match[2])
        return f"百分之{words}" if match[3] else words

    return NUMBER.sub(spell, text)


def runs(text: str) -> list[tuple[str, str]]:
    """`text` as ("zh" | "en", run) pairs in order: Latin-script runs apart from the rest."""
    out: list[tuple[str, str]] = []
    start = 0
    for match in LATIN_RUN.finditer(text):
        if match.start() > start:
            out.append(("zh", text[start : match.start()]))
        out.append(("en", match.group()))
        start = match.end()
    if start < len(text):
        out.append(("zh", text[start:]))
    return [(language, run) for language, run in out if run.strip()]


def to_numbered_pinyin(text: str) -> str:
    """Han text (numbers already in words) as numbered pinyin, Chinese pauses as ASCII commas."""
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True)
    words = []
    for syllable in syllables:
        for char, mark in PAUSE_PUNCTUATION.items():
            syllable = syllable.replace(char, mark)
        words.append(syllable.strip())
    spoken = " ".join(word for word in words if word)
    return re.sub(r"\s+([,.!?])", r"\1", spoken)


def has_han(text: str) -> bool:
    return bool(HAN_CHAR.search(text))


def normalize(text: str) -> str:
    """Full-width digits and letters to ASCII; Chinese punctuation is kept."""
    return "".join(
        unicodedata.normalize("NFKC", char) if "\uff10" <= char <= "\uff5a" else char
        for char in text
    )
