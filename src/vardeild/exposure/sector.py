"""The CERT's question across the sector: which members expose this CVE, or a product a new KEV
entry names? Answered in one query over every member's present exposures and their findings.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize
from vardeild.core.errors import ValidationFailed
from vardeild.exposure.knowledge import kev_product
from vardeild.exposure.tables import ExposureRow, FindingRow
from vardeild.members import service as members

_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$")


def _cpe_name(text: str) -> str:
    """Return a product or vendor name as CPE writes it: lower case, spaces as underscores."""
    return re.sub(r"\s+", "_", text.strip().lower())


def _runs(product: str, vendor: str | None) -> Any:
    """Return the condition: an exposure runs product (by name or CPE), of vendor if given."""
    name = product.strip().lower()
    by_name = func.lower(ExposureRow.product).contains(name, autoescape=True)
    by_cpe = func.lower(ExposureRow.cpe).contains(f":{_cpe_name(product)}:", autoescape=True)
    wanted = or_(by_name, by_cpe)
    if vendor and vendor.strip():
        wanted = and_(
            wanted,
            or_(
                func.lower(ExposureRow.product).contains(vendor.strip().lower(), autoescape=True),
                func.lower(ExposureRow.cpe).contains(f":{_cpe_name(vendor)}:", autoescape=True),
                # nmap often leaves the vendor out of the product name; a CPE-less exposure
                # whose product matched is still worth a look.
                ExposureRow.cpe == "",
            ),
        )
    return wanted


def who_exposes(
    session: Session,
    principal: Principal,
    *,
    cve_id: str | None = None,
    product: str | None = None,
    vendor: str | None = None,
) -> list[dict[str, Any]]:
    """Return, per member, the present exposures that have a finding of cve_id, run the product
    the CVE's KEV entry names, or run product (of vendor, when given).
    CERT only; ValidationFailed when neither a CVE nor a product is given."""
    authorize(principal, Action.LIST_ALL)
    if cve_id is not None:
        cve_id = cve_id.strip().upper()
        if not _CVE.match(cve_id):
            raise ValidationFailed.one("query", "cve", f"{cve_id!r} is not a CVE id (CVE-YYYY-N)")
    if not cve_id and not (product and product.strip()):
        raise ValidationFailed.one("query", "", "name a CVE id or a product")
    conditions: list[Any] = []
    if cve_id:
        conditions.append(FindingRow.cve_id == cve_id)
        named = kev_product(session, cve_id)
        if named is not None:
            # A new KEV entry names its product: members running it are exposed even before
            # the knowledge has the CVE's version ranges.
            conditions.append(_runs(named[1], named[0]))
    if product and product.strip():
        conditions.append(_runs(product, vendor))
    stmt = (
        select(ExposureRow, FindingRow.cve_id, FindingRow.status)
        .outerjoin(
            FindingRow,
            and_(FindingRow.exposure_id == ExposureRow.id, FindingRow.cve_id == (cve_id or "")),
        )
        .where(ExposureRow.present, or_(*conditions))
        .order_by(ExposureRow.member_id, ExposureRow.address, ExposureRow.port)
    )
    by_member: dict[int, list[dict[str, Any]]] = {}
    for exposure, finding_cve, finding_status in session.execute(stmt):
        by_member.setdefault(exposure.member_id, []).append(
            {
                "exposure_id": exposure.id,
                "address": exposure.address,
                "port": exposure.port,
                "transport": exposure.transport,
                "product": exposure.product,
                "version": exposure.version,
                "cpe": exposure.cpe,
                "finding": {"cve_id": finding_cve, "status": finding_status}
                if finding_cve
                else None,
                "last_seen": exposure.last_seen.isoformat(),
            }
        )
    answer = []
    for member_id, exposures in by_member.items():
        organisation = members.get_organisation_or_raise(session, principal, member_id)
        answer.append(
            {
                "member_id": member_id,
                "member": organisation["name"],
                "criticality": organisation.get("criticality"),
                "exposures": exposures,
            }
        )
    return answer
