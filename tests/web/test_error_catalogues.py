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


# What may stay in Latin letters inside a Chinese sentence: names of products, engines and
# models, units, file formats, protocol words, and single letters the text speaks of as
# letters (the lips close on b, p and m). Codes (`access_token`, `OPENAI_API_KEY`,
# `instruct2`) are allowed by their shape: an underscore or a digit.
LATIN_IN_CHINESE = {
    "lipforge", "heygem", "openai", "cosyvoice", "espeak", "piper", "fish-speech", "meshwarp",
    "alloy", "localhost", "api", "gpu", "cpu", "hz", "b", "kib", "mib", "gib", "srt", "vtt",
    "zip", "txt", "mp4", "mov", "mkv", "webm", "m4a", "mp3", "wav", "flac", "ogg", "opus",
    "aac", "sft", "m", "o", "p", "u",
}  # fmt: skip
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.+-]*")
URL = re.compile(r"https?://\S+")


def _strings(node: object, path: str = ""):
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _strings(item, f"{path}[{index}]")
    else:
        for key, value in node.items():
            yield from _strings(value, f"{path}.{key}" if path else key)


def test_chinese_texts_hold_no_english_words() -> None:
    """No English fragment in the zh-CN catalogue (every failure code's text included):
    each Latin word is a placeholder, a code, or a name, unit or format on the list."""
    found = []
    for path, text in _strings(catalogue("zh-CN")):
        bare = URL.sub(" ", PLACEHOLDER.sub(" ", text))
        for word in LATIN_WORD.findall(bare):
            word = word.rstrip(".")
            is_code = "_" in word or any(ch.isdigit() for ch in word)
            if not is_code and word.lower() not in LATIN_IN_CHINESE:
                found.append((path, word))
    assert found == [], found


def test_speech_engines_are_named_in_both_languages() -> None:
    """A failing TTS server is named by its engine (params.engine): every engine the server
    registers has a name in each catalogue, so no English label lands in a Chinese sentence."""
    from lipforge.speech.engines import speech_engine_names

    for language in LANGUAGES:
        names = catalogue(language)["voices"]["engineNames"]
        assert set(speech_engine_names()) <= set(names), (language, names)
    assert catalogue("zh-CN")["voices"]["engineNames"]["openai"] == "OpenAI 兼容接口"
