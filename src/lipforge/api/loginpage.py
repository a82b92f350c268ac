"""The login page as a person sees it: in the reader's language, styled like the UI.

The words come from the UI's own catalogues (`web/src/locales/*.json`, section `login`
and the error codes), so the page and the app say the same things. The language is the
one the UI remembers (its `lipforge_lang` cookie), else `?lang=`, else the browser's
Accept-Language, else English. This module renders; `login.py` decides.
"""

from __future__ import annotations

import functools
import html
import json
import re
from pathlib import Path

from fastapi import Request

LOCALES_DIR = Path(__file__).resolve().parent.parent / "web" / "src" / "locales"
LANGUAGES = ("zh-CN", "en")
LANGUAGE_COOKIE = "lipforge_lang"
PLACEHOLDER = re.compile(r"\{(\w+)\}")

PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>LipForge · {title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
:root{{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans CJK SC","PingFang SC",
"Microsoft YaHei","WenQuanYi Micro Hei","DejaVu Sans",sans-serif;color:#1d2330;background:#f5f6f8;
line-height:1.45}}
body{{margin:0}}
header{{background:#111827;color:#fff;padding:.6rem 1.2rem;font-weight:700;font-size:1.1rem}}
main{{max-width:26rem;margin:3rem auto;padding:0 1rem}}
.card{{background:#fff;border:1px solid #e3e6ea;border-radius:8px;padding:1.2rem 1.3rem}}
h1{{font-size:1.3rem;margin:0 0 .6rem}}
p{{color:#5b6472;font-size:.95rem}}
label{{display:block;font-weight:600;font-size:.9rem;margin:.8rem 0 .3rem}}
input{{width:100%;box-sizing:border-box;font:inherit;padding:.5rem .7rem;border:1px solid #b6c0cc;
border-radius:6px}}
button{{margin-top:1rem;font:inherit;font-weight:600;padding:.5rem 1.2rem;border-radius:6px;
border:1px solid #1d4ed8;background:#1d4ed8;color:#fff;cursor:pointer}}
:focus-visible{{outline:3px solid #60a5fa;outline-offset:2px}}
.error{{color:#b91c1c;background:#fee2e2;border-radius:4px;padding:.4rem .6rem}}
code{{font-family:ui-monospace,"DejaVu Sans Mono",monospace}}
</style></head>
<body><header>LipForge</header><main><div class="card"><h1>{title}</h1><p>{hint}</p>{error}
<form method="post" action="/login"><input type="hidden" name="next" value="{next}">
<label for="token">{token_label}</label><input id="token" type="password" name="token"
autocomplete="current-password" autofocus required><button type="submit">{submit}</button>
</form></div></main></body></html>
"""


@functools.cache
def catalogue(language: str) -> dict:
    return json.loads((LOCALES_DIR / f"{language}.json").read_text(encoding="utf-8"))


def _match(tag: str) -> str | None:
    tag = tag.strip().lower()
    if tag.startswith("zh"):
        return "zh-CN"
    if tag.startswith("en"):
        return "en"
    return None


def page_language(request: Request) -> str:
    """?lang=, else the UI's remembered choice (cookie), else Accept-Language, else English."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        matched = _match(candidate) if candidate else None
        if matched:
            return matched
    for part in request.headers.get("accept-language", "").split(","):
        found = _match(part.split(";")[0])
        if found:
            return found
    return "en"


def say(language: str, key: str, **params: object) -> str:
    """One catalogue entry (the first variant whose params are all given), filled in."""
    node: object = catalogue(language)
    for part in key.split("."):
        node = node[part]  # type: ignore[index]
    variants = node if isinstance(node, list) else [node]
    for text in variants:
        if all(name in params for name in PLACEHOLDER.findall(str(text))):
            return PLACEHOLDER.sub(lambda m: str(params[m.group(1)]), str(text))
    return str(variants[-1])


def login_page_html(request: Request, next_path: str, error: str = "") -> str:
    language = page_language(request)
    error_html = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return PAGE.format(
        lang=language,
        title=html.escape(say(language, "login.title")),
        hint=html.escape(say(language, "login.hint")),
        token_label=html.escape(say(language, "login.token")),
        submit=html.escape(say(language, "login.submit")),
        error=error_html,
        next=html.escape(next_path),
    )
