import importlib.util
import pathlib
import sys
import tempfile

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hopjax as hj


REPOSITORY = pathlib.Path(__file__).resolve().parents[1]
"""The checkout's root: README.md, docs/, benchmarks/, notebooks/."""


def load_benchmark(script):
    """`benchmarks/<script>.py` as a module, without running its `main` (its sibling
    modules importable, as when it runs as a script)."""
    if str(REPOSITORY / "benchmarks") not in sys.path:
        sys.path.insert(0, str(REPOSITORY / "benchmarks"))
    spec = importlib.util.spec_from_file_location(script, REPOSITORY / "benchmarks" / f"{script}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DEPTHS = {
    3: (12, 9, 4),
    4: (12, 9, 7, 4),
    5: (12, 10, 8, 6, 4),
    7: (12, 10, 9, 8, 7, 6, 4),
}


def scale_weights(model, factor):
    """Multiply every coupling by `factor` (a small factor makes the maps contractive,
    so the equilibrium is unique)."""
    return eqx.tree_at(
        lambda m: (m.weights, m.skip_weights),
        model,
        (
            tuple(factor * w for w in model.weights),
            tuple(factor * w for w in model.skip_weights),
        ),
    )


def random_biases(model, key, scale=0.5):
    keys = jax.random.split(key, len(model.biases))
    return eqx.tree_at(
        lambda m: m.biases,
        model,
        tuple(scale * jax.random.normal(k, b.shape, b.dtype) for k, b in zip(keys, model.biases)),
    )


def make_model(kind, sizes, key, *, weight_scale=1.0, skips=(), **kwargs):
    k1, k2 = jax.random.split(key)
    cls = {"ham": hj.HAM, "chn": hj.CHN}[kind]
    model = cls(sizes, key=k1, skips=skips, dtype=jnp.float64, **kwargs)
    return random_biases(scale_weights(model, weight_scale), k2)


def random_input(key, width, batch=None, dtype=jnp.float64):
    shape = (width,) if batch is None else (batch, width)
    return jax.random.uniform(key, shape, dtype)


def random_states(key, sizes, dtype=jnp.float64):
    keys = jax.random.split(key, len(sizes) - 1)
    return tuple(jax.random.normal(k, (d,), dtype) for k, d in zip(keys, sizes[1:]))


def as_numpy(states):
    return [None if s is None else np.asarray(s, np.float64) for s in states]


def write_idx(path, array, code=0x08):
    """Write `array` as an MNIST-format IDX file (gzipped if `path` ends in .gz)."""
    import gzip

    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    data = header + array.tobytes()
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)


def mnist_like(n, seed=0, classes=10):
    """`n` 28x28 uint8 images of `classes` noisy prototypes (learnable), and labels."""
    rng = np.random.default_rng(seed)
    prototypes = np.random.default_rng(1234).uniform(0, 1, (classes, 28, 28)) > 0.7
    labels = rng.integers(0, classes, n).astype(np.uint8)
    noisy = prototypes[labels] ^ (rng.uniform(0, 1, (n, 28, 28)) < 0.1)
    return (255 * noisy).astype(np.uint8), labels


def write_mnist_like(directory, n_train=256, n_test=128, seed=0):
    """An IDX data directory (MNIST file names) of `mnist_like` images, created if needed."""
    directory.mkdir(parents=True, exist_ok=True)
    for prefix, n, s in (("train", n_train, seed), ("t10k", n_test, seed + 1)):
        images, labels = mnist_like(n, s)
        write_idx(directory / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return directory


def compile_log() -> list[str]:
    """A list that grows by one entry each time XLA compiles a program from now on."""
    compiles = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda name, *_, **__: compiles.append(name)
        if name == "/jax/core/compile/backend_compile_duration" else None
    )
    return compiles


def unwritable_directory(tmp_path) -> pathlib.Path:
    """A directory in which no file can be created: a read-only one under `tmp_path`,
    or, where the user may write anywhere (root), Linux's `/sys`; skips elsewhere."""
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    read_only.chmod(0o500)
    for directory in (read_only, pathlib.Path("/sys")):
        try:
            tempfile.TemporaryFile(dir=directory).close()
        except OSError:
            return directory
    pytest.skip("no directory here refuses new files (run as root, without /sys)")
