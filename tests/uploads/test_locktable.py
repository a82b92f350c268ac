"""The upload_locks row alone, on a real database: one owner at a time, a newcomer's release
request reaches the holder, and a holder that stopped renewing (another machine gone silent)
or died on this machine frees the upload."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from lipforge.processes import make_worker_id
from lipforge.uploads import locktable
from lipforge.uploads.locktable import LOCKS
from tests.support.database import migrated_sessions

LEASE_S = 10.0
ELSEWHERE = "gpu-box-7:4242:1700000000000:4026531836/abc"  # a live-looking process on another host


@pytest.fixture
def sessions(tmp_path):
    with migrated_sessions(f"sqlite:///{tmp_path / 'locks.db'}") as factory:
        yield factory


def test_one_owner_at_a_time_and_the_holder_hears_the_newcomer(sessions):
    mine = f"{make_worker_id()}/one"
    assert locktable.try_acquire(sessions, "u", mine, LEASE_S) is None
    assert not locktable.should_let_go(sessions, "u", mine, None)
    assert locktable.try_acquire(sessions, "u", f"{make_worker_id()}/two", LEASE_S) == mine
    assert locktable.should_let_go(sessions, "u", mine, LEASE_S)
    assert locktable.is_held(sessions, "u")
    locktable.release(sessions, "u", mine)
    assert not locktable.is_held(sessions, "u")
    assert locktable.try_acquire(sessions, "u", f"{make_worker_id()}/two", LEASE_S) is None


def test_a_holder_on_another_machine_keeps_the_upload_until_its_lease_runs_out(sessions):
    assert locktable.try_acquire(sessions, "u", ELSEWHERE, LEASE_S) is None
    newcomer = f"{make_worker_id()}/new"
    assert locktable.try_acquire(sessions, "u", newcomer, LEASE_S) == ELSEWHERE
    with sessions.begin() as session:
        session.execute(update(LOCKS).values(expires_at_s=time.time() - 1))
    assert not locktable.is_held(sessions, "u")
    assert locktable.try_acquire(sessions, "u", newcomer, LEASE_S) is None
    assert locktable.should_let_go(sessions, "u", ELSEWHERE, None)  # the old holder lost it


def test_a_holder_that_died_on_this_machine_frees_the_upload_at_once(sessions):
    host, _pid, _start, namespace = make_worker_id().split(":")
    dead = f"{host}:999999999:1:{namespace}/gone"
    assert locktable.try_acquire(sessions, "u", dead, LEASE_S) is None
    assert not locktable.is_held(sessions, "u")
    assert locktable.try_acquire(sessions, "u", f"{make_worker_id()}/new", LEASE_S) is None


def test_uploads_do_not_share_a_row(sessions):
    assert locktable.try_acquire(sessions, "a", f"{make_worker_id()}/1", LEASE_S) is None
    assert locktable.try_acquire(sessions, "b", f"{make_worker_id()}/2", LEASE_S) is None
