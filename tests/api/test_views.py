"""One job shape: what the event stream says about a job uses the names and values of the job
the API answers (`id`, never a second `job_id` shape), and the OpenAPI document names the
views each route answers with."""

from __future__ import annotations

import pytest
from batch_helpers import FakeWorker, add_asset

from lipforge.api.routes_events import describe_event
from lipforge.api.views import JobView
from lipforge.events import events_since


@pytest.fixture
def sessions(api):
    return api.app.state.sessions


def test_job_events_carry_the_snapshot_fields_under_the_same_names(api, sessions):
    audio = add_asset(sessions, "audio", "课程.wav", duration_s=4.0)
    video = add_asset(sessions, "video", "teacher.mp4")
    body = {"audio_asset_ids": [audio], "video_asset_ids": [video]}
    batch = api.post("/api/batches", json=body).json()
    worker = FakeWorker(sessions, api.app.state.settings.data_dir.outputs)
    job = worker.claim()
    worker.progress(job, 10, 40)
    assert worker.succeed(job, b"mp4")
    events = [describe_event(e) for e in events_since(sessions, 0, batch_id=batch["id"])]
    job_events = [e for e in events if e["kind"].startswith("job.")]
    assert [e["kind"] for e in job_events] == [
        "job.queued", "job.started", "job.progress", "job.succeeded"
    ]  # fmt: skip
    for event in job_events:
        assert event["job"]["id"] == job.id and event["job_id"] == job.id
        assert set(event["job"]) <= set(JobView.model_fields), event["kind"]
        assert set(event) == {"id", "created_at", "kind", "batch_id", "job_id", "job"}
    snapshot = api.get(f"/api/jobs/{job.id}").json()
    succeeded = job_events[-1]["job"]
    assert succeeded == {name: snapshot[name] for name in succeeded}
    assert succeeded["output_url"] == snapshot["output_url"] == f"/api/jobs/{job.id}/output"
    assert job_events[2]["job"]["frames_done"] == 10 and job_events[2]["job"]["status"] == "running"


def test_the_openapi_document_names_each_routes_view(api):
    paths = api.get("/openapi.json").json()["paths"]

    def answer(path: str, method: str, status: str = "200") -> str:
        content = paths[path][method]["responses"][status]["content"]["application/json"]
        return content["schema"]["$ref"].rsplit("/", 1)[-1]

    assert answer("/api/jobs/{job_id}", "get") == "JobView"
    assert answer("/api/jobs/{job_id}/retry", "post") == "JobView"
    assert answer("/api/batches/{batch_id}", "get") == "BatchView"
    assert answer("/api/batches", "post", "201") == "BatchView"
    assert answer("/api/batches", "get") == "BatchPage"
    assert answer("/api/jobs/{job_id}/log", "get") == "JobLogView"
