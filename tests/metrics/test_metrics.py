"""GET /metrics as Prometheus sees it: text format, route templates, the queue from the
database, upload bytes, the token guard, the standalone port, several processes adding up,
and the GPU gauges (absent here for real; present through a fake NVML module)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import types
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from tests.support.serving import free_port as _free_port

from lipforge import gpus
from lipforge.api.app import create_app
from lipforge.config import Settings
from lipforge.db import utc_now
from lipforge.jobs import queue
from lipforge.jobs.tables import Batch
from lipforge.metrics.collectors import GpuCollector
from lipforge.metrics.exposition import start_metrics_server
from lipforge.render.spec import RenderSpec

TOKEN = "metrics-test-token-0123456789"
DCGM_NAMES = {
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_DEV_FB_FREE",
    "DCGM_FI_DEV_GPU_TEMP",
    "DCGM_FI_DEV_POWER_USAGE",
}


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a metrics page (which must parse)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def total(page: dict, name: str, **labels: str) -> float:
    return sum(
        value
        for (sample, sample_labels), value in page.items()
        if sample == name and set(labels.items()) <= set(sample_labels)
    )


@pytest.fixture
def api(tmp_path):
    with TestClient(create_app(Settings(data=tmp_path / "data", min_free_disk_bytes=0))) as client:
        yield client


def test_requests_are_counted_by_route_template_not_raw_path(api):
    route = {"method": "GET", "route": "/api/jobs/{job_id}"}
    before = samples(api.get("/metrics").text)  # counters live as long as the process
    for _ in range(3):
        assert api.get("/api/jobs/0123456789abcdef0123456789abcdef").status_code == 404
    answer = api.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    page = samples(answer.text)
    for name, labels in (
        ("lipforge_http_requests_total", {"status": "404", **route}),
        ("lipforge_http_request_duration_seconds_count", route),
    ):
        assert total(page, name, **labels) - total(before, name, **labels) == 3
    assert "0123456789abcdef" not in answer.text


def test_jobs_by_state_and_queue_depth_come_from_the_database(api):
    sessions = api.app.state.sessions
    with sessions.begin() as session:
        batch = Batch(id=queue.new_id(), created_at=utc_now(), options={})
        session.add(batch)
        session.flush()
        specs = [RenderSpec("a" * 32, "v" * 32, f"out{n}.mp4") for n in range(3)]
        queue.enqueue_jobs(session, batch.id, specs)
    queue.claim_next_job(sessions, "metrics-test-worker", lease_s=60)
    page = samples(api.get("/metrics").text)
    assert total(page, "lipforge_jobs", state="queued") == 2
    assert total(page, "lipforge_jobs", state="running") == 1
    assert total(page, "lipforge_queue_depth") == 2


def test_upload_bytes_are_counted(api):
    before = total(samples(api.get("/metrics").text), "lipforge_upload_bytes_total")
    tus = {"Tus-Resumable": "1.0.0"}
    created = api.post("/api/uploads/", headers={**tus, "Upload-Length": "5000"})
    location = created.headers["location"]
    patched = api.patch(
        location[location.index("/api/uploads/") :],
        content=b"x" * 3000,
        headers={**tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
    )
    assert patched.status_code == 204
    after = total(samples(api.get("/metrics").text), "lipforge_upload_bytes_total")
    assert after - before == 3000


def test_download_bytes_are_counted_by_route(api, speech_en_wav):
    from tests.uploads.helpers import send_file, wait_for_result

    url = send_file(api, speech_en_wav)
    asset_id = wait_for_result(api, url[url.index("/api/uploads/") :])["asset_id"]
    route = "/api/assets/{asset_id}/content"
    before = total(samples(api.get("/metrics").text), "lipforge_download_bytes_total", route=route)
    content = api.get(f"/api/assets/{asset_id}/content")
    assert content.status_code == 200
    after = total(samples(api.get("/metrics").text), "lipforge_download_bytes_total", route=route)
    assert after - before == len(content.content)


def test_no_gpu_means_no_gpu_gauges_and_no_error(api):
    assert gpus.read_gpus() == []  # this machine has no NVIDIA GPU
    answer = api.get("/metrics")
    assert answer.status_code == 200
    assert not DCGM_NAMES & {name for name, _ in samples(answer.text)}


def test_the_token_guards_metrics_beyond_loopback(tmp_path):
    settings = Settings(data=tmp_path / "data", host="0.0.0.0", token=TOKEN)
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 401
        answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200
        assert "lipforge_http_requests_total" in answer.text


def test_metrics_are_declared_in_the_openapi_document(api):
    operation = api.get("/openapi.json").json()["paths"]["/metrics"]["get"]
    assert "text/plain" in operation["responses"]["200"]["content"]


def test_standalone_metrics_port_asks_for_the_token_when_given_one():
    port = _free_port()
    server = start_metrics_server("127.0.0.1", port, None, TOKEN)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        assert httpx.get(url).status_code == 401
        answer = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200
        samples(answer.text)
        assert httpx.get(f"http://127.0.0.1:{port}/other").status_code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_standalone_metrics_port_throttles_wrong_tokens_and_drops_slow_headers():
    import socket
    import time

    from lipforge.api.throttle import FailureThrottle

    port = _free_port()
    server = start_metrics_server("127.0.0.1", port, None, TOKEN, FailureThrottle(3, 60.0), 1.0)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        wrong = {"Authorization": "Bearer wrong"}
        assert [httpx.get(url, headers=wrong).status_code for _ in range(3)] == [401] * 3
        throttled = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
        assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
        with socket.create_connection(("127.0.0.1", port)) as slow:
            slow.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            slow.settimeout(5.0)
            started = time.monotonic()
            assert slow.recv(100) == b""  # closed: the headers never ended
            assert time.monotonic() - started < 3.0
    finally:
        server.shutdown()
        server.server_close()


COUNTING_PROCESS = """
import sys
from lipforge.metrics import record_job_ended, record_upload_bytes
record_upload_bytes(1000)
record_job_ended("succeeded", 12.0, "meshwarp", 30.0)
"""

SCRAPING_PROCESS = (
    "from lipforge.metrics.exposition import render_metrics\n"
    "import sys; sys.stdout.write(render_metrics(None).decode())"
)


def _scrape_in_a_new_process(env: dict) -> dict:
    """The metrics page as a fresh process sharing `env`'s run dir renders it."""
    command = [sys.executable, "-c", SCRAPING_PROCESS]
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    return samples(done.stdout)


