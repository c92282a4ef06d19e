"""Reading an import file of any supported kind, bounded in size, into `ParsedScan`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from vardeild.exposure.imports_nessus import parse_nessus
from vardeild.exposure.imports_nmap import parse_nmap_import
from vardeild.exposure.imports_nuclei import parse_nuclei
from vardeild.exposure.model import MAX_FILE_BYTES, ImportRefused, ParsedScan, Source
from vardeild.exposure.nmap_xml import parse_xml_safely

PARSERS: dict[Source, Callable[[bytes, str], ParsedScan]] = {
    Source.NMAP: parse_nmap_import,
    Source.NESSUS: parse_nessus,
    Source.NUCLEI: parse_nuclei,
}


def detect_format(data: bytes, name: str) -> Source:
    """Return the import format data is in, from its first bytes; ImportRefused if none."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        if b"<nmaprun" in data[:65536]:
            return Source.NMAP
        if b"<NessusClientData_v2" in data[:65536]:
            return Source.NESSUS
        root = parse_xml_safely(data, name)  # an unsafe document is refused as unsafe first
        raise ImportRefused(
            f"{name}: XML, but neither nmap (<nmaprun>) nor Nessus v2 (<NessusClientData_v2>); "
            f"the root element is <{root.tag}>"
        )
    if head.startswith((b"{", b"[")) or not head:
        return Source.NUCLEI
    first_line = head.split(b"\n", 1)[0].lower()
    if b"plugin" in first_line and (b"," in first_line or b";" in first_line):
        raise ImportRefused(
            f"{name}: a Nessus CSV export (its header names plugin columns), not Nessus v2 XML; "
            "export the scan as .nessus"
        )
    raise ImportRefused(
        f"{name}: not a supported format (nmap XML, Nessus v2 .nessus, Nuclei JSONL); "
        f"it starts with {head[:20]!r}"
    )


def read_import(path: Path, kind: Source | None = None) -> ParsedScan:
    """Return what the file at path holds; ImportRefused names the file and why it is refused
    as a whole (too large, unsafe or not the format)."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ImportRefused(f"{path.name}: {size} bytes, more than the {MAX_FILE_BYTES} allowed")
    return read_import_data(path.read_bytes(), path.name, kind)


def read_import_data(data: bytes, name: str, kind: Source | None = None) -> ParsedScan:
    """Return what a file's bytes hold (an upload over the API); ImportRefused as read_import."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportRefused(f"{name}: {len(data)} bytes, more than the {MAX_FILE_BYTES} allowed")
    chosen = kind or detect_format(data, name)
    if chosen not in PARSERS:
        raise ImportRefused(f"{name}: {chosen.value} is not a file import format")
    return PARSERS[chosen](data, name)
