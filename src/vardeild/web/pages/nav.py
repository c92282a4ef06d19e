"""The portal's navigation: each page module registers the links it adds, with who sees them,
so the header is built from what is installed and no module edits another's template."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from vardeild.access.model import Role


class Audience(Enum):
    """Who a link is for."""

    CERT = "cert"  # CERT staff, every CERT role
    MEMBER = "member"  # a member's people
    SIGNED_IN = "signed_in"  # anyone signed in


@dataclass(frozen=True)
class NavLink:
    """One link of the header: its path, the i18n key of its text, its audience and its
    order (lower first)."""

    path: str
    text_key: str
    audience: Audience
    order: int = 50


_LINKS: list[NavLink] = []


def add_link(link: NavLink) -> None:
    """Register a header link (once per path; a second registration of a path is an error)."""
    if any(known.path == link.path for known in _LINKS):
        raise ValueError(f"the header already links {link.path}")
    _LINKS.append(link)


def links_for(role: Role | None) -> list[NavLink]:
    """Return the links a user of role sees (none when nobody is signed in), in order."""
    if role is None:
        return []
    wanted = {Audience.SIGNED_IN, Audience.CERT if role.is_cert else Audience.MEMBER}
    return sorted((link for link in _LINKS if link.audience in wanted), key=lambda k: k.order)