def test_processes_sharing_a_run_dir_add_up_and_the_dead_still_count(tmp_path):
    run_dir = tmp_path / "metrics-run"
    run_dir.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(run_dir)}
    for _ in range(2):  # two processes, both gone by the time of the scrape
        subprocess.run([sys.executable, "-c", COUNTING_PROCESS], env=env, check=True, timeout=120)
    page = _scrape_in_a_new_process(env)
    assert total(page, "lipforge_upload_bytes_total") == 2000
    assert total(page, "lipforge_job_duration_seconds_count", outcome="succeeded") == 2
    assert total(page, "lipforge_render_fps_count", engine="meshwarp") == 2
    assert total(page, "lipforge_job_duration_seconds_bucket", le="15.0") == 2
    # the dead processes' files were merged into one per kind; a third one adds to them
    assert sorted(path.name for path in run_dir.glob("*.db")) == [
        "counter_merged.db",
        "histogram_merged.db",
    ]
    subprocess.run([sys.executable, "-c", COUNTING_PROCESS], env=env, check=True, timeout=120)
    again = _scrape_in_a_new_process(env)
    assert total(again, "lipforge_upload_bytes_total") == 3000
    assert total(again, "lipforge_job_duration_seconds_count", outcome="succeeded") == 3


def test_serve_with_its_worker_child_answers_on_the_metrics_port(tmp_path):
    """A real `lipforge serve`: the worker child's heartbeats show on the API's metrics port."""
    port, metrics_port = _free_port(), _free_port()
    run_dir = tmp_path / "run"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(run_dir)}
    lipforge = Path(sys.executable).parent / "lipforge"
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [str(lipforge), "serve", "--port", str(port), "--metrics-port", str(metrics_port),
         "--data", str(tmp_path / "data")],
        env=env, stdout=log, stderr=log,
    )  # fmt: skip
    try:
        page = _wait_for_heartbeat(f"http://127.0.0.1:{metrics_port}/metrics", process)
        assert total(page, "lipforge_worker_slots") == 1
        assert total(page, "lipforge_worker_last_heartbeat_timestamp_seconds") > time.time() - 60
        assert httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200
        page = samples(httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text)
        # one page, two processes: the API's request and the worker child's heartbeats
        assert total(page, "lipforge_http_requests_total", route="/api/health") == 1
        assert total(page, "lipforge_worker_heartbeats_total") > 0
        assert len({path.name.rsplit("_", 1)[1] for path in run_dir.glob("*.db")}) == 2
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def _wait_for_heartbeat(url: str, process: subprocess.Popen) -> dict:
    deadline = time.monotonic() + 120
    page: dict = {}
    while time.monotonic() < deadline:
        assert process.poll() is None, "lipforge serve exited; see serve.log"
        try:
            page = samples(httpx.get(url, timeout=5).text)
            if total(page, "lipforge_worker_heartbeats_total") > 0:
                return page
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"no worker heartbeat on the metrics port: {page}")


