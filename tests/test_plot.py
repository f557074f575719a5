"""The papers' iteration count from residual traces, and the Figs. 3-4 panel."""

import sys

import jax.numpy as jnp
import numpy as np
import pytest

import hopjax as hj
from hopjax.plot import first_hits, learning_curves, residual_heatmap

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
    for criteria in (1e-4, [[1e-4]], "1e-4"):  # were IndexError / broadcasting errors
        with pytest.raises(ValueError, match="first_hits: criteria must be a 1-D array of thresholds"):
            first_hits(trace, criteria)
    for criteria in ([np.nan], [1e-4, -1.0], [0.0]):  # every sample was silently "missed"
        with pytest.raises(ValueError, match="first_hits: criteria must be finite and positive"):
            first_hits(trace, criteria)


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


@pytest.mark.parametrize("trace, options, message", [
    (np.full(30, 1e-3), {}, r"residual_heatmap: trace must be a non-empty \(samples, iterations\) .* shape \(30,\)"),
    (np.zeros((0, 30)), {}, r"got shape \(0, 30\)"),
    # was "got shape ()": Equilibrium.trace is None unless the solve recorded it
    (None, {}, r"residual_heatmap: trace is None; solve with hopjax.solve\(..., trace=True\)"),
    (np.full((4, 30), 1e-3), {"rtol": 0.0}, r"residual_heatmap: rtol must lie in \(0, 1\), got 0.0"),
    (np.full((4, 30), 1e-3), {"bins": 0}, "residual_heatmap: bins must be a positive integer, got 0"),
    (np.full((4, 30), 1e-3), {"rtol": "1e-4"}, r"residual_heatmap: rtol must lie in \(0, 1\), got '1e-4'"),
])
def test_residual_heatmap_refuses_what_it_cannot_draw(trace, options, message):
    # before 2026-12-05: a cryptic unpacking error, a ZeroDivisionError, or a panel
    # drawn from log10(0) / no bins with only a RuntimeWarning
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=message):
        residual_heatmap(ax, trace, **options)
    plt.close(fig)


def test_first_hits_refuses_what_it_cannot_count():
    with pytest.raises(ValueError, match="first_hits: trace must be a non-empty"):
        first_hits(np.zeros((0, 5)), [1e-4])
    with pytest.raises(ValueError, match="first_hits: trace is None; solve with"):
        first_hits(None, [1e-4])
    with pytest.raises(TypeError, match="first_hits: trace must be an array of relative residuals, got str"):
        first_hits("trace", [1e-4])


def test_learning_curves_draws_both_history_forms():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    epochs = [{"epoch": e + 1, "test_accuracy": a, "test_paper_iterations": i, "train_loss": loss}
              for e, (a, i, loss) in enumerate(rng.uniform(size=(4, 3)))]
    by_epoch = {k: [e[k] for e in epochs] for k in ("test_accuracy", "test_paper_iterations", "train_loss")}
    fig, axes = plt.subplots(1, 3)
    learning_curves(axes, epochs, label="list", color="C0")
    learning_curves(axes, by_epoch, label="dict", color="C1")
    learning_curves(axes, (e for e in epochs), label="generator", color="C2")  # read once
    for ax, key, scale in zip(axes, by_epoch, (100, 1, 1)):
        first, second, third = ax.lines
        np.testing.assert_array_equal(first.get_xdata(), [1, 2, 3, 4])
        np.testing.assert_allclose(first.get_ydata(), scale * np.asarray(by_epoch[key]))
        np.testing.assert_allclose(second.get_ydata(), first.get_ydata())
        np.testing.assert_allclose(third.get_ydata(), first.get_ydata())
        assert (first.get_label(), second.get_label(), third.get_label()) == ("list", "dict", "generator")
    # the epoch axis has whole-number ticks only, also for a single epoch
    single = plt.subplots(1, 3)[1]
    learning_curves(single, epochs[:1])
    for ax in (*axes, *single):
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    with pytest.raises(ValueError, match="needs 3 matplotlib Axes"):
        learning_curves(axes[:2], epochs)
    with pytest.raises(ValueError, match="needs 3 matplotlib Axes .* got \\[None\\]"):
        learning_curves(None, epochs)
    with pytest.raises(TypeError, match="history as a list of per-epoch dicts .* got NoneType"):
        learning_curves(axes, None)
    with pytest.raises(TypeError, match="residual_heatmap draws on a matplotlib Axes, got NoneType"):
        residual_heatmap(None, np.full((4, 30), 1e-3))
    with pytest.raises(ValueError, match="no 'train_loss' values"):
        learning_curves(axes, [{"test_accuracy": 0.5, "test_paper_iterations": 3.0}])
    plt.close("all")


def test_drawing_without_matplotlib_says_how_to_install_it(monkeypatch):
    # a plain `pip install hopjax` has no matplotlib: was "No module named 'matplotlib'"
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    trace = np.full((2, 5), 0.1)
    assert first_hits(trace, [0.5]).tolist() == [5.0]  # NumPy only
    with pytest.raises(ModuleNotFoundError, match=r"residual_heatmap draws with matplotlib.*hopjax\[plot\]"):
        residual_heatmap(None, trace)
    with pytest.raises(ModuleNotFoundError, match=r"learning_curves draws with matplotlib.*hopjax\[plot\]"):
        learning_curves(None, [])
