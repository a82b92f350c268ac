"""Subtitle lines: Chinese breaks between words, never inside one; every line fits."""

from __future__ import annotations

import pytest

from lipforge.media.subtitles import HAN_LINE_COLUMNS, display_width, wrap_line


@pytest.mark.parametrize(
    ("cue", "word"),
    [  # each broke inside the word when lines were cut between any two characters
        ("同学们好，欢迎来到今天的机器学习课程。", "今天"),
        ("我们先来训练一个模型，看看它学到了什么。", "模型"),
        ("为此我们准备了训练集，它有一万张图片。", "训练集"),
    ],
)
def test_chinese_lines_never_break_inside_a_word(cue: str, word: str) -> None:
    lines = wrap_line(cue)
    assert "".join(lines) == cue and len(lines) == 2
    assert all(display_width(line) <= HAN_LINE_COLUMNS for line in lines)
    assert any(word in line for line in lines), (word, lines)


def test_latin_lines_still_break_at_spaces() -> None:
    lines = wrap_line("Plants make food from light, water and the air around their leaves.")
    assert (
        " ".join(lines).split()
        == "Plants make food from light, water and the air around their leaves.".split()
    )
    assert all(not line.startswith(" ") and len(line) <= 42 for line in lines)
