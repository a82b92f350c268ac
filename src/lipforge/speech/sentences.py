"""A script cut into the pieces that are spoken, cached and shown as subtitle cues.

`split_script(text, max_chars)` cuts at sentence ends (Chinese and English punctuation,
and line breaks); a sentence longer than `max_chars` is cut again at its commas (and, as a
last resort, at spaces or anywhere); a piece is kept when it holds a letter, a digit or a
symbol read as a word (`©`). `script_language(text)` tells Chinese from English by
its characters. This module does not speak and does not know voices.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

SENTENCE_END = re.compile(r"([。！？!?；;…]+|\.(?=\s|$)|\.{3})([”’」』）)\"'》]*)")
CLAUSE_END = re.compile(r"([，、,：:—]+)")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_LETTER = re.compile(r"[A-Za-z]")
SPEAKABLE = re.compile(r"[\w\u3400-\u9fff]")
SPOKEN_SYMBOL_CATEGORIES = ("Sc", "Sm", "So")  # $ € + = © ™ ...: read as words ("copyright")
MAX_CHARS_BY_LANGUAGE = {"zh": 32, "en": 160}  # a cue of at most two subtitle lines


@dataclass(frozen=True)
class Piece:
    """One span of the script spoken in one request; `ends_sentence` picks the pause after it."""

    text: str
    ends_sentence: bool


def script_language(text: str) -> str:
    """ "zh" when Han characters make up a fair share of the letters, else "en"."""
    han = len(HAN.findall(text))
    latin_words = len(re.findall(r"[A-Za-z]+", text))
    return "zh" if han and han >= latin_words else "en"


def max_piece_chars(language: str, engine_limit: int) -> int:
    return max(1, min(MAX_CHARS_BY_LANGUAGE.get(language, 160), engine_limit))


def split_script(text: str, max_chars: int) -> list[Piece]:
    """The script's pieces in order; pieces with nothing to say (bare punctuation) are dropped."""
    pieces: list[Piece] = []
    for sentence in _sentences(text.replace("\r", "")):
        for index, clause in enumerate(chunks := _fit(sentence, max_chars)):
            pieces.append(Piece(clause, ends_sentence=index == len(chunks) - 1))
    return [piece for piece in pieces if speakable(piece.text)]


def speakable(text: str) -> bool:
    """True when `text` holds a letter, a digit or a symbol a voice reads as a word."""
    return bool(SPEAKABLE.search(text)) or any(
        unicodedata.category(char) in SPOKEN_SYMBOL_CATEGORIES for char in text
    )


def _sentences(text: str) -> list[str]:
    out: list[str] = []
    for line in text.split("\n"):
        start = 0
        for match in SENTENCE_END.finditer(line):
            out.append(line[start : match.end()])
            start = match.end()
        out.append(line[start:])
    return [s.strip() for s in out if s.strip()]


def _fit(sentence: str, max_chars: int) -> list[str]:
    """The sentence as is, or cut at commas into runs no longer than `max_chars`."""
    if len(sentence) <= max_chars:
        return [sentence]
    parts = [p for p in _split_keep(CLAUSE_END, sentence) if p.strip()]
    chunks: list[str] = []
    current = ""
    for part in parts:
        if current and len(current) + len(part) > max_chars:
            chunks.append(current.strip())
            current = ""
        current += part
    if current.strip():
        chunks.append(current.strip())
    return [piece for chunk in chunks for piece in _hard_split(chunk, max_chars)]


def _split_keep(pattern: re.Pattern, text: str) -> list[str]:
    """`text` cut after each match of `pattern`, keeping the punctuation with the left part."""
    parts, start = [], 0
    for match in pattern.finditer(text):
        parts.append(text[start : match.end()])
        start = match.end()
    parts.append(text[start:])
    return parts


def _hard_split(chunk: str, max_chars: int) -> list[str]:
    """A clause with no comma inside the limit: cut at the last space before it, or anywhere."""
    out = []
    while len(chunk) > max_chars:
        cut = chunk.rfind(" ", 0, max_chars + 1)
        cut = cut if cut > max_chars // 2 else max_chars
        out.append(chunk[:cut].strip())
        chunk = chunk[cut:].strip()
    if chunk:
        out.append(chunk)
    return out
