import gc
import os

import jax
import pytest


jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")


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
