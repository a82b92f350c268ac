"""The docs a newcomer follows: the generated references are current, every relative link leads
somewhere, and the README stays short."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lipforge.cli.reference import REFERENCE_DIR, cli_reference, configuration_reference

REPO = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")
REGENERATE = ".venv/bin/python -m lipforge.cli.reference --write"


@pytest.mark.parametrize(
    ("name", "make"), [("configuration.md", configuration_reference), ("cli.md", cli_reference)]
)
def test_generated_reference_is_current(name, make):
    on_disk = (REFERENCE_DIR / name).read_text(encoding="utf-8")
    assert on_disk == make(), f"docs/reference/{name} is stale: run `{REGENERATE}`"


def test_every_setting_and_cli_variable_is_in_the_references():
    from dataclasses import fields

    from lipforge.config import Settings

    configuration = (REFERENCE_DIR / "configuration.md").read_text(encoding="utf-8")
    for field in fields(Settings):
        assert f"`LIPFORGE_{field.name.upper()}`" in configuration
    cli = (REFERENCE_DIR / "cli.md").read_text(encoding="utf-8")
    for variable in ("LIPFORGE_SERVER", "LIPFORGE_TOKEN", "LIPFORGE_RECONNECT_S"):
        assert f"`{variable}`" in cli


def test_readme_stays_a_door():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 170, "README.md is a door: move the depth to docs/"
    for command in ("./scripts/serve.sh", "./scripts/test.sh"):
        assert command in readme


@pytest.mark.parametrize(
    "doc", sorted([REPO / "README.md", *(REPO / "docs").rglob("*.md")]), ids=lambda p: p.name
)
def test_relative_links_lead_somewhere(doc):
    broken = []
    for target, _anchor in LINK.findall(doc.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue
        if not (doc.parent / target).exists():
            broken.append(target)
    assert not broken, f"{doc.relative_to(REPO)} links to missing files: {broken}"
