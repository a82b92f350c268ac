"""One contract for every store: the data dir and an S3 bucket (SeaweedFS) answer alike.

Writes are staged and invisible until committed; an aborted write leaves nothing (no
object, no pending multipart upload); reads are whole or by range; missing keys are
NotFoundError; keys cannot climb out of the store.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

import pytest

from lipforge.errors import NotFoundError
from lipforge.storage.backend import open_storage, put_file
from lipforge.storage.cache import InputCache

MIB = 1024 * 1024


def random_file(path: Path, size_bytes: int) -> Path:
    path.write_bytes(os.urandom(size_bytes))
    return path


def read_all(storage, key: str, start: int = 0, length: int | None = None) -> bytes:
    reader = storage.open_read(key, start, length)
    try:
        return b"".join(iter(lambda: reader.read(256 * 1024), b""))
    finally:
        reader.close()


def test_a_put_object_reads_back_whole_and_by_range(store_settings, tmp_path):
    storage = open_storage(store_settings)
    source = random_file(tmp_path / "clip.mp4", 300_000)
    data = source.read_bytes()
    put_file(storage, source, "assets/clip.mp4")
    info = storage.stat("assets/clip.mp4")
    assert info is not None and info.size_bytes == len(data) and info.etag
    assert read_all(storage, "assets/clip.mp4") == data
    assert read_all(storage, "assets/clip.mp4", 1000, 24) == data[1000:1024]
    assert read_all(storage, "assets/clip.mp4", len(data) - 5) == data[-5:]
    copy = tmp_path / "copy.bin"
    storage.download("assets/clip.mp4", copy)
    assert copy.read_bytes() == data
    assert source.exists(), "a put without move keeps the source"


def test_a_multi_part_file_arrives_intact_and_move_removes_the_source(store_settings, tmp_path):
    storage = open_storage(store_settings)
    source = random_file(tmp_path / "big.mp4", 37 * MIB + 123)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    put_file(storage, source, "outputs/b1/big.mp4", move=True)
    assert not source.exists()
    copy = tmp_path / "back.mp4"
    storage.download("outputs/b1/big.mp4", copy)
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == digest


def test_a_staged_write_is_invisible_until_commit(store_settings, tmp_path):
    storage = open_storage(store_settings)
    source = random_file(tmp_path / "render.mp4", 6 * MIB)
    staged = storage.stage_file(source, "outputs/b2/out.mp4", move=True)
    assert storage.stat("outputs/b2/out.mp4") is None
    with pytest.raises(NotFoundError):
        storage.open_read("outputs/b2/out.mp4").read(1)
    staged.commit()
    staged.abort()  # after a commit: nothing
    assert storage.stat("outputs/b2/out.mp4").size_bytes == 6 * MIB
    assert not source.exists()


def test_an_aborted_write_leaves_nothing_and_keeps_the_source(store_settings, tmp_path):
    storage = open_storage(store_settings)
    source = random_file(tmp_path / "render.mp4", 20 * MIB)
    staged = storage.stage_file(source, "outputs/b3/out.mp4", move=True)
    staged.abort()
    staged.abort()
    assert storage.stat("outputs/b3/out.mp4") is None
    assert storage.abort_stale_uploads(0) == 0, "the abort left a pending upload"
    assert source.stat().st_size == 20 * MIB
    assert not [p for p in store_settings.data_dir.outputs.rglob("*") if p.is_file()]


def test_an_abandoned_write_is_never_visible_and_is_cleaned_up(store_settings, tmp_path):
    storage = open_storage(store_settings)
    source = random_file(tmp_path / "render.mp4", 1 * MIB)
    storage.stage_file(source, "outputs/b4/out.mp4")  # its writer "dies": no commit, no abort
    assert storage.stat("outputs/b4/out.mp4") is None
    storage.abort_stale_uploads(0)
    assert storage.abort_stale_uploads(0) == 0
    assert storage.stat("outputs/b4/out.mp4") is None


def test_empty_objects_and_missing_keys(store_settings, tmp_path):
    storage = open_storage(store_settings)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    put_file(storage, empty, "assets/empty.wav")
    assert storage.stat("assets/empty.wav").size_bytes == 0
    assert read_all(storage, "assets/empty.wav") == b""
    assert storage.stat("assets/none.wav") is None
    with pytest.raises(NotFoundError):
        storage.download("assets/none.wav", tmp_path / "x")
    with pytest.raises(NotFoundError):
        storage.open_read("assets/none.wav").read(1)
    storage.delete("assets/none.wav")
    storage.delete("assets/empty.wav")
    assert storage.stat("assets/empty.wav") is None


@pytest.mark.parametrize("key", ["../escape.mp4", "/etc/passwd", "assets/../../x", "a//b", ""])
def test_keys_cannot_leave_the_store(store_settings, tmp_path, key):
    storage = open_storage(store_settings)
    source = random_file(tmp_path / "x.bin", 10)
    with pytest.raises(NotFoundError):
        storage.stage_file(source, key)
    with pytest.raises(NotFoundError):
        storage.stat(key)


def test_the_input_cache_keeps_recent_objects_within_its_size(store_settings, tmp_path):
    storage = open_storage(store_settings)
    for name in ("a", "b", "c"):
        put_file(storage, random_file(tmp_path / name, 2 * MIB), f"assets/{name}.mp4")
    cache = InputCache(tmp_path / "cache", max_bytes=5 * MIB)
    held_a = cache.hold(storage, "assets/a.mp4")
    assert held_a.read_bytes() == (tmp_path / "a").read_bytes()
    for name in ("b", "c"):
        cache.release(cache.hold(storage, f"assets/{name}.mp4"))
    if storage.local_path("assets/a.mp4") is not None:
        assert held_a == storage.local_path("assets/a.mp4"), "the data dir is read in place"
        assert cache.size_bytes() == 0
        return
    # a, b, c are 6 MiB > 5 MiB: b (least recently used, not held) went, a (held) stayed
    cached = sorted(p.name.split("-", 1)[1] for p in cache.root.iterdir())
    assert cached == ["a.mp4", "c.mp4"]
    cache.release(held_a)
    again = cache.hold(storage, "assets/c.mp4")
    before = again.stat().st_ino
    cache.release(cache.hold(storage, "assets/c.mp4"))
    assert again.stat().st_ino == before, "a hit is not downloaded again"
    cache.release(cache.hold(storage, "assets/b.mp4"))
    assert cache.size_bytes() <= 5 * MIB
    assert sorted(p.name.split("-", 1)[1] for p in cache.root.iterdir()) == ["b.mp4", "c.mp4"]


def test_a_refusing_bucket_is_a_plain_error_and_counted_for_prometheus(seaweed, bucket, tmp_path):
    from prometheus_client.parser import text_string_to_metric_families
    from tests.storage.seaweed import s3_settings

    from lipforge.metrics.exposition import render_metrics
    from lipforge.storage.errors import StorageError

    def failed_uploads() -> float:
        page = render_metrics(None).decode()
        return sum(
            sample.value
            for family in text_string_to_metric_families(page)
            for sample in family.samples
            if sample.name == "lipforge_storage_errors_total"
            and sample.labels.get("operation") == "upload"
        )

    before = failed_uploads()
    settings = s3_settings(seaweed, bucket, tmp_path / "data")
    storage = open_storage(replace(settings, s3_secret_access_key="not-the-secret"))
    with pytest.raises(StorageError, match="failed to upload assets/clip.mp4"):
        put_file(storage, random_file(tmp_path / "clip.mp4", 1000), "assets/clip.mp4")
    assert failed_uploads() == before + 1
