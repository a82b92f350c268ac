"""Uploads under abuse: failed creations leave nothing behind, one client's quota does not lock
out the others, a replaced token cannot reach old uploads, names cannot hide their extension."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from fastapi.testclient import TestClient

from lipforge.api.app import create_app
from lipforge.assets.library import clean_original_name
from lipforge.config import Settings
from lipforge.filenames import displayable_name
from lipforge.http_range import ranged_file_response
from lipforge.uploads.headers import safe_file_name

from .conftest import OCTETS, TUS, UPLOADS, upload_path

OLD_TOKEN = "the-old-token-0123456789"
NEW_TOKEN = "the-new-token-9876543210"
RLO = "\u202e"


def upload_infos(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "uploads").glob("*.info"))


def client_from(settings: Settings, address: str, **kwargs) -> TestClient:
    return TestClient(create_app(settings), client=(address, 40000), **kwargs)


def test_failed_creations_with_upload_leave_no_upload_behind(make_api, tmp_path):
    api = make_api(max_unfinished_uploads_per_token=3)
    wrong_sum = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    for _ in range(5):
        too_long = api.post(
            UPLOADS, content=b"0123456789", headers={**OCTETS, "Upload-Length": "3"}
        )
        assert too_long.status_code == 413 and "location" not in too_long.headers
        bad_sum = api.post(
            UPLOADS,
            content=b"hello",
            headers={**OCTETS, "Upload-Length": "11", "Upload-Checksum": f"sha256 {wrong_sum}"},
        )
        assert bad_sum.status_code == 460
    assert upload_infos(tmp_path / "data") == []
    assert api.post(UPLOADS, headers={**TUS, "Upload-Length": "3"}).status_code == 201


def test_one_open_client_filling_its_quota_does_not_lock_out_another(tmp_path):
    settings = Settings(data=tmp_path / "data", min_free_disk_bytes=0,
                        max_unfinished_uploads_per_token=2)  # fmt: skip
    with client_from(settings, "10.0.0.7") as greedy, client_from(settings, "10.0.0.8") as other:
        for _ in range(2):
            assert greedy.post(UPLOADS, headers={**TUS, "Upload-Length": "3"}).status_code == 201
        refused = greedy.post(UPLOADS, headers={**TUS, "Upload-Length": "3"})
        assert refused.status_code == 429 and refused.json()["error"] == "upload_quota_exceeded"
        assert other.post(UPLOADS, headers={**TUS, "Upload-Length": "3"}).status_code == 201


def test_a_new_token_cannot_reach_uploads_made_under_the_old_one(tmp_path):
    data = tmp_path / "data"
    with TestClient(create_app(Settings(data=data, token=OLD_TOKEN, min_free_disk_bytes=0))) as old:
        old.headers["Authorization"] = f"Bearer {OLD_TOKEN}"
        made = old.post(UPLOADS, headers={**TUS, "Upload-Length": "6"})
        assert made.status_code == 201
        url = upload_path(made)
    with TestClient(create_app(Settings(data=data, token=NEW_TOKEN, min_free_disk_bytes=0))) as new:
        new.headers["Authorization"] = f"Bearer {NEW_TOKEN}"
        assert new.head(url, headers=TUS).status_code == 404
        assert new.get(url).status_code == 404
        patched = new.patch(url, content=b"abc", headers={**OCTETS, "Upload-Offset": "0"})
        assert patched.status_code == 404
        assert new.delete(url, headers=TUS).status_code == 404
    assert (
        len(upload_infos(data)) == 1
        and (data / "uploads" / f"{url.rsplit('/', 1)[1]}").stat().st_size == 0
    )


def test_bidi_and_format_controls_are_stripped_from_names(tmp_path):
    sneaky = f"invoice{RLO}4pm.exe\u200b\u2066.mp4"
    for cleaned in (displayable_name(sneaky), safe_file_name(sneaky), clean_original_name(sneaky)):
        assert RLO not in cleaned and "\u200b" not in cleaned and "\u2066" not in cleaned
        assert cleaned.startswith("invoice4pm.exe")
    target = tmp_path / "file.mp4"
    target.write_bytes(b"x")
    disposition = ranged_file_response(target, sneaky).headers["content-disposition"]
    assert "%E2%80%AE" not in disposition.upper() and RLO not in disposition
