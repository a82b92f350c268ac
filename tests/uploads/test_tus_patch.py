"""PATCH: offsets, content type, checksums, sizes, expiry header, 0-byte and final-concat rules."""

from __future__ import annotations

import base64
import hashlib

import pytest

from .conftest import TUS, create, patch


def checksum(algorithm: str, data: bytes) -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def offset_of(api, url: str) -> int:
    return int(api.head(url, headers=TUS).headers["Upload-Offset"])


def test_patch_appends_and_answers_offset_and_expires(api):
    url = create(api, 6).headers["Location"]
    response = patch(api, url, 0, b"abc")
    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == "3"
    assert response.headers["Upload-Expires"].endswith("GMT")
    assert patch(api, url, 3, b"def").headers["Upload-Offset"] == "6"


def test_offset_mismatch_is_409_and_changes_nothing(api, settings):
    url = create(api, 10).headers["Location"]
    patch(api, url, 0, b"abc")
    response = patch(api, url, 1, b"XYZ")
    assert response.status_code == 409
    assert offset_of(api, url) == 3
    data_file = settings.data_dir.uploads / url.rsplit("/", 1)[1]
    assert data_file.read_bytes() == b"abc"


def test_wrong_content_type_is_415(api):
    url = create(api, 3).headers["Location"]
    response = api.patch(
        url, content=b"abc", headers={**TUS, "Upload-Offset": "0", "Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert offset_of(api, url) == 0


@pytest.mark.parametrize("algorithm", ["sha1", "md5", "sha256"])
def test_matching_checksum_is_accepted(api, algorithm):
    url = create(api, 5).headers["Location"]
    response = patch(api, url, 0, b"hello", Upload_Checksum=checksum(algorithm, b"hello"))
    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == "5"


def test_checksum_mismatch_is_460_and_the_chunk_is_discarded(api, settings):
    url = create(api, 10).headers["Location"]
    patch(api, url, 0, b"abc")
    response = patch(api, url, 3, b"defg", Upload_Checksum=checksum("sha1", b"XXXX"))
    assert response.status_code == 460
    assert offset_of(api, url) == 3
    assert (settings.data_dir.uploads / url.rsplit("/", 1)[1]).read_bytes() == b"abc"


def test_unknown_checksum_algorithm_is_400(api):
    url = create(api, 3).headers["Location"]
    response = patch(api, url, 0, b"abc", Upload_Checksum="crc32 AAAAAA==")
    assert response.status_code == 400
    assert response.json()["error"] == "unknown_checksum_algorithm"
    assert offset_of(api, url) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Upload-Offset": "-3"},
        {"Upload-Offset": "zero"},
        {"Upload-Offset": "1" * 30},
        {"Upload-Checksum": "sha1"},
        {"Upload-Checksum": "sha1 !!!notbase64"},
        {"Upload-Checksum": "sha1 YWJj"},
    ],
)
def test_bad_patch_headers_are_400(api, headers):
    url = create(api, 3).headers["Location"]
    sent = {**TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}
    response = api.patch(url, content=b"abc", headers={**sent, **headers})
    assert response.status_code == 400, response.text
    assert offset_of(api, url) == 0


def test_missing_offset_is_400(api):
    url = create(api, 3).headers["Location"]
    response = api.patch(
        url, content=b"abc", headers={**TUS, "Content-Type": "application/offset+octet-stream"}
    )
    assert response.status_code == 400


def test_chunk_past_the_declared_length_is_413(api):
    url = create(api, 3).headers["Location"]
    assert patch(api, url, 0, b"abcd").status_code == 413
    assert offset_of(api, url) == 0


def test_zero_byte_upload_finishes_at_creation(api):
    created = create(api, 0)
    assert created.status_code == 201
    url = created.headers["Location"]
    assert api.head(url, headers=TUS).headers["Upload-Offset"] == "0"
    status = api.get(url).json()
    assert status["state"] in {"refused", "processing"}
    assert patch(api, url, 0, b"").status_code == 204
