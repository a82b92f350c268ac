"""The batch and job API as a client sees it: create, list, poll, cancel, retry, delete, outputs.

Jobs are moved through their states by `FakeWorker` (the real queue functions, no
render), except in the end-to-end test at the bottom, which runs the real worker and
pipeline on short clips.
"""

from __future__ import annotations

import io
import shutil
import threading
import time
import zipfile
from pathlib import Path

import pytest
from batch_helpers import FakeWorker, add_asset

from lipforge.jobs.joblog import append_job_log


@pytest.fixture
def sessions(api):
    return api.app.state.sessions


@pytest.fixture
def worker(api, sessions):
    return FakeWorker(sessions, api.app.state.settings.data_dir.outputs)


@pytest.fixture
def lecture(sessions):
    """One 4 s lecture audio and three presenter videos at 25 fps."""
    audio = add_asset(sessions, "audio", "lecture.wav", duration_s=4.0)
    videos = [add_asset(sessions, "video", f"teacher{i}.mp4") for i in (1, 2, 3)]
    return audio, videos


def create(api, audios, videos, **options):
    body = {"audio_asset_ids": audios, "video_asset_ids": videos, **options}
    return api.post("/api/batches", json=body)


def test_one_audio_many_videos_makes_one_queued_job_per_video(api, lecture):
    audio, videos = lecture
    response = create(api, [audio], videos, fit="loop")
    assert response.status_code == 201
    batch = response.json()
    assert batch["status"] == "queued" and batch["fit"] == "loop" and batch["engine"] == "meshwarp"
    assert [job["video_asset_id"] for job in batch["jobs"]] == videos
    assert {job["audio_asset_id"] for job in batch["jobs"]} == {audio}
    assert {job["status"] for job in batch["jobs"]} == {"queued"}
    names = [job["output_name"] for job in batch["jobs"]]
    assert names == ["teacher1-lecture.mp4", "teacher2-lecture.mp4", "teacher3-lecture.mp4"]
    assert batch["frames_total"] == 3 * 100  # 4 s of audio at 25 fps, per job
    assert api.get(f"/api/batches/{batch['id']}").json()["jobs"] == batch["jobs"]


def test_many_audios_one_video_and_clashing_names_stay_distinct(api, sessions):
    audios = [add_asset(sessions, "audio", "take.wav") for _ in range(3)]
    video = add_asset(sessions, "video", "host.mp4")
    batch = create(api, audios, [video]).json()
    names = [job["output_name"] for job in batch["jobs"]]
    assert len(set(names)) == 3 and names[0] == "take-host.mp4"


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ("2x2", "one audio x N videos or N audios x one video"),
        ("0x1", "at least one audio and one video"),
        ("engine", "Unknown engine 'nope'"),
        ("fit", "Unknown fit mode 'stretch'"),
        ("missing", "No asset with id 'feedfacefeedfacefeedfacefeedface'"),
        ("silent", "has no sound track"),
        ("audio-as-video", "not a face video"),
    ],
)
def test_bad_requests_are_refused_with_a_clear_message(api, sessions, shape, expected):
    audio = add_asset(sessions, "audio", "a.wav")
    audio2 = add_asset(sessions, "audio", "b.wav")
    video = add_asset(sessions, "video", "v.mp4", has_audio=False)
    video2 = add_asset(sessions, "video", "w.mp4")
    requests = {
        "2x2": ([audio, audio2], [video, video2], {}),
        "0x1": ([], [video], {}),
        "engine": ([audio], [video], {"engine": "nope"}),
        "fit": ([audio], [video], {"fit": "stretch"}),
        "missing": ([audio], ["feedface" * 4], {}),
        "silent": ([video], [video2], {}),
        "audio-as-video": ([audio], [audio2], {}),
    }
    audios, videos, options = requests[shape]
    response = create(api, audios, videos, **options)
    assert response.status_code == (404 if shape == "missing" else 422)  # a missing asset: 404
    assert response.json()["error"] == "invalid_batch"
    assert expected in response.json()["message"]
    assert api.get("/api/batches").json()["total"] == 0


