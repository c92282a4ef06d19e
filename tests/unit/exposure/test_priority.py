"""Priority: KEV (ransomware first), then EPSS, CVSS, service exposure, member criticality."""

from __future__ import annotations

from datetime import date

import pytest

from vardeild.exposure.model import Priority, SlaDays
from vardeild.exposure.priority import (
    RiskFacts,
    ServiceExposure,
    prioritise,
    service_exposure,
)
from vardeild.members.model import Criticality

TODAY = date(2026, 11, 28)
SLA = SlaDays(p1=7, p2=30, p3=90, p4=180)


def facts(**overrides: object) -> RiskFacts:
    base: dict[str, object] = {
        "kev": False,
        "kev_ransomware": False,
        "kev_due_date": None,
        "epss": None,
        "cvss": None,
        "exposure": ServiceExposure.ORDINARY,
        "criticality": Criticality.MEDIUM,
    }
    base.update(overrides)
    return RiskFacts(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"kev": True, "cvss": 2.0}, Priority.P1),
        ({"epss": 0.5, "cvss": 9.8}, Priority.P1),
        ({"epss": 0.5, "cvss": 5.0, "exposure": ServiceExposure.SENSITIVE}, Priority.P1),
        ({"epss": 0.5, "cvss": 5.0}, Priority.P2),
        ({"epss": 0.01, "cvss": 9.8}, Priority.P2),
        ({"cvss": 7.5, "exposure": ServiceExposure.SENSITIVE}, Priority.P2),
        ({"cvss": 7.5}, Priority.P3),
        ({"cvss": 5.0}, Priority.P3),
        ({"cvss": 3.1}, Priority.P4),
        ({}, Priority.P4),
        ({"cvss": 5.0, "criticality": Criticality.CRITICAL}, Priority.P2),
        ({"cvss": 3.0, "criticality": Criticality.CRITICAL}, Priority.P3),
        ({"cvss": 9.8, "criticality": Criticality.CRITICAL}, Priority.P2),  # P1 kept for exploited
    ],
)
def test_labels(overrides: dict[str, object], expected: Priority) -> None:
    assert prioritise(facts(**overrides), today=TODAY, sla=SLA).priority is expected


def test_order_kev_ransomware_then_kev_then_epss_then_cvss_then_exposure_then_member() -> None:
    ranked = [
        facts(kev=True, kev_ransomware=True, cvss=5.0),
        facts(kev=True, cvss=9.8),
        facts(epss=0.9, cvss=9.8),
        facts(epss=0.2, cvss=9.8),
        facts(cvss=9.8, exposure=ServiceExposure.SENSITIVE, criticality=Criticality.LOW),
        facts(cvss=9.8, exposure=ServiceExposure.ORDINARY, criticality=Criticality.HIGH),
        facts(cvss=9.1, exposure=ServiceExposure.ORDINARY, criticality=Criticality.HIGH),
        facts(cvss=9.1, exposure=ServiceExposure.ORDINARY, criticality=Criticality.LOW),
        facts(cvss=5.0),
    ]
    keys = [prioritise(f, today=TODAY, sla=SLA).sort_key for f in ranked]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_due_date_per_sla_and_kev_due_date_when_sooner() -> None:
    assert prioritise(facts(cvss=5.0), today=TODAY, sla=SLA).due_on == date(2027, 2, 26)
    assert prioritise(facts(kev=True), today=TODAY, sla=SLA).due_on == date(2026, 12, 5)
    kev_soon = facts(kev=True, kev_due_date=date(2026, 12, 1))
    assert prioritise(kev_soon, today=TODAY, sla=SLA).due_on == date(2026, 12, 1)
    kev_past = facts(kev=True, kev_due_date=date(2025, 1, 1))
    assert prioritise(kev_past, today=TODAY, sla=SLA).due_on == TODAY  # overdue: due now


def test_basis_says_why() -> None:
    result = prioritise(facts(kev=True, kev_ransomware=True), today=TODAY, sla=SLA)
    assert result.basis == "known exploited (CISA KEV), used by ransomware"


@pytest.mark.parametrize(
    ("port", "service", "expected"),
    [
        (3389, "ms-wbt-server", ServiceExposure.SENSITIVE),
        (2222, "ssh", ServiceExposure.SENSITIVE),
        (15432, "postgresql", ServiceExposure.SENSITIVE),
        (443, "ssl/http", ServiceExposure.ORDINARY),
        (8080, "http-proxy", ServiceExposure.ORDINARY),
    ],
)
def test_service_exposure(port: int, service: str, expected: ServiceExposure) -> None:
    assert service_exposure(port, service) is expected
