"""The machine panel's data: real CPU/memory/disk figures, "no GPU" as an empty list, the
queue depth and each worker's slots; `/api/machine` and its event stream answer them."""

from __future__ import annotations

import json
import sys
import types

from fastapi.testclient import TestClient

from lipforge import gpus
from lipforge.api.app import create_app
from lipforge.jobs.readings import read_machine_queue
from lipforge.machine import machine_snapshot


def test_snapshot_reports_this_machine(settings, sessions) -> None:
    snapshot = machine_snapshot(settings, lambda: read_machine_queue(sessions))
    assert 0 < snapshot["memory_used_bytes"] < snapshot["memory_total_bytes"]
    assert 0 < snapshot["disk_free_bytes"] <= snapshot["disk_total_bytes"]
    assert 0.0 <= snapshot["cpu_percent"] <= 100.0 * snapshot["cpu_count"]
    assert snapshot["queue"] == {"queued": 0, "running": 0}
    assert snapshot["workers"] == []
    assert isinstance(snapshot["gpus"], list)


def test_no_nvml_means_no_gpu_not_an_error(monkeypatch) -> None:
    broken = types.ModuleType("pynvml")

    class NVMLError(Exception):
        pass

    def init() -> None:
        raise NVMLError("NVML Shared Library Not Found")

    broken.NVMLError = NVMLError
    broken.nvmlInit = init
    monkeypatch.setitem(sys.modules, "pynvml", broken)
    monkeypatch.setattr(gpus, "_nvml_ready", False)
    monkeypatch.setattr(gpus, "_nvml_failed_at", None)
    assert gpus.read_gpus() == []


def test_gpu_readings_are_bytes_and_percent(monkeypatch) -> None:
    """NVML's answers (a fake library at its own interface) become plain readings."""
    fake = types.ModuleType("pynvml")
    fake.NVMLError = type("NVMLError", (Exception,), {})
    fake.NVML_TEMPERATURE_GPU = 0
    fake.nvmlInit = lambda: None
    fake.nvmlDeviceGetCount = lambda: 1
    fake.nvmlDeviceGetHandleByIndex = lambda index: index
    fake.nvmlDeviceGetUUID = lambda handle: b"GPU-1234"
    fake.nvmlDeviceGetName = lambda handle: b"NVIDIA L4"
    fake.nvmlDeviceGetUtilizationRates = lambda handle: types.SimpleNamespace(gpu=37)
    memory = types.SimpleNamespace(used=2 << 30, total=24 << 30)
    fake.nvmlDeviceGetMemoryInfo = lambda handle: memory
    fake.nvmlDeviceGetTemperature = lambda handle, sensor: 55
    fake.nvmlDeviceGetPowerUsage = lambda handle: 42_500
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    monkeypatch.setattr(gpus, "_nvml_ready", False)
    monkeypatch.setattr(gpus, "_nvml_failed_at", None)
    [gpu] = gpus.read_gpus()
    assert gpu.name == "NVIDIA L4" and gpu.uuid == "GPU-1234"
    assert gpu.utilization_percent == 37.0
    assert (gpu.memory_used_bytes, gpu.memory_total_bytes) == (2 << 30, 24 << 30)
    assert gpu.power_w == 42.5 and gpu.temperature_c == 55.0
    monkeypatch.setattr(gpus, "_nvml_ready", False)


def test_machine_routes_answer_and_push(settings) -> None:
    with TestClient(create_app(settings)) as client:
        snapshot = client.get("/api/machine").json()
        assert snapshot["memory_total_bytes"] > 0
        with client.stream("GET", "/api/machine/events") as stream:
            lines = []
            for line in stream.iter_lines():
                lines.append(line)
                if line.startswith("data:"):
                    break
        assert "event: machine" in lines
        pushed = json.loads(lines[-1].removeprefix("data:"))
        assert pushed["disk_free_bytes"] > 0
