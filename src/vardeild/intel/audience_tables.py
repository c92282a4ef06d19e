"""The SQLAlchemy mapping of sharing audiences: which members an AMBER indicator is named to.

TLP:AMBER and AMBER+STRICT travel only to the recipients named; a row here names one. Rows are
removed with the indicator or the organisation (ON DELETE CASCADE), so an audience never
outlives either.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from vardeild.db.base import Base, UTCDateTime
from vardeild.intel.tables import IndicatorRow


class IndicatorAudienceRow(Base):
    """One member named as a recipient of one AMBER or AMBER+STRICT indicator."""

    __tablename__ = "indicator_audiences"

    indicator_id: Mapped[int] = mapped_column(
        ForeignKey("indicators.id", ondelete="CASCADE"),
        primary_key=True,
        comment="The indicator shared",
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
        comment="The member it is shared with",
    )
    added_at: Mapped[datetime] = mapped_column(
        UTCDateTime, comment="When the member was named; the indicator's date added for it"
    )
    added_by: Mapped[str] = mapped_column(String(200), comment="Actor who named the member")


# Every way out reads an audience's set in (date added, id) order, a page at a time (TAXII's
# `next`, the API's `after`); for the open sets the date added is the last change. Without
# this index each page sorts the whole table. Declared here, with the sharing it serves.
Index("ix_indicators_updated_at_id", IndicatorRow.updated_at, IndicatorRow.id)
