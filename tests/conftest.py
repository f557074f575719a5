import os

import jax
import pytest


jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def getkey():
    """Fresh PRNG keys: each call of the returned function gives a new key."""
    counter = iter(range(10**9))
    seed = int(os.environ.get("HOPJAX_TEST_SEED", "0"))

    def _getkey():
        return jax.random.PRNGKey(seed * 1_000_003 + next(counter))

    return _getkey
