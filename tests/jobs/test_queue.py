"""The queue's promises on SQLite: FIFO claims, one claim per job, leases, the fence, the reaper,
cancel, retry, release, and an event for every state change."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from tests.support.jobs_factory import add_batch, output_relpath

from lipforge.db import utc_now
from lipforge.errors import ConflictError, NotFoundError
from lipforge.events import events_since
from lipforge.jobs import queue
from lipforge.jobs.tables import Job


def job_row(sessions, job_id: str) -> Job:
    with sessions() as session:
        return queue.get_job(session, job_id)


def kinds_for(sessions, job_id: str) -> list[str]:
    return [e.kind for e in events_since(sessions, 0) if e.job_id == job_id]


def test_claims_follow_enqueue_order_across_batches(sessions):
    _, first = add_batch(sessions, 3)
    _, second = add_batch(sessions, 2)
    claimed = [queue.claim_next_job(sessions, "w") for _ in range(5)]
    assert [job.id for job in claimed] == first + second
    assert queue.claim_next_job(sessions, "w") is None


def test_a_claim_starts_attempt_one_with_a_lease(sessions):
    _, [job_id] = add_batch(sessions, 1)
    before = utc_now()
    job = queue.claim_next_job(sessions, "worker-a", lease_s=30)
    row = job_row(sessions, job_id)
    assert (job.attempt, row.status, row.worker_id) == (1, "running", "worker-a")
    assert row.lease_expires_at >= before + timedelta(seconds=29)
    assert kinds_for(sessions, job_id) == ["job.queued", "job.started"]


def test_concurrent_claimers_never_share_a_job(sessions):
    _, ids = add_batch(sessions, 60)
    claims: list[str] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        while (job := queue.claim_next_job(sessions, name)) is not None:
            with lock:
                claims.append(job.id)

    threads = [threading.Thread(target=claimer, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claims) == sorted(ids)


def test_heartbeat_and_progress_renew_the_lease(sessions):
    add_batch(sessions, 1)
    job = queue.claim_next_job(sessions, "w", lease_s=1)
    first_expiry = job_row(sessions, job.id).lease_expires_at
    state = queue.renew_lease(sessions, job, lease_s=60)
    assert state.held and not state.cancel_requested
    assert job_row(sessions, job.id).lease_expires_at > first_expiry + timedelta(seconds=50)
    state = queue.record_progress(sessions, job, 10, 40, fps=5.0, lease_s=120)
    row = job_row(sessions, job.id)
    assert state.held
    assert (row.frames_done, row.frames_total, row.fps, row.eta_s) == (10, 40, 5.0, 6.0)
    assert row.lease_expires_at > first_expiry + timedelta(seconds=110)


def test_a_stale_attempt_cannot_finish_after_the_job_was_reaped(sessions):
    add_batch(sessions, 1)
    stale = queue.claim_next_job(sessions, "lost-worker", lease_s=-1)
    assert queue.reap_stale_jobs(sessions) == [(stale.id, "queued")]
    fresh = queue.claim_next_job(sessions, "new-worker")
    assert fresh.id == stale.id and fresh.attempt == 2

    published: list[str] = []
    assert queue.renew_lease(sessions, stale).held is False
    assert (
        queue.finish_job(sessions, stale, output_relpath(stale), lambda: published.append("stale"))
        is False
    )
    assert queue.fail_job(sessions, stale, "x", "stale failure") is False
    assert (
        queue.finish_job(sessions, fresh, output_relpath(fresh), lambda: published.append("fresh"))
        is True
    )
    assert (
        queue.finish_job(sessions, fresh, output_relpath(fresh), lambda: published.append("again"))
        is False
    )
    assert published == ["fresh"]
    row = job_row(sessions, fresh.id)
    assert (row.status, row.attempt, row.output_relpath) == ("succeeded", 2, output_relpath(fresh))


def test_a_failing_output_commit_records_nothing(sessions):
    add_batch(sessions, 1)
    job = queue.claim_next_job(sessions, "w")

    def broken_rename() -> None:
        raise OSError("disk gone")

    with pytest.raises(OSError):
        queue.finish_job(sessions, job, output_relpath(job), broken_rename)
    assert job_row(sessions, job.id).status == "running"
    assert "job.succeeded" not in kinds_for(sessions, job.id)


def test_the_reaper_fails_a_job_with_worker_lost_after_max_attempts(sessions):
    add_batch(sessions, 1, max_attempts=2)
    for expected in ("queued", "failed"):
        job = queue.claim_next_job(sessions, "w", lease_s=-1)
        assert queue.reap_stale_jobs(sessions) == [(job.id, expected)]
    row = job_row(sessions, job.id)
    assert row.error_code == "worker_lost"
    assert row.error_message.startswith("worker lost")
    assert "attempt 2 of 2" in row.error_message
    assert row.error_params == {"attempt": 2, "max_attempts": 2}  # the UI says it in zh-CN too
    assert queue.claim_next_job(sessions, "w") is None


def test_the_reaper_leaves_live_leases_alone_but_takes_jobs_of_dead_workers(sessions):
    add_batch(sessions, 2)
    alive = queue.claim_next_job(sessions, "alive", lease_s=60)
    dead = queue.claim_next_job(sessions, "dead", lease_s=60)
    assert queue.reap_stale_jobs(sessions) == []
    assert queue.reap_stale_jobs(sessions, dead_worker_ids=["dead"]) == [(dead.id, "queued")]
    assert job_row(sessions, alive.id).status == "running"


def test_a_reaped_job_that_was_being_cancelled_ends_cancelled(sessions):
    add_batch(sessions, 1)
    job = queue.claim_next_job(sessions, "w", lease_s=-1)
    with sessions.begin() as session:
        queue.cancel_job(session, job.id)
    assert queue.reap_stale_jobs(sessions) == [(job.id, "cancelled")]


def test_cancel_of_a_queued_job_is_immediate(sessions):
    _, [job_id] = add_batch(sessions, 1)
    with sessions.begin() as session:
        assert queue.cancel_job(session, job_id).status == "cancelled"
    assert queue.claim_next_job(sessions, "w") is None
    assert kinds_for(sessions, job_id)[-1] == "job.cancelled"


def test_cancel_of_a_running_job_is_seen_by_its_worker(sessions):
    add_batch(sessions, 1)
    job = queue.claim_next_job(sessions, "w")
    with sessions.begin() as session:
        assert queue.cancel_job(session, job.id).status == "running"
    assert queue.job_control(sessions, job).cancel_requested
    assert queue.renew_lease(sessions, job).should_stop
    published: list[str] = []
    assert (
        queue.finish_job(sessions, job, output_relpath(job), lambda: published.append("late"))
        is False
    )
    assert published == []
    assert queue.mark_cancelled(sessions, job)
    row = job_row(sessions, job.id)
    assert (row.status, row.error_code) == ("cancelled", "cancelled")


def test_cancel_of_a_finished_job_is_a_conflict_and_unknown_ids_are_not_found(sessions):
    add_batch(sessions, 1)
    job = queue.claim_next_job(sessions, "w")
    queue.finish_job(sessions, job, output_relpath(job), lambda: None)
    with sessions.begin() as session, pytest.raises(ConflictError, match="already succeeded"):
        queue.cancel_job(session, job.id)
    with sessions.begin() as session, pytest.raises(NotFoundError):
        queue.cancel_job(session, "0" * 32)


def test_cancel_batch_stops_queued_and_running_and_keeps_finished(sessions):
    batch_id, ids = add_batch(sessions, 3)
    done = queue.claim_next_job(sessions, "w")
    queue.finish_job(sessions, done, output_relpath(done), lambda: None)
    queue.claim_next_job(sessions, "w")
    with sessions.begin() as session:
        jobs = queue.cancel_batch(session, batch_id)
    by_id = {job.id: job for job in jobs}
    assert by_id[ids[0]].status == "succeeded"
    assert by_id[ids[1]].status == "running" and by_id[ids[1]].cancel_requested
    assert by_id[ids[2]].status == "cancelled"


def test_retry_requeues_failed_jobs_at_the_end_with_a_fresh_budget(sessions):
    _, [first, second] = add_batch(sessions, 2, max_attempts=1)
    job = queue.claim_next_job(sessions, "w", lease_s=-1)
    queue.reap_stale_jobs(sessions)
    assert job_row(sessions, first).status == "failed"
    with sessions.begin() as session:
        retried = queue.retry_job(session, first, max_attempts=1)
    assert (retried.status, retried.error_message, retried.max_attempts) == ("queued", None, 2)
    assert queue.claim_next_job(sessions, "w").id == second
    again = queue.claim_next_job(sessions, "w")
    assert (again.id, again.attempt) == (job.id, 2)
    with sessions.begin() as session, pytest.raises(ConflictError, match="is running"):
        queue.retry_job(session, first)


def test_release_returns_a_job_without_using_up_an_attempt(sessions):
    add_batch(sessions, 1, max_attempts=1)
    job = queue.claim_next_job(sessions, "stopping")
    assert queue.release_job(sessions, job)
    again = queue.claim_next_job(sessions, "next", lease_s=-1)
    assert again.attempt == 2
    assert queue.reap_stale_jobs(sessions) == [(again.id, "failed")]


def test_delete_batch_removes_jobs_and_a_running_worker_loses_its_hold(sessions):
    batch_id, _ = add_batch(sessions, 2)
    finished = queue.claim_next_job(sessions, "w")
    queue.finish_job(sessions, finished, output_relpath(finished), lambda: None)
    running = queue.claim_next_job(sessions, "w")
    with sessions.begin() as session:
        outputs = queue.delete_batch(session, batch_id)
    assert outputs == [output_relpath(finished)]
    assert queue.renew_lease(sessions, running).held is False
    with sessions() as session:
        assert queue.list_batch_jobs(session, batch_id) == []


def test_every_state_change_is_an_event_with_increasing_ids(sessions):
    batch_id, [job_id] = add_batch(sessions, 1)
    job = queue.claim_next_job(sessions, "w")
    queue.record_progress(sessions, job, 1, 2, fps=1.0)
    queue.finish_job(sessions, job, output_relpath(job), lambda: None)
    events = events_since(sessions, 0, batch_id=batch_id)
    assert [e.id for e in events] == sorted(e.id for e in events)
    job_kinds = [e.kind for e in events if e.job_id == job_id]
    assert job_kinds == ["job.queued", "job.started", "job.progress", "job.succeeded"]
    last_batch_update = [e for e in events if e.kind == "batch.updated"][-1]
    assert last_batch_update.payload["counts"] == {"succeeded": 1}


def test_worker_registry_shows_pause_reasons(sessions):
    queue.register_worker(sessions, "w1", "host", 2)
    queue.touch_worker(sessions, "w1", "queue paused: disk full")
    with sessions() as session:
        assert queue.pause_reasons(session) == ["queue paused: disk full"]
    queue.touch_worker(sessions, "w1", None)
    kinds = [e.kind for e in events_since(sessions, 0)]
    assert kinds == ["worker.started", "worker.paused", "worker.resumed"]
    queue.stop_worker(sessions, "w1")
    with sessions() as session:
        assert queue.list_workers(session) == []
    assert queue.forget_workers(sessions, silent_since=utc_now() - timedelta(hours=1)) == 0
    assert queue.forget_workers(sessions, silent_since=utc_now()) == 1
