"""The free-disk guard against the real file system of a temp dir."""

from __future__ import annotations

import pytest

from lipforge.disk import ensure_free_space, format_bytes, free_bytes
from lipforge.errors import DiskFullError


def test_enough_space_passes(tmp_path):
    ensure_free_space(tmp_path, incoming_bytes=1024, min_free_bytes=0)


def test_write_that_would_cross_the_reserve_is_refused_with_the_numbers(tmp_path):
    available = free_bytes(tmp_path)
    with pytest.raises(DiskFullError) as caught:
        ensure_free_space(tmp_path, incoming_bytes=2048, min_free_bytes=available)
    message = str(caught.value)
    assert str(tmp_path) in message
    assert "2.0 KiB" in message
    assert "LIPFORGE_MIN_FREE_DISK_BYTES" in message
    assert caught.value.http_status == 507


def test_missing_directory_is_measured_at_its_parent(tmp_path):
    assert free_bytes(tmp_path / "not" / "yet") > 0
    ensure_free_space(tmp_path / "not" / "yet", incoming_bytes=1, min_free_bytes=0)


def test_format_bytes_reads_like_a_person_would():
    assert format_bytes(512) == "512 B"
    assert format_bytes(1536) == "1.5 KiB"
    assert format_bytes(10 * 1024**3) == "10.0 GiB"
