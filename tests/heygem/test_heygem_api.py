"""The HeyGem routes in-process: the envelope, ordinary batches named by code, and access."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from tests.support.pg_database import fresh_pg_url  # noqa: E402

from lipforge.api.app import create_app
from lipforge.api.companions import companion_app
from lipforge.api.routes_heygem import router as heygem_router
from lipforge.config import Settings

TOKEN = "heygem-test-token-0123456789"


@pytest.fixture
def heygem_inputs(tmp_path, talking_head_512, speech_en_wav):
    temp = tmp_path / "data" / "heygem" / "temp"
    temp.mkdir(parents=True)
    (temp / "face.mp4").write_bytes(talking_head_512.read_bytes())
    (temp / "speech.wav").write_bytes(speech_en_wav.read_bytes())
    return temp


def submit_body(code: str, **extra) -> bytes:
    return json.dumps({"code": code, "audio_url": "speech.wav", "video_url": "face.mp4", **extra})


def test_a_submitted_code_is_an_ordinary_batch_and_answers_queries(tmp_path, heygem_inputs):
    submit_and_query(Settings(data=tmp_path / "data"))


@pytest.mark.postgres
def test_codes_on_postgresql(tmp_path, heygem_inputs):
    with fresh_pg_url() as url:
        submit_and_query(Settings(data=tmp_path / "data", database_url=url))


def submit_and_query(settings: Settings) -> None:
    with TestClient(create_app(settings)) as api:
        answer = api.post("/easy/submit", content=submit_body("c-1", chaofen=1, sign="x")).json()
        assert answer["code"] == 10000 and answer["success"] is True
        assert "chaofen=1" in answer["msg"] and "sign" in answer["msg"]
        again = api.post("/easy/submit", content=submit_body("c-1")).json()
        assert again["code"] == 10000 and again["data"]["job_id"] == answer["data"]["job_id"]

        query = api.get("/easy/query", params={"code": "c-1"}).json()
        assert query["code"] == 10000 and query["data"]["status"] == 1
        assert query["data"]["progress"] == 0 and "waiting" in query["data"]["msg"]
        assert "chaofen=1" in query["data"]["msg"]

        batches = api.get("/api/batches").json()["items"]
        assert [batch["name"] for batch in batches] == ["c-1"]
        batch = api.get(f"/api/batches/{answer['data']['batch_id']}").json()
        assert batch["jobs"][0]["status"] == "queued"
        assert batch["jobs"][0]["output_name"] == "c-1-r.mp4"


def test_a_cancelled_code_ends_with_status_3_then_runs_again(tmp_path, heygem_inputs):
    with TestClient(create_app(Settings(data=tmp_path / "data"))) as api:
        first = api.post("/easy/submit", content=submit_body("again")).json()["data"]["job_id"]
        assert api.post(f"/api/jobs/{first}/cancel").status_code == 200
        ended = api.get("/easy/query", params={"code": "again"}).json()["data"]
        assert ended["status"] == 3 and "cancel" in ended["msg"]
        second = api.post("/easy/submit", content=submit_body("again")).json()["data"]["job_id"]
        assert second != first
        answer = api.get("/easy/query", params={"code": "again"}).json()["data"]
        assert answer["job_id"] == second
        assert api.delete(f"/api/batches/{answer['batch_id']}").status_code == 204
        assert api.get("/easy/query", params={"code": "again"}).json()["code"] == 10004


def test_unknown_and_missing_codes(tmp_path):
    with TestClient(create_app(Settings(data=tmp_path / "data"))) as api:
        unknown = api.get("/easy/query", params={"code": "nope"})
        assert unknown.status_code == 200 and unknown.json()["code"] == 10004
        assert api.get("/easy/query").json()["code"] == 10002
        bad_code = api.post("/easy/submit", content=submit_body("../x")).json()
        assert bad_code["code"] == 10002 and "code" in bad_code["msg"]


@pytest.mark.parametrize("code", ["-rf", ".hidden", "a:b", "what?", "讲" * 70])
def test_codes_that_cannot_name_a_file_everywhere_are_refused(tmp_path, code):
    """`<code>-r.mp4` is written as is: the naming rule of every output must already hold."""
    with TestClient(create_app(Settings(data=tmp_path / "data"))) as api:
        answer = api.post("/easy/submit", content=submit_body(code)).json()
    assert answer["code"] == 10002 and "cannot name a file" in answer["msg"]


def test_a_chinese_code_names_its_result(tmp_path, heygem_inputs):
    with TestClient(create_app(Settings(data=tmp_path / "data"))) as api:
        answer = api.post("/easy/submit", content=submit_body("第一课-王老师")).json()
        query = api.get("/easy/query", params={"code": "第一课-王老师"}).json()
    assert answer["code"] == 10000 and query["code"] == 10000


def test_the_routes_are_in_the_openapi_document(tmp_path):
    with TestClient(create_app(Settings(data=tmp_path / "data"))) as api:
        paths = api.get("/openapi.json").json()["paths"]
    assert {"/easy/submit", "/easy/query", "/easy/result/{code}"} <= set(paths)
    assert "200" in paths["/easy/query"]["get"]["responses"]


def listener_client(main, client_ip: str, **headers) -> TestClient:
    app = companion_app(main, [heygem_router], "test")
    return TestClient(app, client=(client_ip, 50000), headers=headers)


@pytest.mark.parametrize(
    ("allow", "client_ip", "headers", "status"),
    [
        ((), "10.1.2.3", {}, 401),
        (("10.0.0.0/8",), "10.1.2.3", {}, 200),
        (("10.0.0.0/8",), "192.168.1.9", {}, 401),
        ((), "192.168.1.9", {"Authorization": f"Bearer {TOKEN}"}, 200),
    ],
)
def test_beyond_loopback_the_listener_needs_the_token_or_an_allowed_network(
    tmp_path, allow, client_ip, headers, status
):
    settings = Settings(data=tmp_path / "data", host="0.0.0.0", token=TOKEN, heygem_allow=allow)
    main = create_app(settings)
    with TestClient(main):
        answer = listener_client(main, client_ip, **headers).get("/easy/query?code=x")
    assert answer.status_code == status
    if status == 200:
        assert answer.json()["code"] == 10004


def test_an_open_listener_refuses_submits_from_a_foreign_web_page(tmp_path):
    main = create_app(Settings(data=tmp_path / "data"))
    with TestClient(main):
        listener = listener_client(main, "127.0.0.1", Origin="http://evil.example")
        refused = listener.post("/easy/submit", content=submit_body("x"))
        assert refused.status_code == 403 and refused.json()["error"] == "foreign_origin"
        assert listener.get("/easy/query?code=x").json()["code"] == 10004


@pytest.mark.parametrize("code", ["好" * 84, "abc\u202egpj.exe", "-rf", ".hidden", "a\u2066b"])
def test_codes_that_cannot_name_a_file_are_refused_at_submit(tmp_path, heygem_inputs, code):
    with TestClient(create_app(Settings(data=tmp_path / "data"))) as api:
        answer = api.post("/easy/submit", content=submit_body(code)).json()
    assert answer["code"] == 10002 and answer["data"]["params"]["field"] == "code", answer


def test_a_chinese_code_within_the_byte_limit_is_accepted(tmp_path, heygem_inputs):
    with TestClient(create_app(Settings(data=tmp_path / "data"))) as api:
        answer = api.post("/easy/submit", content=submit_body("课程" * 33)).json()  # 198 bytes
    assert answer["code"] == 10000, answer


@pytest.mark.parametrize(("forget", "second"), [("failed", 10004), ("none", 10000)])
def test_a_failed_code_answers_status_3_once_then_is_forgotten(
    tmp_path, heygem_inputs, forget, second
):
    settings = Settings(data=tmp_path / "data", heygem_forget=forget)
    with TestClient(create_app(settings)) as api:
        job_id = api.post("/easy/submit", content=submit_body("once")).json()["data"]["job_id"]
        assert api.post(f"/api/jobs/{job_id}/cancel").status_code == 200
        first = api.get("/easy/query", params={"code": "once"}).json()
        assert first["code"] == 10000 and first["data"]["status"] == 3
        assert api.get("/easy/query", params={"code": "once"}).json()["code"] == second
        assert [b["name"] for b in api.get("/api/batches").json()["items"]] == ["once"]


def test_the_queue_message_counts_rendering_jobs_and_says_the_wait(tmp_path, heygem_inputs):
    from lipforge.jobs.tables import Job, JobStatus

    with TestClient(create_app(Settings(data=tmp_path / "data"))) as api:
        first = api.post("/easy/submit", content=submit_body("first")).json()["data"]["job_id"]
        api.post("/easy/submit", content=submit_body("second"))
        with api.app.state.sessions.begin() as session:
            job = session.get(Job, first)
            job.status, job.fps, job.frames_total, job.frames_done = (
                JobStatus.RUNNING,
                10.0,
                100,
                50,
            )
        msg = api.get("/easy/query", params={"code": "second"}).json()["data"]["msg"]
    assert "1 job(s) ahead (1 rendering, 0 waiting)" in msg, msg
    assert "estimated wait about 5 s" in msg, msg


def test_a_refused_input_is_named_as_the_client_sent_it(tmp_path, heygem_inputs):
    (heygem_inputs / "garbage.wav").write_bytes(b"not audio at all")
    with TestClient(create_app(Settings(data=tmp_path / "data"))) as api:
        body = submit_body("bad", audio_url="../temp/garbage.wav")
        answer = api.post("/easy/submit", content=body).json()
    assert answer["code"] == 10002, answer
    assert "audio_url '../temp/garbage.wav'" in answer["msg"], answer["msg"]
    assert (
        "audio_url-garbage" not in answer["msg"]
        and answer["data"]["params"]["field"] == "audio_url"
    )


def test_forget_all_answers_a_finished_render_once_then_10004(tmp_path, heygem_inputs):
    """With LIPFORGE_HEYGEM_FORGET=all a code that rendered answers status 2 with its result
    once, as HeyGem did; then 10004, while its batch and output stay in LipForge's API."""
    import threading
    import time

    from lipforge.jobs.worker import Worker, WorkerTuning
    from lipforge.render.runner import RenderRunner

    settings = Settings(data=tmp_path / "data", heygem_forget="all")
    with TestClient(create_app(settings)) as api:
        batch_id = api.post("/easy/submit", content=submit_body("done")).json()["data"]["batch_id"]
        tuning = WorkerTuning(heartbeat_interval_s=0.5, lease_s=5.0, idle_poll_s=0.05)
        worker = Worker(settings, api.app.state.sessions, run_job=RenderRunner(), tuning=tuning)
        stop = threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        try:
            deadline, data = time.monotonic() + 120, {"status": 1}
            while data["status"] == 1 and time.monotonic() < deadline:
                time.sleep(0.2)
                data = api.get("/easy/query", params={"code": "done"}).json()["data"]
        finally:
            stop.set()
            thread.join(30)
        assert data["status"] == 2 and data["result"].endswith(".mp4"), data
        again = api.get("/easy/query", params={"code": "done"}).json()
        assert again["code"] == 10004 and again["success"] is True, again
        batch = api.get(f"/api/batches/{batch_id}").json()
        assert batch["name"] == "done" and batch["jobs"][0]["status"] == "succeeded"
        job_id = batch["jobs"][0]["id"]
        assert api.get(f"/api/jobs/{job_id}/output").content[4:8] == b"ftyp"
