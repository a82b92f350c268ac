"""The assets API as a client sees it: list, filter, paging, get, delete, content by Range."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from lipforge.assets.library import ingest_file


@pytest.fixture
def ingest(api, tmp_path):
    """Ingest a copy of a media file through the library, as an upload would; the asset id."""

    def run(source: Path, name: str | None = None) -> str:
        copy = tmp_path / f"copy-{source.name}"
        shutil.copyfile(source, copy)
        state = api.app.state
        return ingest_file(copy, name or source.name, "upload", state.sessions, state.settings).id

    return run


@pytest.fixture
def four_assets(ingest, talking_head_512, speech_en_wav, speech_m4a, audio_only):
    """Ids oldest first: one video, three audios."""
    return [ingest(path) for path in (talking_head_512, speech_en_wav, speech_m4a, audio_only)]


def test_list_is_newest_first_with_totals(api, four_assets):
    page = api.get("/api/assets").json()
    assert [item["id"] for item in page["items"]] == four_assets[::-1]
    assert page["total"] == 4 and page["next_offset"] is None


def test_list_filters_by_kind(api, four_assets):
    videos = api.get("/api/assets", params={"kind": "video"}).json()
    audios = api.get("/api/assets", params={"kind": "audio"}).json()
    assert [item["id"] for item in videos["items"]] == four_assets[:1]
    assert {item["kind"] for item in audios["items"]} == {"audio"} and audios["total"] == 3
    assert api.get("/api/assets", params={"kind": "image"}).status_code == 422


def test_list_finds_an_asset_by_its_sha256(api, ingest, talking_head_512):
    asset_id = ingest(talking_head_512)
    sha256 = hashlib.sha256(talking_head_512.read_bytes()).hexdigest()
    found = api.get("/api/assets", params={"sha256": sha256}).json()
    assert [item["id"] for item in found["items"]] == [asset_id]
    assert api.get("/api/assets", params={"sha256": "0" * 64}).json()["items"] == []
    refused = api.get("/api/assets", params={"sha256": "not-a-hash"})
    assert refused.status_code == 422 and "sha256" in refused.json()["message"]


def test_list_pages_through_everything_once(api, four_assets):
    seen, offset = [], 0
    while offset is not None:
        page = api.get("/api/assets", params={"limit": 3, "offset": offset}).json()
        seen += [item["id"] for item in page["items"]]
        offset = page["next_offset"]
    assert seen == four_assets[::-1]
    refused = api.get("/api/assets", params={"limit": 0})
    assert refused.status_code == 422 and refused.json()["error"] == "bad_request"


def test_get_describes_the_asset(api, ingest, talking_head_512):
    asset_id = ingest(talking_head_512, "teacher.mp4")
    asset = api.get(f"/api/assets/{asset_id}").json()
    assert asset["kind"] == "video" and asset["original_name"] == "teacher.mp4"
    assert (asset["width"], asset["height"], asset["fps"]) == (512, 512, 25.0)
    assert asset["size_bytes"] == talking_head_512.stat().st_size
    missing = api.get("/api/assets/nope")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_same_bytes_twice_are_one_asset(api, ingest, talking_head_512):
    assert ingest(talking_head_512, "a.mp4") == ingest(talking_head_512, "b.mp4")
    assert api.get("/api/assets").json()["total"] == 1


def test_content_whole_and_by_range(api, ingest, talking_head_512):
    content_url = f"/api/assets/{ingest(talking_head_512)}/content"
    data = talking_head_512.read_bytes()
    whole = api.get(content_url)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    part = api.get(content_url, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206 and part.content == data[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(data)}"
    tail = api.get(content_url, headers={"Range": "bytes=-500"})
    assert tail.status_code == 206 and tail.content == data[-500:]
    head = api.head(content_url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(data))


def test_range_past_the_end_is_416(api, ingest, talking_head_512):
    content_url = f"/api/assets/{ingest(talking_head_512)}/content"
    size = talking_head_512.stat().st_size
    answer = api.get(content_url, headers={"Range": f"bytes={size}-"})
    assert answer.status_code == 416
    assert answer.headers["content-range"] == f"bytes */{size}"


@pytest.mark.parametrize("header", ["items=0-1", "bytes=5-1", "bytes=abc", "bytes=-0"])
def test_an_unusable_range_is_ignored_and_the_whole_file_answered(
    api, ingest, talking_head_512, header
):
    content_url = f"/api/assets/{ingest(talking_head_512)}/content"
    answer = api.get(content_url, headers={"Range": header})
    assert answer.status_code == 200 and answer.content == talking_head_512.read_bytes()


def test_delete_removes_the_asset_and_its_bytes(api, ingest, talking_head_512):
    asset_id = ingest(talking_head_512)
    assert api.delete(f"/api/assets/{asset_id}").status_code == 204
    assert api.get(f"/api/assets/{asset_id}").status_code == 404
    assert api.get(f"/api/assets/{asset_id}/content").status_code == 404
    assert list(api.app.state.settings.data_dir.assets.iterdir()) == []
    assert api.delete(f"/api/assets/{asset_id}").status_code == 404


def test_assets_need_the_token(api, four_assets):
    anonymous = api.get("/api/assets", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    assert four_assets[0] not in anonymous.text


def test_an_audio_carries_what_it_says(api, ingest, speech_zh_wav):
    asset_id = ingest(speech_zh_wav)
    assert api.get(f"/api/assets/{asset_id}").json()["transcript"] is None
    said = "大家好。今天我们学习月亮和星星。"
    changed = api.patch(f"/api/assets/{asset_id}", json={"transcript": f"  {said}\n"})
    assert changed.status_code == 200 and changed.json()["transcript"] == said
    assert api.get(f"/api/assets/{asset_id}").json()["transcript"] == said
    listed = api.get("/api/assets", params={"kind": "audio"}).json()["items"]
    assert [item["transcript"] for item in listed] == [said]
    cleared = api.patch(f"/api/assets/{asset_id}", json={"transcript": ""})
    assert cleared.json()["transcript"] is None


def test_a_transcript_is_refused_on_a_video_when_too_long_or_unknown(
    api, ingest, talking_head_512, speech_en_wav
):
    video, audio = ingest(talking_head_512), ingest(speech_en_wav)
    on_video = api.patch(f"/api/assets/{video}", json={"transcript": "hello"})
    assert on_video.status_code == 422
    assert on_video.json()["error"] == "invalid_transcript"
    assert on_video.json()["params"]["reason"] == "not_audio"
    too_long = api.patch(f"/api/assets/{audio}", json={"transcript": "a" * 20_001})
    assert too_long.status_code == 422
    assert api.get(f"/api/assets/{audio}").json()["transcript"] is None
    assert api.patch(f"/api/assets/{'f' * 32}", json={"transcript": "x"}).status_code == 404
    assert api.patch(f"/api/assets/{audio}", json={"script": "x"}).status_code == 422
