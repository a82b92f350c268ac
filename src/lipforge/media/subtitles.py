"""Subtitles from sentence timings: SRT and WebVTT text, sidecar files, and a soft track in an MP4.

Each `Sentence` of a `SpeechTiming` is one cue. Lines are wrapped by display width (a Han
character counts two columns): Chinese at 16 characters a line, Latin text at 42, into
lines of about equal length, at spaces where there are some, and in Chinese only between
words (jieba's bundled dictionary, pinned; nothing is downloaded), so "今天" or "训练集"
never breaks across lines. `add_subtitle_track` remuxes an MP4 (no
re-encoding) with a `mov_text` stream, which players show as a switchable subtitle track.
This module knows nothing of speech engines or jobs.
"""

from __future__ import annotations

import logging
import os
import struct
import unicodedata
from collections.abc import Callable, Sequence
from fractions import Fraction
from functools import cache
from pathlib import Path

from lipforge.media.timing import Sentence

LINE_COLUMNS = 42  # Latin text: ~42 characters a line
HAN_LINE_COLUMNS = 32  # Chinese: 16 characters a line (a Han character is two columns)
CLOSING_MARKS = frozenset("，。、；：！？」』）》”’,.;:!?)")
EXTRA_LINES_FOR_WORDS = 1  # a cue may take one more line rather than break a word
CUE_TIME_BASE = Fraction(1, 1000)
ISO639_2 = {"zh": "chi", "en": "eng", "ja": "jpn", "ko": "kor", "fr": "fre", "de": "ger"}
ASS_HEADER = (
    b"[Script Info]\r\nScriptType: v4.00+\r\nPlayResX: 384\r\nPlayResY: 288\r\n\r\n"
    b"[V4+ Styles]\r\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, "
    b"OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, "
    b"Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\r\n"
    b"Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0"
    b"\r\n\r\n[Events]\r\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, "
    b"Effect, Text\r\n"
)


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def wrap_line(text: str, columns: int | None = None) -> list[str]:
    """`text` in balanced lines of at most `columns` display columns (32 for Chinese, 42 else).

    Breaks at spaces in Latin text, between words in Chinese (between characters only when a
    word is wider than a line); a closing mark (，。！) never starts a line.
    """
    width = display_width(text.strip())
    if columns is None:
        columns = HAN_LINE_COLUMNS if _mostly_wide(text) else LINE_COLUMNS
    fewest = max(1, -(-width // columns))
    for tokens in (_tokens(text.strip(), _word_starts(text.strip())), _tokens(text.strip())):
        for line_count in range(fewest, fewest + EXTRA_LINES_FOR_WORDS + 1):
            lines = _balanced(tokens, width, columns, line_count)
            if all(display_width(line) <= columns for line in lines):
                return lines
    return lines


def _balanced(tokens: list[str], width: int, columns: int, line_count: int) -> list[str]:
    target = min(columns, -(-width // line_count))
    lines: list[str] = []
    current = ""
    for token in tokens:
        if (
            current.strip()
            and display_width(current + token) > target
            and len(lines) + 1 < line_count
        ):
            lines.append(current.strip())
            current = token.lstrip()
        else:
            current += token
    if current.strip():
        lines.append(current.strip())
    return lines or [""]


def _mostly_wide(text: str) -> bool:
    wide = sum(1 for c in text if _is_wide(c))
    return wide * 2 >= len(text.strip() or " ")


def _tokens(text: str, word_starts: frozenset[int] | None = None) -> list[str]:
    """Words with their leading space for Latin text; for wide text, its words (characters
    when `word_starts` is None); closing punctuation stays with what it closes."""
    tokens: list[str] = []
    for index, char in enumerate(text):
        inside_word = word_starts is not None and index not in word_starts
        if tokens and char in CLOSING_MARKS:
            tokens[-1] += char
        elif _is_wide(char) and tokens and _is_wide(tokens[-1][-1]) and inside_word:
            tokens[-1] += char
        elif _is_wide(char) or not tokens or char == " " or _is_wide(tokens[-1][-1]):
            tokens.append(char)
        else:
            tokens[-1] += char
    return tokens


def _word_starts(text: str) -> frozenset[int]:
    """The offsets where a word begins, by jieba's dictionary (every offset without it)."""
    cut = _word_cutter()
    if cut is None:
        return frozenset(range(len(text)))
    words = cut(text)
    starts, offset = set(), 0
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else ""
        if not _clause_tail(word, following, index):
            starts.add(offset)
        offset += len(word)
    return frozenset(starts)


def _clause_tail(word: str, following: str, index: int) -> bool:
    """A lone Han character closing a clause ("训练集，" cut as 训练 / 集 by a dictionary that
    lacks 训练集) stays with the word before it rather than open a line."""
    ends_clause = not following or following[0] in CLOSING_MARKS
    return index > 0 and len(word) == 1 and _is_wide(word) and ends_clause


@cache
def _word_cutter() -> Callable[[str], list[str]] | None:
    """jieba's dictionary cut, loaded once per process (about a second), quiet."""
    try:
        import jieba
    except ImportError:  # a trimmed install: lines break between characters, as before
        return None
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    return lambda text: list(tokenizer.cut(text, HMM=False))


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in "WF"


def _clock(seconds: float, separator: str) -> str:
    milliseconds = max(0, round(seconds * 1000))
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def srt_text(sentences: Sequence[Sentence], columns: int | None = None) -> str:
    blocks = []
    for number, cue in enumerate(sentences, start=1):
        times = f"{_clock(cue.start_s, ',')} --> {_clock(cue.end_s, ',')}"
        blocks.append(f"{number}\n{times}\n" + "\n".join(wrap_line(cue.text, columns)))
    return "\n\n".join(blocks) + "\n"


def vtt_text(sentences: Sequence[Sentence], columns: int | None = None) -> str:
    blocks = ["WEBVTT"]
    for cue in sentences:
        times = f"{_clock(cue.start_s, '.')} --> {_clock(cue.end_s, '.')}"
        text = "\n".join(wrap_line(cue.text, columns)).replace("-->", "->")
        blocks.append(f"{times}\n{text}")
    return "\n\n".join(blocks) + "\n"


def write_sidecars(media_path: Path, sentences: Sequence[Sentence]) -> tuple[Path, Path]:
    """`<stem>.srt` and `<stem>.vtt` beside `media_path`; answers their paths."""
    srt = media_path.with_suffix(".srt")
    vtt = media_path.with_suffix(".vtt")
    _write_text(srt, srt_text(sentences))
    _write_text(vtt, vtt_text(sentences))
    return srt, vtt


def _write_text(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def add_subtitle_track(mp4_path: Path, sentences: Sequence[Sentence], language: str = "") -> None:
    """Remux `mp4_path` in place with a mov_text subtitle stream holding one cue per sentence."""
    import av

    partial = mp4_path.with_name(f".{mp4_path.stem}.subs.partial.mp4")
    try:
        with av.open(str(mp4_path)) as source, av.open(str(partial), "w", format="mp4") as target:
            mapping = {s.index: target.add_stream_from_template(s) for s in _media_streams(source)}
            track = target.add_stream("mov_text")
            track.codec_context.subtitle_header = ASS_HEADER
            track.codec_context.time_base = CUE_TIME_BASE
            track.time_base = CUE_TIME_BASE
            track.metadata["language"] = ISO639_2.get(language, "und")
            for packet in source.demux(list(_media_streams(source))):
                if packet.dts is None:
                    continue
                packet.stream = mapping[packet.stream.index]
                target.mux(packet)
            for cue in sentences:
                target.mux(_cue_packet(track, cue))
        os.replace(partial, mp4_path)
    finally:
        partial.unlink(missing_ok=True)


def _media_streams(container) -> list:
    return [s for s in container.streams if s.type in ("video", "audio")]


def _cue_packet(track, cue: Sentence):
    import av

    text = "\n".join(wrap_line(cue.text)).encode("utf-8")
    packet = av.Packet(struct.pack(">H", len(text)) + text)
    packet.stream = track
    packet.time_base = CUE_TIME_BASE
    packet.pts = packet.dts = round(cue.start_s * 1000)
    packet.duration = max(1, round((cue.end_s - cue.start_s) * 1000))
    return packet


def read_subtitle_track(mp4_path: Path) -> list[tuple[float, float, str]]:
    """The cues of an MP4's first subtitle track: (start_s, end_s, text), empty gaps left out."""
    import av

    cues = []
    with av.open(str(mp4_path)) as container:
        if not container.streams.subtitles:
            return []
        stream = container.streams.subtitles[0]
        for packet in container.demux(stream):
            payload = bytes(packet)
            if packet.pts is None or len(payload) <= 2:
                continue
            size = struct.unpack(">H", payload[:2])[0]
            start = float(packet.pts * packet.time_base)
            end = start + float(packet.duration * packet.time_base)
            cues.append((start, end, payload[2 : 2 + size].decode("utf-8")))
    return cues
