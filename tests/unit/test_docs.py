"""Documentation that is generated from code stays true."""

from __future__ import annotations

from pathlib import Path

from vardeild.settings import settings_reference

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_settings_reference_is_current() -> None:
    assert (DOCS / "settings.md").read_text(encoding="utf-8") == settings_reference(), (
        "docs/settings.md is stale: run `python -m vardeild.settings > docs/settings.md`"
    )


def test_docs_index_links_exist() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for line in index.splitlines():
        if "](" in line:
            target = line.split("](", 1)[1].split(")", 1)[0]
            assert (DOCS / target).exists(), f"docs/index.md links to missing {target}"
