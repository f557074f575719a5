"""What a benchmark ran on, recorded beside its numbers.

Results are bit-identical between runs on one machine (same code, versions, seed; any
number of threads), but not between machines: XLA compiles for the host's instruction
set, so a CPU with AVX-512 rounds float32 sums differently from one with AVX2 only, and
training amplifies those last-bit differences (docs/table2.md, "Reproducibility"). So
every results file names the processor, its widest vector instructions and the library
versions.
"""

import functools
import importlib.metadata
import os
import pathlib
import platform
import sys
from typing import Any


LIBRARIES = ("jax", "jaxlib", "equinox", "optax", "optimistix", "lineax", "numpy")
VECTOR_EXTENSIONS = ("avx512f", "avx2", "avx", "sse4_2", "asimd")
"""x86 and ARM vector-instruction flags of /proc/cpuinfo, widest first."""


@functools.cache
def _cpuinfo() -> dict[str, str]:
    """The first processor's `key: value` lines of /proc/cpuinfo (empty where there is
    none, as on macOS), read once per process: `machine()` needs it twice."""
    try:
        text = pathlib.Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    fields = {}
    for line in text.split("\n\n")[0].splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def processor() -> str:
    """The CPU's model name, e.g. `"AMD EPYC"`, or the architecture where unknown."""
    info = _cpuinfo()
    return info.get("model name") or platform.processor() or platform.machine()


def vector_extension() -> str | None:
    """The widest vector-instruction set the CPU reports (`"avx512f"`, `"avx2"`, ...)."""
    info = _cpuinfo()
    flags = set((info.get("flags") or info.get("Features") or "").split())
    return next((name for name in VECTOR_EXTENSIONS if name in flags), None)


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def accelerator() -> str | None:
    """The model of the device jax computes on (`"NVIDIA H200"`), or None on a CPU."""
    import jax

    device = jax.devices()[0]
    return None if device.platform == "cpu" else device.device_kind


def machine() -> dict[str, Any]:
    """The machine and software a benchmark ran on: CPU count and model, widest vector
    instructions, accelerator, `XLA_FLAGS`, the matmul precision chosen (None: none, so
    hopjax's products are at full precision), platform, Python and library versions."""
    import jax

    return {
        "cpus": os.cpu_count(),
        "processor": processor(),
        "vector_extension": vector_extension(),
        "accelerator": accelerator(),
        "matmul_precision": jax.config.jax_default_matmul_precision,
        "xla_flags": os.environ.get("XLA_FLAGS"),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "versions": {name: _version(name) for name in LIBRARIES},
    }
