"""The UI's catalogues (zh-CN, en) translate every error code the server can send, and
say the same things in both languages (same keys, same placeholders)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from server_error_codes import error_class_codes, literal_codes, server_error_codes

LOCALES = Path(__file__).resolve().parents[2] / "src" / "lipforge" / "web" / "src" / "locales"
LANGUAGES = ("en", "zh-CN")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def catalogue(language: str) -> dict:
    return json.loads((LOCALES / f"{language}.json").read_text(encoding="utf-8"))


def flatten(node: object, prefix: str = "") -> dict[str, object]:
    if isinstance(node, dict) and not set(node) <= {"one", "other"}:
        out: dict[str, object] = {}
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): node}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_server_error_code_is_translated(language: str) -> None:
    missing = sorted(server_error_codes() - set(catalogue(language)["errors"]))
    assert not missing, f"locales/{language}.json lacks errors.{{{', '.join(missing)}}}"


def test_the_collector_sees_classes_job_codes_and_hand_built_bodies() -> None:
    classes, literals = error_class_codes(), literal_codes()
    assert {"no_face", "not_media", "upload_not_found", "invalid_batch"} <= classes
    assert {"worker_lost", "internal_error", "bad_request"} <= literals


def test_both_languages_have_the_same_keys() -> None:
    english, chinese = flatten(catalogue("en")), flatten(catalogue("zh-CN"))
    assert set(english) == set(chinese)


def _variants(entry: object) -> list[str]:
    """Every wording of an entry: a string, a list of variants, plural forms or reasons."""
    if isinstance(entry, str):
        return [entry]
    if isinstance(entry, list):
        return entry
    return [text for value in entry.values() for text in _variants(value)]


def _fallback(entry: object) -> str:
    """What the UI says when no variant's params are all there (or the reason is new)."""
    if isinstance(entry, dict) and "other" not in entry:
        return _fallback(entry["default"])
    return _variants(entry)[-1]


def test_chinese_errors_use_only_params_the_english_names() -> None:
    english, chinese = catalogue("en")["errors"], catalogue("zh-CN")["errors"]
    for key, entry in chinese.items():
        known = {name for text in _variants(english[key]) for name in PLACEHOLDER.findall(text)}
        used = {name for text in _variants(entry) for name in PLACEHOLDER.findall(text)}
        assert used <= known, (key, used - known)


def test_every_error_has_a_variant_without_params_last() -> None:
    """With params missing, the UI still says something in the reader's language."""
    for language in LANGUAGES:
        for code, entry in catalogue(language)["errors"].items():
            last = _fallback(entry)
            assert not PLACEHOLDER.search(last) or code == "http", (language, code, last)