class _Memory:
    used, total = 3 * 1024**3, 16 * 1024**3


class _Utilization:
    gpu = 87


def fake_nvml() -> types.ModuleType:
    """The NVML boundary (the pynvml module) with two GPUs: the only fake here (no GPU on CI)."""
    nvml = types.ModuleType("pynvml")
    nvml.NVMLError = type("NVMLError", (Exception,), {})
    nvml.NVML_TEMPERATURE_GPU = 0
    nvml.nvmlInit = lambda: None
    nvml.nvmlDeviceGetCount = lambda: 2
    nvml.nvmlDeviceGetHandleByIndex = lambda index: index
    nvml.nvmlDeviceGetMemoryInfo = lambda handle: _Memory()
    nvml.nvmlDeviceGetUUID = lambda handle: f"GPU-0000000{handle}"
    nvml.nvmlDeviceGetName = lambda handle: b"NVIDIA L4"
    nvml.nvmlDeviceGetUtilizationRates = lambda handle: _Utilization()
    nvml.nvmlDeviceGetTemperature = lambda handle, sensor: 61
    nvml.nvmlDeviceGetPowerUsage = lambda handle: 72_500  # milliwatts
    return nvml


def test_gpu_gauges_carry_dcgm_names_and_labels(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml())
    monkeypatch.setattr(gpus, "_nvml_ready", False)
    monkeypatch.setattr(gpus, "_nvml_failed_at", None)
    families = {family.name: family for family in GpuCollector().collect()}
    assert set(families) == DCGM_NAMES
    by_gpu = {s.labels["gpu"]: s for s in families["DCGM_FI_DEV_FB_USED"].samples}
    assert set(by_gpu) == {"0", "1"}
    assert by_gpu["1"].labels["UUID"] == "GPU-00000001"
    assert by_gpu["1"].labels["modelName"] == "NVIDIA L4"
    assert by_gpu["1"].labels["device"] == "nvidia1"
    assert by_gpu["0"].value == 3 * 1024  # MiB, as DCGM reports framebuffer memory
    assert families["DCGM_FI_DEV_FB_FREE"].samples[0].value == 13 * 1024
    assert families["DCGM_FI_DEV_GPU_UTIL"].samples[0].value == 87
    assert families["DCGM_FI_DEV_POWER_USAGE"].samples[0].value == 72.5
    assert families["DCGM_FI_DEV_GPU_TEMP"].samples[0].value == 61
