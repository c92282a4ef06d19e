"""nmap XML files (`nmap -oX`) into `ParsedScan`: the import side of `nmap_xml`."""

from __future__ import annotations

from vardeild.exposure.model import ParsedScan, Source
from vardeild.exposure.nmap_xml import parse_nmap_xml


def parse_nmap_import(data: bytes, name: str) -> ParsedScan:
    """Return what an imported nmap XML file saw; ImportRefused for a file that is not one."""
    return parse_nmap_xml(data, name, source=Source.NMAP)
