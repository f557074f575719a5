"""The papers' iteration count from residual traces, and the Figs. 3-4 panel."""

import jax.numpy as jnp
import numpy as np
import pytest

import hopjax as hj
from hopjax.plot import first_hits, residual_heatmap

from .helpers import DEPTHS


@pytest.mark.parametrize("update", ["synchronous", "even_odd"])
def test_first_hits_agrees_with_equilibrium_paper_iterations(getkey, update):
    model = hj.HAM(DEPTHS[5], key=getkey())
    x = np.asarray(np.random.default_rng(0).uniform(size=(64, DEPTHS[5][0])))
    eq = hj.solve(model, jnp.asarray(x), update=update, solver=hj.Picard(), max_steps=40,
                  trace=True, early_stop=False)
    trace = np.asarray(eq.trace)[:, 1:]  # papers' t = 0 is our second map evaluation
    assert trace.shape == (64, 39)
    for rtol in (1e-2, 1e-4, 1e-6):
        again = hj.solve(model, jnp.asarray(x), update=update, solver=hj.Picard(),
                         max_steps=40, rtol=rtol)
        assert first_hits(trace, [rtol])[0] == pytest.approx(np.mean(again.paper_iterations))


def test_first_hits_counts_misses_and_t0_hits_as_the_cap():
    trace = np.array([[1e-1, 1e-3, 1e-5], [1e-5, 1e-5, 1e-5], [1e-1, 1e-1, 1e-1]])
    np.testing.assert_allclose(first_hits(trace, [1e-4, 1e-2]), [(2 + 3 + 3) / 3, (1 + 3 + 3) / 3])


def test_residual_heatmap_draws(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trace = 10.0 ** -np.linspace(1, 7, 30)[None] * np.random.default_rng(0).uniform(0.5, 2, (50, 30))
    fig, ax = plt.subplots()
    residual_heatmap(ax, trace, title="test")
    assert ax.get_title() == "test" and len(ax.lines) == 3  # rtol line, curve, marker
    fig.savefig(tmp_path / "h.png")
    plt.close(fig)
    assert (tmp_path / "h.png").stat().st_size > 1000
