"""Which device grading runs on: a CUDA GPU through CuPy when there is one, else the CPU."""
from __future__ import annotations

import functools


class DeviceError(Exception):
    """A GPU was asked for but none is usable (a one-line message)."""


@functools.lru_cache(maxsize=None)
def gpu_label() -> str | None:
    """"gpu (CuPy X, <name>)" when CuPy sees a CUDA device, else None."""
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
        name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
        name = name.decode() if isinstance(name, bytes) else str(name)
        return f"gpu (CuPy {cupy.__version__}, {name})"
    except Exception:
        return None


def resolve_device(requested: str) -> tuple[str, str]:
    """Return (device, label): device is "cpu" or "gpu"; the label goes into every report."""
    if requested == "cpu":
        return "cpu", "cpu (NumPy)"
    label = gpu_label()
    if label is not None:
        return "gpu", label
    if requested == "gpu":
        raise DeviceError("--device gpu: no CUDA device is usable through CuPy here")
    return "cpu", "cpu (NumPy)"
