"""The machine's NVIDIA GPUs as plain readings (name, utilisation, memory), through nvidia-ml-py.

`read_gpus()` answers one `GpuReading` per GPU, or an empty list when there is no NVIDIA
driver, no GPU or no NVML library: "no GPU" is a normal answer here, never an error.
NVML is initialised once per process on first use; a machine found without NVML is not
asked again for `NVML_RETRY_S`. The machine panel (`machine.py`) and the Prometheus
gauges (named as NVIDIA's DCGM exporter names them) both read from here.
This module does not pick GPUs for jobs (CUDA_VISIBLE_DEVICES does).
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass

NVML_RETRY_S = 60.0
MILLIWATTS_PER_WATT = 1000.0

_lock = threading.Lock()
_nvml_ready = False
_nvml_failed_at: float | None = None


@dataclass(frozen=True)
class GpuReading:
    """One GPU at one moment. Utilisation in percent (0..100), memory in bytes."""

    index: int
    uuid: str
    name: str
    utilization_percent: float | None
    memory_used_bytes: int
    memory_total_bytes: int
    temperature_c: float | None = None
    power_w: float | None = None

    def to_json(self) -> dict:
        return asdict(self)


def _nvml():
    """The pynvml module, initialised; None when this machine has no usable NVML."""
    global _nvml_ready, _nvml_failed_at
    with _lock:
        if _nvml_ready:
            import pynvml

            return pynvml
        if _nvml_failed_at is not None and time.monotonic() - _nvml_failed_at < NVML_RETRY_S:
            return None
        try:
            import pynvml

            pynvml.nvmlInit()
        except Exception:  # no library, no driver, no device: all mean "no GPU"
            _nvml_failed_at = time.monotonic()
            return None
        _nvml_ready = True
        return pynvml


def read_gpus() -> list[GpuReading]:
    """Every NVIDIA GPU's reading now; [] when there is none (or NVML cannot be used)."""
    nvml = _nvml()
    if nvml is None:
        return []
    try:
        count = nvml.nvmlDeviceGetCount()
        return [_read_one(nvml, index) for index in range(count)]
    except nvml.NVMLError:
        return []


def _read_one(nvml, index: int) -> GpuReading:
    handle = nvml.nvmlDeviceGetHandleByIndex(index)
    memory = nvml.nvmlDeviceGetMemoryInfo(handle)
    return GpuReading(
        index=index,
        uuid=_text(nvml.nvmlDeviceGetUUID(handle)),
        name=_text(nvml.nvmlDeviceGetName(handle)),
        utilization_percent=_optional(
            lambda: float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
        ),
        memory_used_bytes=int(memory.used),
        memory_total_bytes=int(memory.total),
        temperature_c=_optional(
            lambda: float(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))
        ),
        power_w=_optional(lambda: nvml.nvmlDeviceGetPowerUsage(handle) / MILLIWATTS_PER_WATT),
    )


def _optional(read):
    """A reading some GPUs do not support (NVML answers NotSupported): None then."""
    try:
        return read()
    except Exception:
        return None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
