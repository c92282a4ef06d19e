"""The Traffic Light Protocol, version 2.0 (FIRST): how far a piece of information may travel.

Every domain that holds shared information (indicators, events, advisories, notices) marks it
with one of these labels, so the label lives in the kernel. The order matters: CLEAR is the
least restricted, RED the most; `Tlp.rank` compares them.
"""

from __future__ import annotations

from enum import StrEnum


class Tlp(StrEnum):
    """A TLP 2.0 label, written as FIRST writes it (`AMBER+STRICT`, without the `TLP:` prefix)."""

    CLEAR = "CLEAR"  # no limit on disclosure
    GREEN = "GREEN"  # the community (here: every member), not public
    AMBER = "AMBER"  # the recipients' organisations and their clients, need to know
    AMBER_STRICT = "AMBER+STRICT"  # the recipients' organisations only
    RED = "RED"  # the people present, no further

    @property
    def rank(self) -> int:
        """Return 0 (CLEAR) to 4 (RED): higher is more restricted."""
        return _ORDER.index(self)

    @classmethod
    def parse(cls, text: str) -> Tlp:
        """Return the label text names: `AMBER`, `amber`, `TLP:AMBER`, `TLP:AMBER+STRICT`; TLP
        1.0's `WHITE` is read as CLEAR, its successor. Raise ValueError naming the choices."""
        value = text.strip().upper().removeprefix("TLP:").strip()
        if value == "WHITE":
            return cls.CLEAR
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(label.value for label in cls)
            raise ValueError(f"{text!r} is not a TLP 2.0 label; write one of {choices}") from None


_ORDER = (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED)
