"""The file store alone: offset is the data file's size, writers append and discard, strays go."""

from __future__ import annotations

import errno
import os

import pytest

from lipforge.uploads.errors import UploadNotFoundError
from lipforge.uploads.filestore import FileStore, new_upload_id
from lipforge.uploads.store import UploadInfo


@pytest.fixture
def store(tmp_path) -> FileStore:
    return FileStore(tmp_path / "uploads")


def new_info(store: FileStore, size: int | None = 10, **fields) -> UploadInfo:
    info = UploadInfo(id=new_upload_id(), size_bytes=size, **fields)
    store.create(info)
    return info


def test_offset_is_the_data_file_size(store):
    info = new_info(store)
    assert store.offset(info) == 0
    writer = store.open_writer(info)
    writer.write(b"abcd")
    writer.close()
    assert store.offset(info) == 4
    (store.root / info.id).write_bytes(b"abcdefg")
    assert store.offset(info) == 7


def test_discard_returns_to_the_writer_start(store):
    info = new_info(store)
    first = store.open_writer(info)
    first.write(b"abc")
    first.close()
    second = store.open_writer(info)
    assert second.start_offset_bytes == 3
    second.write(b"defgh")
    second.discard()
    second.close()
    assert (store.root / info.id).read_bytes() == b"abc"


def test_info_round_trips_and_terminate_removes_both_files(store):
    info = new_info(store, metadata={"filename": "a.mp4"}, owner="tok")
    info.asset_id = "asset1"
    store.save(info)
    loaded = store.get(info.id)
    assert loaded == info
    store.terminate(info.id)
    assert list(store.root.iterdir()) == []
    with pytest.raises(UploadNotFoundError):
        store.get(info.id)


def test_ids_that_are_not_ours_never_become_paths(store):
    for bad in ("../etc/passwd", "..", "a" * 31, "A" * 32, "/abs"):
        with pytest.raises(UploadNotFoundError):
            store.data_path(bad)


def concatenated(store: FileStore, pieces: list[bytes]) -> bytes:
    """The bytes of a final upload joined from partial uploads holding `pieces`."""
    parts = []
    for data in pieces:
        info = new_info(store, len(data), concat="partial")
        writer = store.open_writer(info)
        writer.write(data)
        writer.close()
        parts.append(info)
    final = new_info(store, sum(map(len, pieces)), concat="final")
    store.concatenate(final, parts)
    return (store.root / final.id).read_bytes()


def test_concatenate_joins_partials_in_order(store):
    assert concatenated(store, [b"one-", b"two-", b"three"]) == b"one-two-three"


@pytest.mark.parametrize("fails_after_bytes", [0, 3])
def test_concatenate_copies_through_user_space_where_the_kernel_cannot(
    store, monkeypatch, fails_after_bytes
):
    """copy_file_range refused (another file system, an old kernel), at once or midway."""
    real_copy = os.copy_file_range
    calls = []

    def copy_file_range(source, target, count, offset_src, offset_dst):
        calls.append(count)
        if len(calls) > 1 or not fails_after_bytes:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_copy(source, target, fails_after_bytes, offset_src, offset_dst)

    monkeypatch.setattr(os, "copy_file_range", copy_file_range)
    assert concatenated(store, [b"one-", b"two-", b"three"]) == b"one-two-three"
    assert calls


def test_remove_strays_drops_orphan_data_and_temp_files(store):
    kept = new_info(store)
    orphan = store.root / new_upload_id()
    orphan.write_bytes(b"x")
    temp = store.root / f".{kept.id}.info.abcd1234.tmp"
    temp.write_text("{}")
    assert sorted(store.remove_strays()) == sorted([orphan.name, temp.name])
    assert store.list_ids() == [kept.id]
