"""The portal's words: every kind of notice and every role a member's page names has its text in
both languages (a missing one shows its key, as `member.kindname.case_update` did)."""

from __future__ import annotations

import pytest

import vardeild.web.pages  # noqa: F401  (registers every page module's words)
from vardeild.access.model import Role
from vardeild.notify.model import NoticeKind
from vardeild.web.pages.i18n import LANGUAGES, translate


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_notice_kind_is_named(language: str) -> None:
    for kind in NoticeKind:
        key = f"member.kindname.{kind.value}"
        assert translate(key, language) != key, f"{key} has no {language} text"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_role_is_named(language: str) -> None:
    for role in Role:
        key = f"role.{role.value}"
        assert translate(key, language) != key, f"{key} has no {language} text"