def test_a_malformed_body_is_answered_in_the_error_shape(api):
    response = api.post("/api/batches", json={"audio_asset_ids": "not-a-list"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "bad_request"
    expected = "The request is not valid: audio_asset_ids: Input should be a valid list."
    assert body["message"] == expected


def test_a_video_with_sound_can_drive_the_lips(api, sessions):
    speaker = add_asset(sessions, "video", "speaker.mp4", has_audio=True)
    face = add_asset(sessions, "video", "face.mp4")
    assert create(api, [speaker], [face]).status_code == 201


def test_list_is_newest_first_and_pages(api, lecture):
    audio, videos = lecture
    ids = [create(api, [audio], [video]).json()["id"] for video in videos]
    first = api.get("/api/batches", params={"limit": 2}).json()
    second = api.get("/api/batches", params={"limit": 2, "offset": 2}).json()
    assert [b["id"] for b in first["items"] + second["items"]] == ids[::-1]
    assert first["total"] == 3 and first["next_offset"] == 2 and second["next_offset"] is None
    assert "jobs" not in first["items"][0] and first["items"][0]["counts"]["queued"] == 1
    refused = api.get("/api/batches", params={"limit": 0})
    assert refused.status_code == 422 and "limit" in refused.json()["message"]


def test_unknown_ids_answer_404(api):
    for path in ("/api/batches/nope", "/api/jobs/nope", "/api/jobs/nope/log"):
        response = api.get(path)
        assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert api.delete("/api/batches/nope").status_code == 404


def test_progress_and_eta_are_visible_by_polling(api, lecture, worker):
    audio, videos = lecture
    batch = create(api, [audio], videos[:1]).json()
    job = worker.claim()
    worker.progress(job, 40, 100)
    polled = api.get(f"/api/jobs/{job.id}").json()
    assert polled["status"] == "running" and polled["attempt"] == 1
    assert (polled["frames_done"], polled["frames_total"]) == (40, 100)
    assert polled["fps"] == 50.0 and polled["eta_s"] == pytest.approx(60 / 50)
    assert api.get(f"/api/batches/{batch['id']}").json()["progress"] == pytest.approx(0.4)


def test_batch_progress_is_weighted_by_frames_not_by_jobs(api, sessions, worker):
    audio = add_asset(sessions, "audio", "talk.wav", duration_s=100.0)
    short = add_asset(sessions, "video", "short.mp4", duration_s=2.0)
    long = add_asset(sessions, "video", "long.mp4", duration_s=100.0)
    batch = create(api, [audio], [short, long], fit="trim").json()
    assert batch["frames_total"] == 50 + 2500  # estimated before any job starts
    first = worker.claim()
    worker.progress(first, 50, 50)
    worker.succeed(first, b"short")
    snapshot = api.get(f"/api/batches/{batch['id']}").json()
    assert snapshot["counts"]["succeeded"] == 1 and snapshot["counts"]["queued"] == 1
    assert snapshot["progress"] == pytest.approx(50 / 2550, abs=1e-3)  # not 0.5
    second = worker.claim()
    worker.progress(second, 1250, 2500)
    snapshot = api.get(f"/api/batches/{batch['id']}").json()
    assert snapshot["progress"] == pytest.approx(1300 / 2550, abs=1e-3)


def test_a_paused_queue_shows_its_reason_on_the_batch(api, lecture, sessions):
    from lipforge.jobs import queue

    audio, videos = lecture
    batch = create(api, [audio], videos[:1]).json()
    assert batch["paused_reasons"] == []
    reason = "free disk 0.5 GiB is under the 1 GiB threshold; free space to resume"
    queue.register_worker(sessions, "worker-1", "gpu-box", 1)
    queue.touch_worker(sessions, "worker-1", reason)
    assert api.get(f"/api/batches/{batch['id']}").json()["paused_reasons"] == [reason]
    queue.touch_worker(sessions, "worker-1", None)
    assert api.get(f"/api/batches/{batch['id']}").json()["paused_reasons"] == []


def test_cancel_a_queued_job_is_immediate(api, lecture):
    audio, videos = lecture
    batch = create(api, [audio], videos).json()
    job_id = batch["jobs"][1]["id"]
    cancelled = api.post(f"/api/jobs/{job_id}/cancel").json()
    assert cancelled["status"] == "cancelled"
    statuses = [job["status"] for job in api.get(f"/api/batches/{batch['id']}").json()["jobs"]]
    assert statuses == ["queued", "cancelled", "queued"]


def test_cancel_a_running_job_asks_its_worker_to_stop(api, lecture, worker):
    audio, videos = lecture
    create(api, [audio], videos[:1])
    job = worker.claim()
    answer = api.post(f"/api/jobs/{job.id}/cancel").json()
    assert answer["status"] == "running" and answer["cancel_requested"] is True
    assert worker.progress(job, 10, 100).should_stop


def test_cancel_a_batch_stops_what_waits_and_runs_but_keeps_what_finished(api, lecture, worker):
    audio, videos = lecture
    batch = create(api, [audio], videos).json()
    done = worker.claim()
    worker.succeed(done, b"mp4")
    running = worker.claim()
    snapshot = api.post(f"/api/batches/{batch['id']}/cancel").json()
    by_id = {job["id"]: job for job in snapshot["jobs"]}
    assert by_id[done.id]["status"] == "succeeded"
    assert by_id[running.id]["cancel_requested"] is True
    assert [j["status"] for j in snapshot["jobs"]].count("cancelled") == 1


def test_retry_puts_a_failed_job_back_in_the_queue(api, lecture, worker):
    audio, videos = lecture
    create(api, [audio], videos[:2])
    failed = worker.claim()
    worker.fail(failed, "no face found in teacher1.mp4 between 0 s and 10 s")
    shown = api.get(f"/api/jobs/{failed.id}").json()
    assert shown["status"] == "failed" and "no face found in teacher1.mp4" in shown["error_message"]
    retried = api.post(f"/api/jobs/{failed.id}/retry").json()
    assert retried["status"] == "queued" and retried["error_message"] is None
    assert worker.claim().id != failed.id  # back at the end of the queue, behind the other
    assert worker.claim().id == failed.id


def test_retry_of_a_queued_or_succeeded_job_is_a_conflict(api, lecture, worker):
    audio, videos = lecture
    batch = create(api, [audio], videos[:2]).json()
    done = worker.claim()
    worker.succeed(done, b"mp4")
    for job_id in (done.id, batch["jobs"][1]["id"]):
        response = api.post(f"/api/jobs/{job_id}/retry")
        assert (
            response.status_code == 409 and "only failed or cancelled" in response.json()["message"]
        )


def test_output_is_served_with_range_for_previews(api, lecture, worker):
    audio, videos = lecture
    batch = create(api, [audio], videos[:2]).json()
    content = bytes(range(256)) * 40
    job = worker.claim()
    worker.succeed(job, content)
    url = f"/api/jobs/{job.id}/output"
    whole = api.get(url)
    assert whole.status_code == 200 and whole.content == content
    assert (
        whole.headers["content-type"] == "video/mp4" and whole.headers["accept-ranges"] == "bytes"
    )
    part = api.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(content)}"
    assert api.get(url, headers={"Range": f"bytes={len(content) + 10}-"}).status_code == 416
    waiting = api.get(f"/api/jobs/{batch['jobs'][1]['id']}/output")
    assert waiting.status_code == 409 and "is queued" in waiting.json()["message"]


def test_archive_holds_exactly_the_succeeded_outputs(api, lecture, worker):
    audio, videos = lecture
    batch = create(api, [audio], videos).json()
    first, second, third = worker.claim(), worker.claim(), worker.claim()
    worker.succeed(first, b"first video bytes")
    worker.fail(second, "corrupt")
    worker.succeed(third, b"third video bytes" * 1000)
    response = api.get(f"/api/batches/{batch['id']}/archive")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert "content-length" not in response.headers  # streamed as written
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    assert archive.namelist() == [first.spec["output_name"], third.spec["output_name"]]
    assert archive.read(third.spec["output_name"]) == b"third video bytes" * 1000
    assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}


