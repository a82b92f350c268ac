"""POST: creation, creation-with-upload, defer-length, limits, Location and concatenation."""

from __future__ import annotations

import base64
import hashlib

import pytest

from .conftest import OCTETS, TUS, UPLOADS, create, patch


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_creation_answers_201_with_location_and_expiry(api):
    response = create(api, 10)
    assert response.status_code == 201
    assert response.headers["Location"].startswith("http://testserver/api/uploads/")
    assert response.headers["Upload-Expires"].endswith("GMT")
    assert api.head(response.headers["Location"], headers=TUS).headers["Upload-Offset"] == "0"


def test_creation_with_upload_stores_the_first_chunk(api):
    response = api.post(UPLOADS, content=b"hello", headers={**OCTETS, "Upload-Length": "11"})
    assert response.status_code == 201
    assert response.headers["Upload-Offset"] == "5"
    head = api.head(response.headers["Location"], headers=TUS)
    assert head.headers["Upload-Offset"] == "5"


def test_creation_with_upload_checks_the_checksum(api):
    digest = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    response = api.post(
        UPLOADS,
        content=b"hello",
        headers={**OCTETS, "Upload-Length": "11", "Upload-Checksum": f"sha256 {digest}"},
    )
    assert response.status_code == 460


def test_defer_length_then_declare_it_in_a_patch(api):
    created = create(api, None, Upload_Defer_Length="1")
    assert created.status_code == 201
    url = created.headers["Location"]
    assert api.head(url, headers=TUS).headers["Upload-Defer-Length"] == "1"
    assert patch(api, url, 0, b"abc").headers["Upload-Offset"] == "3"
    response = patch(api, url, 3, b"de", Upload_Length="5")
    assert response.status_code == 204
    head = api.head(url, headers=TUS)
    assert head.headers["Upload-Length"] == "5"
    assert "Upload-Defer-Length" not in head.headers


def test_above_max_size_is_413(make_api):
    api = make_api(max_upload_bytes=100)
    assert create(api, 101).status_code == 413
    assert create(api, 100).status_code == 201


def test_body_with_wrong_content_type_is_415(api):
    response = api.post(
        UPLOADS, content=b"abc", headers={**TUS, "Upload-Length": "3", "Content-Type": "text/plain"}
    )
    assert response.status_code == 415


@pytest.mark.parametrize(
    "headers",
    [
        {"Upload-Length": "-1"},
        {"Upload-Length": "abc"},
        {"Upload-Length": "1e3"},
        {"Upload-Length": "9" * 40},
        {"Upload-Length": "99999999999999999999"},
        {"Upload-Length": " "},
        {},
        {"Upload-Length": "5", "Upload-Defer-Length": "1"},
        {"Upload-Defer-Length": "2"},
        {"Upload-Length": "5", "Upload-Metadata": "filename not*base64"},
        {"Upload-Length": "5", "Upload-Metadata": "a b c"},
        {"Upload-Length": "5", "Upload-Metadata": "k " + "QUFB" * 2000},
        {"Upload-Length": "5", "Upload-Metadata": "dup YQ==,dup Yg=="},
        {"Upload-Length": "5", "Upload-Concat": "whatever"},
        {"Upload-Concat": "final;/api/uploads/../../etc"},
        {"Upload-Concat": "final;"},
    ],
)
def test_bad_header_values_are_400_never_500(api, headers):
    response = api.post(UPLOADS, headers={**TUS, **headers})
    assert response.status_code == 400, response.text
    assert response.json()["error"] in {"bad_header", "bad_concatenation"}


def test_quota_of_unfinished_uploads_per_token(make_api):
    api = make_api(max_unfinished_uploads_per_token=2)
    first = create(api, 3)
    assert create(api, 3).status_code == 201
    refused = create(api, 3)
    assert refused.status_code == 429
    assert "limit is 2" in refused.json()["message"]
    patch(api, first.headers["Location"], 0, b"abc")
    assert create(api, 3).status_code == 201


def test_disk_guard_is_507_with_a_clear_message(make_api):
    api = make_api(min_free_disk_bytes=2**62)
    response = create(api, 10)
    assert response.status_code == 507
    assert "free" in response.json()["message"]
    assert "LIPFORGE_MIN_FREE_DISK_BYTES" in response.json()["message"]


def test_location_uses_forwarded_headers_only_behind_a_proxy(make_api, tmp_path):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "lip.example.org"}
    plain = make_api()
    assert (
        create(plain, 1, **forwarded_kwargs(forwarded))
        .headers["Location"]
        .startswith("http://testserver/")
    )
    proxied = make_api(behind_proxy=True, data=tmp_path / "other")
    location = create(proxied, 1, **forwarded_kwargs(forwarded)).headers["Location"]
    assert location.startswith("https://lip.example.org/api/uploads/")


def forwarded_kwargs(headers: dict[str, str]) -> dict[str, str]:
    return {key.replace("-", "_"): value for key, value in headers.items()}


def test_concatenation_of_partial_uploads(api):
    parts = [b"first part|", b"second part"]
    urls = []
    for data in parts:
        url = create(api, len(data), Upload_Concat="partial").headers["Location"]
        assert patch(api, url, 0, data).status_code == 204
        assert api.head(url, headers=TUS).headers["Upload-Concat"] == "partial"
        urls.append(url)
    final = create(api, None, Upload_Concat="final;" + " ".join(urls))
    assert final.status_code == 201
    final_url = final.headers["Location"]
    head = api.head(final_url, headers=TUS)
    assert head.headers["Upload-Length"] == str(sum(map(len, parts)))
    assert head.headers["Upload-Concat"].startswith("final;")
    assert patch(api, final_url, 0, b"x").status_code == 403


def test_final_concatenation_of_unfinished_partials_is_400(api):
    url = create(api, 10, Upload_Concat="partial").headers["Location"]
    patch(api, url, 0, b"abc")
    assert create(api, None, Upload_Concat=f"final;{url}").status_code == 400
