"""OPTIONS, CORS and the version check, as a tus client or a browser sees them."""

from __future__ import annotations

from .conftest import TUS, UPLOADS, create


def test_options_advertises_version_size_extensions_and_checksums(make_api):
    api = make_api(max_upload_bytes=12345)
    response = api.options(UPLOADS)
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.headers["Tus-Max-Size"] == "12345"
    extensions = set(response.headers["Tus-Extension"].split(","))
    assert extensions == {
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "expiration",
        "checksum",
        "termination",
        "concatenation",
    }
    assert set(response.headers["Tus-Checksum-Algorithm"].split(",")) == {"sha1", "md5", "sha256"}


def test_options_ignores_a_wrong_version(api):
    assert api.options(UPLOADS, headers={"Tus-Resumable": "0.2.2"}).status_code == 204


def test_wrong_version_is_412_with_tus_version(api):
    response = api.post(UPLOADS, headers={"Tus-Resumable": "0.2.2", "Upload-Length": "5"})
    assert response.status_code == 412
    assert response.headers["Tus-Version"] == "1.0.0"
    missing = api.post(UPLOADS, headers={"Upload-Length": "5"})
    assert missing.status_code == 412


def test_cors_preflight_and_exposed_headers_for_configured_origin(make_api):
    api = make_api(cors_origins=("https://studio.example",))
    preflight = api.options(
        UPLOADS,
        headers={
            "Origin": "https://studio.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "tus-resumable,upload-length,upload-metadata",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://studio.example"
    assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Upload-Metadata" in preflight.headers["Access-Control-Allow-Headers"]
    created = create(api, 3, Origin="https://studio.example")
    exposed = created.headers["Access-Control-Expose-Headers"]
    for name in ("Location", "Upload-Offset", "Tus-Resumable", "Upload-Expires"):
        assert name in exposed
    head = api.head(
        created.headers["location"], headers={**TUS, "Origin": "https://studio.example"}
    )
    assert "Upload-Offset" in head.headers["Access-Control-Expose-Headers"]


def test_cors_headers_absent_for_other_origins(make_api):
    api = make_api(cors_origins=("https://studio.example",))
    created = create(api, 3, Origin="https://evil.example")
    assert created.status_code == 403  # an open server takes no changes from foreign pages
    assert "Access-Control-Allow-Origin" not in created.headers
    assert create(api, 3, Origin="https://studio.example").status_code == 201


def test_method_override_turns_post_into_patch_and_delete(api):
    url = create(api, 4).headers["location"]
    response = api.post(
        url,
        content=b"abcd",
        headers={
            **TUS,
            "X-HTTP-Method-Override": "PATCH",
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": "0",
        },
    )
    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == "4"
    other = create(api, 4).headers["location"]
    deleted = api.post(other, headers={**TUS, "X-HTTP-Method-Override": "DELETE"})
    assert deleted.status_code == 204
    assert api.head(other, headers=TUS).status_code == 404
