import gc
import importlib.util
import os
import shutil
import tempfile


def _share_compiled_programs() -> str | None:
    """One on-disk cache of XLA executables (JAX's persistent compilation cache) for
    the whole run: the test processes (pytest-xdist's workers) and every process they
    start (the CLI and benchmark scripts, the notebooks' kernels, the re-run under
    run-time type checks) compile the same programs again and again, and on a 2-core
    CPU compiling is most of the suite's time. The cache starts empty in a fresh
    directory, removed at the end, so every run still compiles each program once; a
    cache hit loads the very executable a compile gave. `JAX_COMPILATION_CACHE_DIR`
    set beforehand is used as it is (and kept); `JAX_ENABLE_COMPILATION_CACHE=false`
    turns the cache off. Returns the directory made here, if one was.

    Only programs that took 0.1 s or more to compile are kept: keeping every one (each
    eager operation too) made thousands of entries, which the size limit's bookkeeping
    scans on every write, and the suite was hardly faster than without the cache.
    Set as environment variables, before JAX is imported, so that the processes
    started later inherit them. A size limit turns on JAX's file lock (`filelock`),
    so that no process reads an entry another is still writing; without `filelock`
    (the dev extra has it) the cache stays off.
    """
    if "JAX_COMPILATION_CACHE_DIR" in os.environ or importlib.util.find_spec("filelock") is None:
        return None
    directory = tempfile.mkdtemp(prefix="hopjax-tests-xla-cache-")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = directory
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.1")
    os.environ.setdefault("JAX_COMPILATION_CACHE_MAX_SIZE", str(8 * 2**30))
    return directory


_COMPILATION_CACHE_MADE_HERE = _share_compiled_programs()

import jax  # noqa: E402  (after the cache's settings, which JAX reads on import)
import pytest  # noqa: E402


jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")


def pytest_unconfigure(config):
    if _COMPILATION_CACHE_MADE_HERE is not None:
        shutil.rmtree(_COMPILATION_CACHE_MADE_HERE, ignore_errors=True)


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drop every compiled program after each test module. Each XLA:CPU executable
    holds memory mappings; the whole suite in one process came near the kernel's limit
    (vm.max_map_count, 65530), past which a compile segfaults."""
    yield
    jax.clear_caches()
    gc.collect()


@pytest.fixture
def getkey():
    """Fresh PRNG keys: each call of the returned function gives a new key."""
    counter = iter(range(10**9))
    seed = int(os.environ.get("HOPJAX_TEST_SEED", "0"))

    def _getkey():
        return jax.random.PRNGKey(seed * 1_000_003 + next(counter))

    return _getkey
