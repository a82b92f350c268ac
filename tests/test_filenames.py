"""One naming rule for every output: letters of any script kept, only the unsafe removed."""

from __future__ import annotations

import pytest

from lipforge.filenames import (
    MAX_STEM_BYTES,
    content_disposition,
    file_stem,
    joined_stem,
    safe_stem,
    unique_file_name,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("王老师.mp4", "王老师"),
        ("李老师-竖屏.mp4", "李老师-竖屏"),
        ("第一课-李老师2.mp4", "第一课-李老师2"),
        ("C:\\课程\\第一课.txt", "第一课"),
        ("-rf.mp4", "rf"),
        ("--.mp4", ""),
        (".hidden.mp4", "hidden"),
        ("a:b|c?.mp4", "a_b_c"),
        ('say "hi" <now>.wav', "say _hi_ _now"),
        ("trailing dots... .mp4", "trailing dots"),
        ("CON.mp4", "CON_"),
        ("lpt1.mov", "lpt1_"),
        ("naïve café.mp4", "naïve café"),
        ("tab\tand\u202enewline\n.mp4", "tabandnewline"),
    ],
)
def test_file_stems_keep_every_letter_and_drop_only_the_unsafe(given, expected) -> None:
    assert file_stem(given) == expected


def test_a_long_chinese_stem_is_cut_on_a_character_within_the_byte_budget() -> None:
    stem = safe_stem("讲" * 200)
    assert stem == "讲" * (MAX_STEM_BYTES // 3)
    assert len(f"{stem}-{stem}-99.srt".encode()) <= 255


def test_joined_stems_skip_empty_parts_and_names_are_unique_without_regard_to_case() -> None:
    assert joined_stem(["王老师", "", "第一课"]) == "王老师-第一课"
    taken: set[str] = set()
    names = [unique_file_name(stem, taken) for stem in ("Take", "take", "TAKE", "王")]
    assert names == ["Take.mp4", "take-2.mp4", "TAKE-3.mp4", "王.mp4"]


def test_a_utf8_name_goes_in_a_header_as_rfc6266_filename_star() -> None:
    assert content_disposition("a.srt") == 'inline; filename="a.srt"'
    header = content_disposition("王老师-第一课.srt", "attachment")
    assert header.startswith("attachment; filename*=utf-8''%E7%8E%8B")
    header.encode("latin-1")  # what an HTTP header must be
