"""Suricata exports: datasets in the format Suricata reads (base64 strings, plain addresses
and hashes), rules referencing each with the dataset keyword's syntax, and IP reputation for
networks."""

from __future__ import annotations

import base64
import re

import pytest

from support.shared_indicators import ONE_OF_EACH, one_of_each, shared
from vardeild.core.tlp import Tlp
from vardeild.intel.model import IndicatorType
from vardeild.intel.sensor_exports import SID_BASE, suricata_export

_RULE = re.compile(
    r'^alert (dns|tls|http|ip) any any -> any any \(msg:"VARDEILD intel [^"]+"; (.+) '
    r"classtype:bad-unknown; sid:(\d+); rev:1;\)$"
)


def test_every_value_lands_in_its_list() -> None:
    made = suricata_export(one_of_each())
    files = made.files
    domains = files["vardeild-domain.lst"].decode().split()
    assert [base64.b64decode(line).decode() for line in domains] == ["o'brien.example.no"]
    assert files["vardeild-ipv4.lst"] == b"192.0.2.1\n"
    assert files["vardeild-ipv6.lst"] == b"2001:db8::1\n"
    assert files["vardeild-ja3.lst"].decode().strip() == ONE_OF_EACH[IndicatorType.JA3]
    assert files["vardeild-sha256.lst"].decode().strip() == "ab" * 32
    host = base64.b64decode(files["vardeild-http-host.lst"]).decode()
    assert host == "2001:db8::2"
    assert files["vardeild-iprep.list"] == b"198.51.100.0/24,1,101\n"
    assert files["vardeild-iprep-categories.txt"].startswith(b"1,VardeildIntel,")
    assert made.counts["cidr"] == 1
    assert made.counts["domain"] == 1


def test_rules_reference_every_list_with_stable_sids() -> None:
    made = suricata_export(one_of_each())
    lines = [line for line in made.files["vardeild.rules"].decode().splitlines() if line[:1] != "#"]
    sids = []
    for line in lines:
        match = _RULE.match(line)
        assert match, line
        sids.append(int(match.group(3)))
        options = match.group(2)
        dataset = re.search(r"dataset:isset,(vardeild-[a-z0-9-]+),type (\w+),load (\S+);", options)
        file_keyword = re.search(r"file(md5|sha1|sha256):(\S+);", options)
        iprep = re.search(r"iprep:any,VardeildIntel,>,0;", options)
        assert dataset or file_keyword or iprep, line
        if dataset:
            assert dataset.group(2) in ("string", "ipv4", "ip", "md5")
            assert dataset.group(3) in made.files
            assert dataset.group(1) + ".lst" == dataset.group(3)
        if file_keyword:
            assert file_keyword.group(2) in made.files
    assert sids == sorted(set(sids))
    assert all(SID_BASE < sid < SID_BASE + 100 for sid in sids)
    assert suricata_export([]).files["vardeild.rules"] == made.files["vardeild.rules"]


def test_the_highest_confidence_of_a_network_counts() -> None:
    made = suricata_export(
        [
            shared(IndicatorType.CIDR, "10.0.0.0/8", confidence=10, source="a"),
            shared(IndicatorType.CIDR, "10.0.0.0/8", confidence=100, source="b"),
            shared(IndicatorType.CIDR, "10.1.0.0/16", confidence=0),
        ]
    )
    assert made.files["vardeild-iprep.list"] == b"10.0.0.0/8,1,127\n10.1.0.0/16,1,1\n"


def test_red_is_refused() -> None:
    with pytest.raises(ValueError, match="TLP:RED"):
        suricata_export([shared(IndicatorType.IPV4, "192.0.2.1", tlp=Tlp.RED)])