def test_archive_is_produced_in_bounded_chunks_as_it_is_read(tmp_path):
    from lipforge.api.zipstream import READ_CHUNK_BYTES, ZipMember, zip_chunks

    members = []
    for index in range(2):
        path = tmp_path / f"big{index}.mp4"
        path.write_bytes(bytes([index + 1]) * (3 * READ_CHUNK_BYTES + 123))
        members.append(ZipMember(path, path.name))
    chunks = zip_chunks(members)
    first = next(chunks)  # the first chunk comes before the rest of the input is read
    rest = list(chunks)
    sizes = [len(first)] + [len(chunk) for chunk in rest]
    assert len(sizes) >= 8 and max(sizes) <= READ_CHUNK_BYTES + 1024
    archive = zipfile.ZipFile(io.BytesIO(b"".join([first, *rest])))
    assert archive.read("big1.mp4") == members[1].path.read_bytes()


def test_archive_of_a_batch_without_outputs_is_a_conflict(api, lecture):
    audio, videos = lecture
    batch = create(api, [audio], videos[:1]).json()
    response = api.get(f"/api/batches/{batch['id']}/archive")
    assert response.status_code == 409 and "no finished outputs" in response.json()["message"]


def test_job_log_lines_are_served(api, lecture):
    audio, videos = lecture
    job_id = create(api, [audio], videos[:1]).json()["jobs"][0]["id"]
    assert api.get(f"/api/jobs/{job_id}/log").json()["lines"] == []
    logs_dir = api.app.state.settings.data_dir.logs
    append_job_log(logs_dir, job_id, "attempt 1 started")
    append_job_log(logs_dir, job_id, "failed: no face")
    lines = api.get(f"/api/jobs/{job_id}/log").json()["lines"]
    assert [line.split(" ", 1)[1] for line in lines] == ["attempt 1 started", "failed: no face"]
    tail = api.get(f"/api/jobs/{job_id}/log", params={"tail": 1}).json()["lines"]
    assert tail == lines[-1:]


