"""Workers on separate hosts with no shared disk: only PostgreSQL and the bucket in common.

Two network namespaces stand for two GPU machines (each its own hostname, data dir and
input cache, reaching PostgreSQL and SeaweedFS only through relays on its veth link);
the API, PostgreSQL and SeaweedFS run on the host side. A batch of 6 jobs splits across
both workers; one worker is SIGKILLed in the middle of its second job: that job runs again
on the other machine once its lease runs out, and the bucket holds exactly 6 outputs,
each made from the right input bytes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from netns import Namespace, Relay, netns_available
from netns_worker import output_bytes
from sqlalchemy import select
from sqlalchemy.engine import make_url
from tests.support.pg_database import fresh_pg_url  # noqa: E402
from tests.support.polling import wait_until
from tests.uploads.helpers import send_file, wait_for_result

from lipforge.api.app import create_app
from lipforge.config import Settings
from lipforge.jobs import queue
from lipforge.jobs.tables import Job

pytestmark = pytest.mark.postgres

TOKEN = "separate-hosts-token-0123456789"
WORKER_SCRIPT = Path(__file__).with_name("netns_worker.py")
JOBS = 6
WAIT_S = 90.0
TEXTS = [f"Take number {n}." for n in range(JOBS)]


def start_worker(ns: Namespace, host: str, data: Path, env: dict) -> subprocess.Popen:
    hostname_then_run = 'hostname "$1" && shift && exec "$@"'
    command = ns.command(
        "unshare", "--uts", "sh", "-c", hostname_then_run, "sh", host,
        sys.executable, str(WORKER_SCRIPT), str(data),
    )  # fmt: skip
    log = (data.parent / f"{host}.out").open("wb")
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip


def worker_env(seaweed, url: str, pg_url: str, pg_relay: Relay, s3_relay: Relay) -> dict:
    host, port = pg_relay.address.split(":")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIPFORGE_", "AWS_"))}
    env["LIPFORGE_DATABASE_URL"] = (
        make_url(pg_url).set(host=host, port=int(port)).render_as_string(hide_password=False)
    )
    env.update(seaweed.env(url, endpoint=f"http://{s3_relay.address}"))
    return env


def jobs_of(sessions, batch_id: str) -> list[Job]:
    with sessions() as session:
        return list(session.scalars(select(Job).where(Job.batch_id == batch_id)))


def wait_for(condition, what: str, timeout_s: float = WAIT_S):
    return wait_until(condition, what, timeout_s, interval_s=0.1)


def test_a_batch_splits_across_two_hosts_and_a_killed_workers_job_finishes_once(
    seaweed, bucket, tmp_path, make_speech, talking_head_512
):
    reason = netns_available()
    if reason:
        pytest.skip(reason)
    prefix = f"hosts-{uuid.uuid4().hex[:8]}"
    url = f"s3://{bucket}/{prefix}"
    env = seaweed.env(url)
    audios = [make_speech(tmp_path / f"take{n}.wav", text, "en-us") for n, text in enumerate(TEXTS)]
    namespaces: list[Namespace] = []
    relays: list[Relay] = []
    workers: dict[str, subprocess.Popen] = {}
    with fresh_pg_url() as pg_url:
        settings = Settings(
            data=tmp_path / "api",
            database_url=pg_url,
            token=TOKEN,
            storage_url=url,
            s3_endpoint_url=env["LIPFORGE_S3_ENDPOINT_URL"],
            s3_region=env["LIPFORGE_S3_REGION"],
            s3_access_key_id=env["LIPFORGE_S3_ACCESS_KEY_ID"],
            s3_secret_access_key=env["LIPFORGE_S3_SECRET_ACCESS_KEY"],
        )
        settings.data_dir.ensure()
        headers = {"Authorization": f"Bearer {TOKEN}"}
        try:
            with TestClient(create_app(settings), headers=headers) as client:
                sessions = client.app.state.sessions
                pg_port = make_url(pg_url).port or 5432
                s3_port = int(seaweed.endpoint.rsplit(":", 1)[1])
                for index, host in ((1, "gpu-box-1"), (2, "gpu-box-2")):
                    ns = Namespace.create(index)
                    namespaces.append(ns)
                    pg_relay, s3_relay = Relay(ns.host_ip, pg_port), Relay(ns.host_ip, s3_port)
                    relays += [pg_relay, s3_relay]
                    data = tmp_path / host / "data"
                    data.mkdir(parents=True)
                    ns_env = worker_env(seaweed, url, pg_url, pg_relay, s3_relay)
                    workers[host] = start_worker(ns, host, data, ns_env)
                wait_for(lambda: len(_worker_hosts(sessions)) == 2, "both workers to start")
                run_batch_and_kill_one(client, workers, audios, talking_head_512, seaweed, bucket,
                                       prefix, tmp_path)  # fmt: skip
        finally:
            for process in workers.values():
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in workers.values():
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)
            for relay in relays:
                relay.close()
            for ns in namespaces:
                ns.remove()


def _worker_hosts(sessions) -> set[str]:
    with sessions() as session:
        return {row.hostname for row in queue.list_workers(session)}


def run_batch_and_kill_one(client, workers, audios, video_path, seaweed, bucket, prefix, tmp):
    sessions = client.app.state.sessions
    audio_by_id = {upload(client, path): path for path in audios}
    video_id = upload(client, video_path)
    body = {"audio_asset_ids": list(audio_by_id), "video_asset_ids": [video_id]}
    batch_id = client.post("/api/batches", json=body).json()["id"]

    def victim_mid_second_job():
        jobs = jobs_of(sessions, batch_id)
        mine = [job for job in jobs if job.worker_id and job.worker_id.startswith("gpu-box-1:")]
        done = [job for job in mine if job.status == "succeeded"]
        running = [job for job in mine if job.status == "running" and job.frames_done >= 1]
        return running[0] if done and running else None

    victim = wait_for(victim_mid_second_job, "gpu-box-1 to be in the middle of a second job")
    os.killpg(workers["gpu-box-1"].pid, signal.SIGKILL)
    workers["gpu-box-1"].wait(10)

    def batch_over():
        jobs = jobs_of(sessions, batch_id)
        over = all(job.status in ("succeeded", "failed", "cancelled") for job in jobs)
        return jobs if over else None

    jobs = wait_for(batch_over, "the batch to finish")
    assert [job.status for job in jobs] == ["succeeded"] * JOBS, [job.error_message for job in jobs]
    again = next(job for job in jobs if job.id == victim.id)
    assert again.attempt == 2 and again.worker_id.startswith("gpu-box-2:")

    def log_of_victim() -> str | None:  # the last lines are stored just after the job ends
        text = "\n".join(client.get(f"/api/jobs/{victim.id}/log").json()["lines"])
        return text if "succeeded: " in text else None

    log = wait_for(log_of_victim, "the job's log with its success", timeout_s=10)
    for line in ("attempt 1 of 3 started on gpu-box-1:", "its worker stopped answering",
                 "attempt 2 of 3 started on gpu-box-2:", "succeeded: "):  # fmt: skip
        assert line in log, f"the job's log, read by the API, lacks {line!r}:\n{log}"

    s3 = seaweed.client()
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/outputs/")
    keys = sorted(item["Key"] for item in listed.get("Contents", []))
    assert keys == sorted(f"{prefix}/outputs/{job.output_relpath}" for job in jobs)
    assert len(keys) == JOBS
    video = video_path.read_bytes()
    makers = set()
    for job in jobs:
        body = s3.get_object(Bucket=bucket, Key=f"{prefix}/outputs/{job.output_relpath}")["Body"]
        content = body.read()
        host = content.split(b" ", 1)[0].decode()
        audio = audio_by_id[job.spec["audio_asset_id"]].read_bytes()
        assert content == output_bytes(host, audio, video), "an output from the wrong inputs"
        makers.add(host)
    assert makers == {"gpu-box-1", "gpu-box-2"}, "the batch did not split across both hosts"
    assert s3.list_multipart_uploads(Bucket=bucket, Prefix=f"{prefix}/").get("Uploads", []) == []
    for host in ("gpu-box-1", "gpu-box-2"):
        cached = list((tmp / host / "data" / "cache" / "inputs").iterdir())
        assert cached, f"{host} read its inputs without its own cache"
    assert not [p for p in (tmp / "api" / "outputs").rglob("*") if p.is_file()]


def upload(client, path: Path) -> str:
    status = wait_for_result(client, send_file(client, path, chunk_bytes=1024 * 1024))
    assert status["state"] == "done", status
    return status["asset_id"]
