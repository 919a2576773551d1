"""Configuration Migration Tool (CMT) data packages: pure reading and writing, no HTTP, no snapshots.

A package is a zip (or folder) with ``data_schema.xml`` (:mod:`seeder.cmt.schema_xml`), ``data.xml``
(:mod:`seeder.cmt.data_xml`) and ``[Content_Types].xml`` (:mod:`seeder.cmt.archive`). Values are mapped
to and from the Web API JSON shape exactly in :mod:`seeder.cmt.values`; whole records in
:mod:`seeder.cmt.records`. The verb that turns packages into snapshots and back is ``seeder.interop``.
"""

from seeder.cmt.archive import CONTENT_TYPES, DEFAULT_MAX_ENTRY_BYTES, CmtPackageReader, write_package
from seeder.cmt.data_xml import CmtDataField, CmtEntityStart, CmtLinks, CmtRecord, DataXmlWriter, iter_data
from seeder.cmt.records import FORMATTED_VALUE, record_from_cmt, record_to_cmt
from seeder.cmt.report import CmtIssue, CmtReport
from seeder.cmt.schema_xml import (
    CmtEntity,
    CmtField,
    CmtRelationship,
    CmtSchema,
    cmt_schema_from_schema,
    intersect_columns,
    parse_schema,
    schema_from_cmt_schema,
    write_schema,
)
from seeder.cmt.values import cmt_type_for, decode_value, encode_value, html_decode, html_encode

__all__ = [
    "CONTENT_TYPES",
    "DEFAULT_MAX_ENTRY_BYTES",
    "FORMATTED_VALUE",
    "CmtDataField",
    "CmtEntity",
    "CmtEntityStart",
    "CmtField",
    "CmtIssue",
    "CmtLinks",
    "CmtPackageReader",
    "CmtRecord",
    "CmtRelationship",
    "CmtReport",
    "CmtSchema",
    "DataXmlWriter",
    "cmt_schema_from_schema",
    "cmt_type_for",
    "decode_value",
    "encode_value",
    "html_decode",
    "html_encode",
    "intersect_columns",
    "iter_data",
    "parse_schema",
    "record_from_cmt",
    "record_to_cmt",
    "schema_from_cmt_schema",
    "write_package",
    "write_schema",
]