def test_delete_removes_the_batch_its_jobs_and_outputs(api, lecture, worker):
    audio, videos = lecture
    batch = create(api, [audio], videos[:2]).json()
    done = worker.claim()
    worker.succeed(done, b"mp4")
    running = worker.claim()
    output = api.app.state.settings.data_dir.outputs / batch["id"] / done.spec["output_name"]
    assert output.exists()
    assert api.delete(f"/api/batches/{batch['id']}").status_code == 204
    assert not output.exists() and not output.parent.exists()
    assert api.get(f"/api/batches/{batch['id']}").status_code == 404
    assert api.get(f"/api/jobs/{done.id}").status_code == 404
    assert not worker.progress(running, 5, 50).held  # the running job's worker lets go
    assert api.get("/api/batches").json()["total"] == 0


def test_requests_without_the_token_are_refused(api, lecture):
    audio, videos = lecture
    response = api.post(
        "/api/batches",
        json={"audio_asset_ids": [audio], "video_asset_ids": videos},
        headers={"Authorization": "Bearer wrong"},
    )
    assert response.status_code == 401


# --- end to end: the real worker and pipeline on short clips -------------------------------


@pytest.mark.slow
def test_bad_items_fail_alone_with_their_reasons(
    api,
    tmp_path,
    talking_head_512,
    talking_head_rotated,
    speech_en_wav,
    no_face_video,
    make_talking_head,
):
    from lipforge.assets.library import asset_path, ingest_file
    from lipforge.jobs.worker import Worker
    from lipforge.render.runner import RenderRunner

    state = api.app.state

    def ingest(source: Path, name: str):
        copy = tmp_path / f"in-{name}"
        shutil.copyfile(source, copy)
        return ingest_file(copy, name, "upload", state.sessions, state.settings)

    audio = ingest(speech_en_wav, "lesson.wav")
    good = [ingest(talking_head_512, "anna.mp4"), ingest(talking_head_rotated, "ben.mp4")]
    faceless = ingest(no_face_video, "coffee.mp4")
    spare = make_talking_head(tmp_path / "spare.mp4", 1.0, (256, 256))
    corrupt = ingest(spare, "broken.mp4")
    damage_after_ingest(asset_path(state.settings, corrupt))
    video_ids = [good[0].id, corrupt.id, faceless.id, good[1].id]
    batch = create(api, [audio.id], video_ids).json()

    stop = threading.Event()
    worker = Worker(state.settings, state.sessions, slots=1, run_job=RenderRunner())
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        final = wait_until_finished(api, batch["id"], timeout_s=240)
    finally:
        stop.set()
        thread.join(60)
    by_name = {job["output_name"]: job for job in final["jobs"]}
    assert by_name["anna-lesson.mp4"]["status"] == "succeeded"
    assert by_name["ben-lesson.mp4"]["status"] == "succeeded"
    assert by_name["coffee-lesson.mp4"]["status"] == "failed"
    assert "no face" in by_name["coffee-lesson.mp4"]["error_message"]
    assert by_name["broken-lesson.mp4"]["status"] == "failed", by_name["broken-lesson.mp4"]
    assert final["status"] == "failed" and final["counts"]["succeeded"] == 2
    archive = zipfile.ZipFile(io.BytesIO(api.get(f"/api/batches/{batch['id']}/archive").content))
    assert sorted(archive.namelist()) == ["anna-lesson.mp4", "ben-lesson.mp4"]
    # each reason names the user's file, not the server's copy of it
    assert "coffee.mp4" in by_name["coffee-lesson.mp4"]["error_message"]
    assert "broken.mp4" in by_name["broken-lesson.mp4"]["error_message"]


