"""File names as people type them, made safe to show: no control or invisible format characters.

A name such as "invoice\u202egnp.mp4" shows as "invoice4pm.png" wherever it is displayed
(U+202E RIGHT-TO-LEFT OVERRIDE); zero-width and other bidi controls hide or reorder text the
same way. Every name a client gives (upload metadata, imported files) and every name the
server puts in a `Content-Disposition` goes through `displayable_name`. This module only
cleans text; path separators and length are the callers' business.
"""

from __future__ import annotations

import unicodedata

REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})  # controls, format, line/para separators


def displayable_name(name: str) -> str:
    """`name` in NFC without control, format (bidi, zero-width) or line-separator characters."""
    text = unicodedata.normalize("NFC", name)
    return "".join(char for char in text if unicodedata.category(char) not in REMOVED_CATEGORIES)
