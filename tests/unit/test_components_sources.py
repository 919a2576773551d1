"""Solution file access: zip traversal, count and size refusal, hardened XML, BOM tolerance."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from seeder.components import ComponentSet, sources
from seeder.components.sources import SolutionFiles, parse_json, parse_xml, safe_entry_name
from seeder.errors import ComponentError

SOLUTION_XML = b"""\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>
<ImportExportXml><SolutionManifest><UniqueName>tiny</UniqueName><Version>1.2.0.0</Version><Managed>1</Managed>
<Publisher><UniqueName>pub</UniqueName><CustomizationPrefix>ti</CustomizationPrefix></Publisher>
<RootComponents /></SolutionManifest></ImportExportXml>"""
CUSTOM_XML = b"""<ImportExportXml><connectionreferences>
<connectionreference connectionreferencelogicalname="ti_sql">
<connectorid>/providers/Microsoft.PowerApps/apis/shared_sql</connectorid></connectionreference>
</connectionreferences></ImportExportXml>"""


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("name", ["../evil.xml", "Workflows/../../evil.json", "/etc/passwd", "C:/x.xml",
                                  "..\\evil.xml"])
def test_traversal_names_are_refused(name: str):
    with pytest.raises(ComponentError):
        safe_entry_name(name)


def test_zip_with_traversal_entry_is_refused(tmp_path: Path):
    z = _zip(tmp_path / "s.zip", {"solution.xml": SOLUTION_XML, "../../outside.json": b"{}"})
    with pytest.raises(ComponentError, match="outside"):
        ComponentSet.from_solution(z)
    assert not (tmp_path.parent / "outside.json").exists()


def test_zip_entry_count_and_size_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    z = _zip(tmp_path / "s.zip", {"solution.xml": SOLUTION_XML, "customizations.xml": CUSTOM_XML})
    monkeypatch.setattr(sources, "MAX_ENTRIES", 1)
    with pytest.raises(ComponentError, match="entries"):
        SolutionFiles.open(z)
    monkeypatch.setattr(sources, "MAX_ENTRIES", 100)
    monkeypatch.setattr(sources, "MAX_ENTRY_BYTES", 100)
    with pytest.raises(ComponentError, match="too big"):
        SolutionFiles.open(z)
    monkeypatch.setattr(sources, "MAX_ENTRY_BYTES", 10_000)
    monkeypatch.setattr(sources, "MAX_TOTAL_BYTES", 300)
    with pytest.raises(ComponentError, match="expands"):
        SolutionFiles.open(z)


def test_small_zip_reads_case_insensitively(tmp_path: Path):
    z = _zip(tmp_path / "s.zip", {"solution.xml": SOLUTION_XML, "customizations.xml": CUSTOM_XML})
    cs = ComponentSet.from_solution(z)
    assert cs.solutions[0].unique_name == "tiny" and cs.solutions[0].managed
    assert [c.logical_name for c in cs.connection_references] == ["ti_sql"]
    with SolutionFiles.open(z) as files:
        assert files.read("Solution.XML") == SOLUTION_XML
        assert files.read("missing.xml") is None


def test_not_a_zip_or_no_manifest(tmp_path: Path):
    bad = tmp_path / "x.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ComponentError):
        ComponentSet.from_solution(bad)
    with pytest.raises(ComponentError, match=r"Solution\.xml"):
        ComponentSet.from_solution(_zip(tmp_path / "e.zip", {"readme.txt": b"hi"}))
    with pytest.raises(ComponentError, match="does not exist"):
        ComponentSet.from_solution(tmp_path / "nope")


def test_xml_entities_are_not_resolved(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doc = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">'
           '<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><r>&x;&b;</r>').encode()
    root = parse_xml(doc)
    text = "".join(root.itertext())
    assert "TOP-SECRET" not in text
    assert "aaaaaaaaaa" not in text


def test_malformed_xml_and_json_raise_component_error():
    with pytest.raises(ComponentError, match="well-formed"):
        parse_xml(b"<a><b></a>")
    with pytest.raises(ComponentError, match="not valid JSON"):
        parse_json(b"\xef\xbb\xbf{oops")
    assert parse_json(b"\xef\xbb\xbf{\"a\": 1}") == {"a": 1}
    assert parse_json("\ufeff[]") == []