def damage_after_ingest(stored: Path) -> None:
    """Overwrite the stored copy's media data with noise: valid at upload, broken at render."""
    data = bytearray(stored.read_bytes())
    start = len(data) // 4
    data[start:] = bytes((i * 7919) % 251 for i in range(len(data) - start))
    stored.write_bytes(bytes(data))


def wait_until_finished(api, batch_id: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        snapshot = api.get(f"/api/batches/{batch_id}").json()
        if snapshot["finished"]:
            return snapshot
        time.sleep(0.5)
    raise AssertionError(f"batch {batch_id} did not finish in {timeout_s} s: {snapshot}")


def test_a_batch_takes_what_each_audio_says(api, sessions):
    audios = [add_asset(sessions, "audio", f"part{i}.wav") for i in (1, 2)]
    video = add_asset(sessions, "video", "teacher.mp4")
    said = {audios[0]: "Bob met my mom.", audios[1]: "妈妈买了面包。"}
    response = create(api, audios, [video], transcripts=said)
    assert response.status_code == 201
    assert {a: api.get(f"/api/assets/{a}").json()["transcript"] for a in audios} == said
    stranger = create(api, audios[:1], [video], transcripts={video: "not an audio of it"})
    assert stranger.status_code == 422
    assert stranger.json()["params"]["reason"] == "transcript_not_in_batch"
    assert api.get(f"/api/assets/{video}").json()["transcript"] is None
