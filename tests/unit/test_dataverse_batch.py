"""$batch multipart encoding and decoding, including Microsoft's documented response shape."""

from __future__ import annotations

import pytest

from seeder.dataverse.batch import PartRequest, decode_batch, encode_batch
from seeder.errors import DataverseError

DOC_RESPONSE = (
    "--batchresponse_f27ef42d\r\n"
    "Content-Type: multipart/mixed; boundary=changesetresponse_64cc3fff\r\n\r\n"
    "--changesetresponse_64cc3fff\r\n"
    "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1\r\n\r\n"
    "HTTP/1.1 204 No Content\r\nOData-Version: 4.0\r\n"
    "Location: https://contoso.crm.dynamics.com/api/data/v9.2/accounts(e73ffc82-0000-0000-0000-000000000001)\r\n"
    "OData-EntityId: https://contoso.crm.dynamics.com/api/data/v9.2/accounts(e73ffc82-0000-0000-0000-000000000001)\r\n"
    "\r\n\r\n"
    "--changesetresponse_64cc3fff--\r\n"
    "--batchresponse_f27ef42d\r\n"
    "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
    "HTTP/1.1 400 Bad Request\r\nREQ_ID: 5e4b3c2a\r\n"
    "Content-Type: application/json; odata.metadata=minimal\r\nOData-Version: 4.0\r\n\r\n"
    '{"error":{"code":"0x80044331","message":"A validation error occurred.  The length of the '
    "'subject' attribute of the 'task' entity exceeded the maximum allowed length of '200'.\"}}\r\n"
    "--batchresponse_f27ef42d\r\n"
    "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
    "HTTP/1.1 200 OK\r\nContent-Type: application/json; odata.metadata=minimal; odata.streaming=true\r\n"
    "OData-Version: 4.0\r\n\r\n"
    '{"@odata.context":"x","value":[{"name":"A"}]}\r\n'
    "--batchresponse_f27ef42d--\r\n"
)


def test_decodes_documented_response_with_changeset_error_and_get():
    parts = decode_batch(DOC_RESPONSE.encode(), "multipart/mixed; boundary=batchresponse_f27ef42d")
    assert [p.status for p in parts] == [204, 400, 200]
    assert parts[0].content_id == "1"
    assert parts[0].headers["odata-entityid"].endswith("(e73ffc82-0000-0000-0000-000000000001)")
    err = parts[1].error()
    assert err["code"] == "0x80044331" and err["request_id"] == "5e4b3c2a" and "'subject'" in err["message"]
    assert parts[2].json()["value"] == [{"name": "A"}]


def test_decodes_lf_only_bodies():
    lf = DOC_RESPONSE.replace("\r\n", "\n")
    parts = decode_batch(lf.encode(), 'multipart/mixed; boundary="batchresponse_f27ef42d"')
    assert [p.status for p in parts] == [204, 400, 200]


def test_encode_independent_parts_crlf_with_content_ids_and_lengths():
    body, ctype = encode_batch(
        [PartRequest("PATCH", "accounts(1)", {"name": "A"}, {"If-Match": "*"}),
         PartRequest("GET", "/api/data/v9.2/accounts?$top=1")],
        "/api/data/v9.2", boundary="batch_X")
    text = body.decode()
    assert ctype == 'multipart/mixed; boundary="batch_X"'
    assert text.startswith("--batch_X\r\n") and text.endswith("--batch_X--\r\n")
    assert "PATCH /api/data/v9.2/accounts(1) HTTP/1.1\r\nIf-Match: *\r\n" in text
    assert 'Content-Length: 12\r\n\r\n{"name":"A"}' in text
    assert "Content-ID: 1" in text and "Content-ID: 2" in text
    assert "changeset" not in text


def test_encode_atomic_wraps_in_changeset():
    body, _ = encode_batch([PartRequest("POST", "accounts", {"name": "P"})], "/api/data/v9.2",
                           atomic=True, boundary="batch_Y")
    text = body.decode()
    assert 'Content-Type: multipart/mixed; boundary="changeset_' in text
    assert text.count("--changeset_") == 2  # one part, one terminator


def test_round_trip_of_encoded_shape_through_decoder_shape():
    # a response built with the encoder's framing decodes to the same number of parts
    resp = ("--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n\r\n" * 3) + "--b--\r\n"
    assert [p.status for p in decode_batch(resp.encode(), "multipart/mixed; boundary=b")] == [204, 204, 204]


def test_missing_boundary_is_a_dataverse_error():
    with pytest.raises(DataverseError):
        decode_batch(b"", "application/json")
