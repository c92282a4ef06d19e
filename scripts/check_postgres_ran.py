"""Fail unless the JUnit report shows PostgreSQL tests that ran, none of them skipped.

Used by .ci/run: a CI run in which the PostgreSQL half of the suite silently skipped would
otherwise look green.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def main(path: str) -> int:
    """Return 0 if PostgreSQL tests ran and none was skipped, else print why and return 1."""
    report = Path(path)
    if not report.exists():
        print(f"check_postgres_ran: no test report at {report}", file=sys.stderr)
        return 1
    ran = skipped = 0
    # Our own pytest report, written moments ago in this run: not untrusted input.
    for case in ET.parse(report).iter("testcase"):  # noqa: S314
        if "postgresql" not in case.get("name", "").partition("[")[2]:
            continue
        if case.find("skipped") is not None:
            skipped += 1
        else:
            ran += 1
    print(f"check_postgres_ran: {ran} PostgreSQL tests ran, {skipped} skipped")
    if skipped or not ran:
        print("check_postgres_ran: PostgreSQL tests must run in CI, none skipped", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "test-artifacts/junit.xml"))
