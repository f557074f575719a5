"""The epoch loop: learning on IDX data, exact resume, checkpoint errors, settings."""

import dataclasses
import json
import pathlib
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hopjax as hj
from hopjax._adjoint import solves_adjoint
from hopjax.data import load_dataset
from hopjax.train import BACKWARDS, CheckpointError, evaluate, load_run_data, train, TrainConfig

from .helpers import compile_log, unwritable_directory, write_mnist_like


SMALL = dict(layer_sizes=(784, 24, 10), train_examples=256, test_examples=128)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_mnist_like(tmp_path_factory.mktemp("idx"), 256, 128)


def _leaves(model):
    return [np.asarray(x) for x in jax.tree.leaves(eqx.filter(model, eqx.is_array))]


def test_loop_learns_and_writes_metrics(data_dir, tmp_path):
    # A pathlib.Path data_dir (kept as a string: the checkpoint stores the settings as JSON).
    config = TrainConfig(epochs=5, data_dir=data_dir, learning_rate=0.05, **SMALL)
    _, history = train(config, tmp_path, progress=False)
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert lines == history and [h["epoch"] for h in history] == [1, 2, 3, 4, 5]
    assert history[-1]["train_loss"] < 0.7 * history[0]["train_loss"]
    assert history[-1]["test_accuracy"] > 0.4  # chance: 0.1
    assert np.allclose([h["learning_rate"] for h in history], [0.05, 0.03875, 0.0275, 0.01625, 0.005])
    assert (tmp_path / "checkpoint.eqx").exists()


@pytest.mark.parametrize("update,solver", [("even_odd", "anderson"), ("synchronous", "picard")])
def test_resume_equals_uninterrupted(data_dir, tmp_path, update, solver):
    config = TrainConfig(epochs=3, data_dir=str(data_dir), update=update, solver=solver, **SMALL)
    data = load_dataset("fashion-mnist", data_dir=data_dir)
    whole, history = train(config, tmp_path / "whole", data=data, progress=False)
    train(config, tmp_path / "split", data=data, progress=False, stop_after=1)
    train(config, tmp_path / "split", data=data, progress=False, resume=True, stop_after=1)
    resumed, resumed_history = train(
        config, tmp_path / "split", data=data, progress=False, resume=True
    )
    for a, b in zip(_leaves(whole), _leaves(resumed), strict=True):
        np.testing.assert_array_equal(a, b)

    def drop_times(history):
        return [{k: v for k, v in r.items() if not k.endswith("_s")} for r in history]

    assert drop_times(history) == drop_times(resumed_history)
    # stop_after=0 reuses a finished run (benchmarks/table2.py does): no epoch trained
    # (it was refused since stop_after had to be positive, and table2 failed on reuse)
    reused, reused_history = train(
        config, tmp_path / "split", data=data, progress=False, resume=True, stop_after=0
    )
    assert reused_history == resumed_history
    for a, b in zip(_leaves(reused), _leaves(resumed), strict=True):
        np.testing.assert_array_equal(a, b)


def test_metrics_count_the_training_samples_whose_adjoint_did_not_converge(data_dir):
    data = load_dataset("fashion-mnist", data_dir=data_dir)
    settings = dict(epochs=1, **{**SMALL, "train_examples": 128, "test_examples": 64})

    def unsolved(**backward):
        _, history = train(TrainConfig(**settings, **backward), data=data, progress=False)
        return history[0]["train_adjoint_not_converged"]

    assert unsolved() is None  # the papers' unrolled recurrent backprop solves no adjoint
    assert unsolved(backward="fixed-point") == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # counted whatever the filters do
        assert unsolved(backward="fixed-point", backward_steps=1) == 1.0


def test_the_adjoint_count_is_recorded_for_every_backward_mode_but_the_unrolled_ones():
    solving = {name: solves_adjoint(TrainConfig(backward=name).make_backward())
               for name in BACKWARDS}
    assert solving == {"rbp": True, "rbp-unrolled": False, "fixed-point": True,
                       "gmres": True, "unrolled": False}


def test_checkpoint_errors_name_the_problem(data_dir, tmp_path):
    config = TrainConfig(epochs=1, data_dir=str(data_dir), **SMALL)
    train(config, tmp_path, progress=False)
    with pytest.raises(CheckpointError, match="already holds a run"):
        train(config, tmp_path, progress=False)
    with pytest.raises(CheckpointError, match=r"other settings \(seed: 0 vs 1\)") as refused:
        train(TrainConfig(epochs=1, seed=1, data_dir=str(data_dir), **SMALL), tmp_path, resume=True)
    assert "epochs" not in str(refused.value)  # the schedule's reason only where epochs differ
    with pytest.raises(CheckpointError, match="Nothing to resume"):
        train(config, tmp_path / "empty", resume=True)
    with pytest.raises(TypeError, match="config must be a hopjax.train.TrainConfig .* got dict"):
        train(config.to_dict(), tmp_path / "none")
    with pytest.raises(TypeError, match="resume must be True or False, got 'no'"):
        train(config, tmp_path / "none", resume="no")
    with pytest.raises(TypeError, match="progress must be True or False, got 'no'"):
        train(config, tmp_path / "none", progress="no")
    for stop_after in (0, -1, 1.5):
        with pytest.raises(ValueError, match=f"stop_after must be a positive integer, got {stop_after}"):
            train(config, tmp_path / "none", stop_after=stop_after)
    with pytest.raises(ValueError, match=r"got 0 \(0, which trains nothing, is taken only with resume=True"):
        train(config, tmp_path / "none", stop_after=0)
    assert not (tmp_path / "none").exists()  # refused before anything was written
    with pytest.raises(NotADirectoryError, match="checkpoint.eqx is a file, not a run directory"):
        train(config, tmp_path / "checkpoint.eqx")
    # was Python's bare "[Errno 20] Not a directory: '.../checkpoint.eqx/run'"
    with pytest.raises(OSError, match="Cannot create the run directory .*checkpoint.eqx/run, or write in it: "
                                      "Not a directory"):
        train(config, tmp_path / "checkpoint.eqx" / "run", progress=False)
    # was: trained an epoch, then failed writing its checkpoint
    read_only = unwritable_directory(tmp_path)
    with pytest.raises(OSError, match=f"Cannot create the run directory {read_only}, or write in it: Permission"):
        train(config, read_only, progress=False)
    checkpoint = tmp_path / "checkpoint.eqx"
    content = checkpoint.read_bytes()
    checkpoint.write_bytes(content[: len(content) // 2])
    with pytest.raises(CheckpointError, match="could not be read"):
        train(config, tmp_path, resume=True, progress=False)
    checkpoint.write_bytes(b"not a checkpoint\n")
    with pytest.raises(CheckpointError, match="not a hopjax checkpoint"):
        train(config, tmp_path, resume=True, progress=False)


def test_checkpoints_hold_a_whole_epoch_count_and_a_train_config(tmp_path):
    # Before 2026-12-06 save_checkpoint wrote epoch "one" (and read_header returned it,
    # or -3 from an edited header), and a dict config failed on a missing `to_dict`.
    from hopjax.train import load_trained_model, read_header, save_checkpoint

    config = TrainConfig(layer_sizes=(20, 16, 4))
    model, _, opt_state, key = config.initial_state(steps_per_epoch=1)
    path = tmp_path / "checkpoint.eqx"
    save_checkpoint(path, config, np.int64(2), model, opt_state, key)
    assert load_trained_model(tmp_path)[1] == 2
    for epoch in ("one", -1, True, 1.0):
        with pytest.raises(ValueError, match=f"epoch must be an integer >= 0, got {epoch!r}"):
            save_checkpoint(path, config, epoch, model, opt_state, key)
    with pytest.raises(TypeError, match=r"save_checkpoint: config must be a hopjax.train.TrainConfig .* got dict"):
        save_checkpoint(path, config.to_dict(), 1, model, opt_state, key)
    assert read_header(path)["epoch"] == 2  # the refused saves left the file alone
    header, body = path.read_bytes().split(b"\n", 1)
    edited = json.loads(header) | {"epoch": -3}
    path.write_bytes(json.dumps(edited).encode() + b"\n" + body)
    with pytest.raises(CheckpointError, match=r"not a hopjax checkpoint \(epoch -3, expected an integer >= 0\)"):
        load_trained_model(path)


def test_load_trained_model_refuses_extra_bytes_and_changes_to_the_model(tmp_path):
    # Before 2026-12-06 (fortieth session) bytes appended to a checkpoint were ignored,
    # an unknown change failed in TrainConfig.__init__, and layer_sizes=(5, 5, 5)
    # returned a config of another network beside the saved (20, 16, 4) model.
    import dataclasses

    from hopjax.train import load_checkpoint, load_trained_model, save_checkpoint

    config = TrainConfig(layer_sizes=(20, 16, 4))
    model, _, opt_state, key = config.initial_state(steps_per_epoch=1)
    path = tmp_path / "checkpoint.eqx"
    save_checkpoint(path, config, 1, model, opt_state, key)
    saved = path.read_bytes()
    changes = dict(solver="picard", test_examples=7, layer_sizes=[20, 16, 4], data_dir=tmp_path)
    loaded, _, loaded_model = load_trained_model(path, **changes)
    assert loaded == dataclasses.replace(config, **changes)
    for a, b in zip(jax.tree.leaves(model), jax.tree.leaves(loaded_model), strict=True):
        assert jnp.array_equal(a, b)
    unknown = r"load_trained_model: 'bogus', 'epoch' are no TrainConfig settings; the settings are model, layer_sizes, "
    with pytest.raises(TypeError, match=unknown):
        load_trained_model(path, epoch=3, bogus=1)
    with pytest.raises(TypeError, match=r"load_trained_model: 'epoch' is no TrainConfig setting;"):
        load_trained_model(path, epoch=3)
    with pytest.raises(ValueError, match=r"holds a model with layer_sizes \(20, 16, 4\), not \(5, 5, 5\)"):
        load_trained_model(path, layer_sizes=(5, 5, 5))
    with pytest.raises(ValueError, match=r"holds a model with model 'ham', not 'chn'"):
        load_trained_model(path, model="chn", solver="picard")
    path.write_bytes(saved + b"\0" * 5)
    with pytest.raises(CheckpointError, match="could not be read: 5 bytes follow the arrays its settings describe"):
        load_trained_model(path)
    with pytest.raises(CheckpointError, match="could not be read: 5 bytes follow"):
        load_checkpoint(path, (model, opt_state, key), config)  # what --resume reads



def test_resume_refuses_other_data_and_a_short_history(data_dir, tmp_path):
    """The checkpoint records the data's fingerprint and needs every earlier epoch's
    metrics: resuming on other data, or without them, is refused, not run."""
    config = TrainConfig(epochs=3, data_dir=str(data_dir), **SMALL)
    data = load_dataset("fashion-mnist", data_dir=data_dir)
    train(config, tmp_path, data=data, progress=False, stop_after=2)
    other = data._replace(train_labels=(data.train_labels + 1) % 10)
    with pytest.raises(CheckpointError, match=r"other data \(sha256: "):
        train(config, tmp_path, data=other, resume=True, progress=False)
    with pytest.raises(CheckpointError, match=r"other data \(test_examples: 128 vs 100, "):
        train(config, tmp_path, data=data.subset(test=100), resume=True, progress=False)
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text(metrics.read_text().splitlines()[0] + "\n")
    with pytest.raises(CheckpointError, match=r"holds epochs \[1\], but the checkpoint is at epoch 2"):
        train(config, tmp_path, data=data, resume=True, progress=False)
    metrics.unlink()
    with pytest.raises(CheckpointError, match="metrics.jsonl cannot be read"):
        train(config, tmp_path, data=data, resume=True, progress=False)


def test_a_trained_run_is_evaluated_only_on_its_own_data(data_dir, tmp_path):
    # before 2026-12-06 `hopjax evaluate` (and stability.py) evaluated a run given its data
    # in Python on config.dataset's files, without a word: other data than it learned from
    config = TrainConfig(epochs=1, data_dir=str(data_dir), **SMALL)
    data = load_dataset("fashion-mnist", data_dir=data_dir)
    train(config, tmp_path / "own", progress=False)
    loaded = load_run_data(tmp_path / "own", config)
    assert [a.tolist() for a in loaded[:4]] == [a.tolist() for a in data.subset(256, 128)[:4]]
    other_cut = load_run_data(tmp_path / "own" / "checkpoint.eqx", dataclasses.replace(config, test_examples=100))
    assert len(other_cut.test_images) == 100  # evaluation may take other test examples
    train(config, tmp_path / "given", data=data.subset(128, 64), progress=False)
    with pytest.raises(CheckpointError, match=r"given.checkpoint.eqx was trained on other data than "
                       r"fashion-mnist \(IDX files in .*\) gives \(the checkpoint records 128 "
                       r"training and 64 test examples, where it has 256 and 128\)"):
        load_run_data(tmp_path / "given", config)
    train(config, tmp_path / "shuffled", data=data._replace(train_labels=data.train_labels[::-1]), progress=False)
    with pytest.raises(CheckpointError, match="records as many examples, but other images or labels"):
        load_run_data(tmp_path / "shuffled", config)


@pytest.mark.parametrize("settings,message", [
    (dict(layer_sizes=(100, 24, 10)), r"784 \(training\) and 784 \(test\) pixels, but the input layer .* has 100"),
    (dict(layer_sizes=(784, 24, 5)), r"labels run from 0 to 9, but the output layer .* has 5 units"),
    # before 2026-12-06 refused only after creating the (empty) run directory
    (dict(train_examples=10), "10 training examples do not fill one batch of 64"),
])
def test_data_that_does_not_fit_the_network_is_refused(data_dir, tmp_path, settings, message):
    config = TrainConfig(epochs=1, data_dir=str(data_dir), **{**SMALL, **settings})
    with pytest.raises(ValueError, match=message):
        train(config, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()  # refused before anything is written


def test_config_recipe_and_bad_settings():
    assert TrainConfig().resolved_learning_rate == 0.01
    assert TrainConfig().resolved_max_steps == 40 and TrainConfig().resolved_backward_steps == 8
    five = TrainConfig(layer_sizes=(784, 1280, 510, 200, 10))
    assert (five.resolved_learning_rate, five.resolved_max_steps, five.resolved_backward_steps) == (0.005, 80, 16)
    seven = TrainConfig(layer_sizes=(784, 1024, 512, 256, 128, 70, 10))
    assert (seven.resolved_max_steps, seven.resolved_backward_steps) == (120, 24)
    chn_sync = TrainConfig(model="chn", update="synchronous")
    assert (chn_sync.damping, chn_sync.resolved_max_steps, chn_sync.resolved_backward_steps) == (0.5, 80, 16)
    # The papers' recurrent backprop, computed as their code does (unrolled from s*).
    assert chn_sync.make_backward() == hj.UnrolledRecurrentBackprop(16)
    assert TrainConfig(backward="rbp").make_backward() == hj.RecurrentBackprop(8)
    # the exact adjoint: the library's own cap unless --backward-steps sets one
    assert TrainConfig(backward="fixed-point").make_backward() == hj.FixedPointAdjoint()
    assert (TrainConfig(backward="fixed-point", backward_steps=50).make_backward()
            == hj.FixedPointAdjoint(max_steps=50))
    assert TrainConfig(model="chn").resolved_max_steps == 40
    assert TrainConfig.from_dict(json.loads(five.to_json())) == five
    for bad, message in [
        (dict(model="rbm"), "model must be one of"),
        (dict(solver="newton"), "solver must be one of"),
        (dict(epochs=0), "epochs must be a positive integer"),
        (dict(batch_size=2.5), "batch_size must be a positive integer"),
        (dict(learning_rate=-0.1), "learning_rate must lie in"),
        (dict(rtol=0.0), "rtol must lie in"),
        (dict(layer_sizes=(784, 10)), "at least two state layers"),
        (dict(layer_sizes=(784, 24.5, 10)), "Every layer size must be a positive integer"),
        (dict(layer_sizes=(784, True, 10)), "Every layer size must be a positive integer"),
        (dict(layer_sizes=784), "layer_sizes must be a sequence"),
        (dict(epochs=True), "epochs must be a positive integer, got True"),
        (dict(max_steps=False), "max_steps must be a positive integer"),
        (dict(learning_rate="0.01"), r"learning_rate must be a number in \(0, 1\), got '0.01'"),
        (dict(rtol=True), "rtol must be a number"),
        (dict(early_stop="no"), "early_stop must be True or False"),
        (dict(dataset=None), "data set's name must be a string"),
        (dict(dataset="cifar10"), r"Unknown data set 'cifar10'; hopjax knows \['emnist-mnist'"),
        (dict(data_dir=3), "data_dir must be a string or a path"),
        (dict(data_dir=""), "data_dir is empty; give a directory"),
        (dict(backward="gmres", backward_steps=3),
         r"backward_steps sets the steps of backward rbp / rbp-unrolled / fixed-point; backward='gmres' takes none"),
        (dict(backward="unrolled", backward_steps=8), "backward='unrolled' takes none, got backward_steps=8"),
    ]:
        with pytest.raises((ValueError, TypeError), match=message):
            TrainConfig(**bad)
    # numpy numbers and paths are taken as the Python values JSON stores.
    taken = TrainConfig(learning_rate=np.float32(0.25), rtol=np.float64(1e-3),
                        layer_sizes=np.array([784, 24, 10]), data_dir=pathlib.Path("/d"),
                        epochs=np.int64(3), batch_size=np.int32(32), seed=np.uint8(7),
                        max_steps=np.int64(40), test_examples=np.int64(100))
    assert TrainConfig.from_dict(json.loads(taken.to_json())) == taken
    assert (taken.learning_rate, taken.rtol, taken.layer_sizes, taken.data_dir) == (0.25, 1e-3, (784, 24, 10), "/d")
    counts = (taken.epochs, taken.batch_size, taken.seed, taken.max_steps, taken.test_examples)
    assert counts == (3, 32, 7, 40, 100) and all(type(c) is int for c in counts)
    with pytest.raises(ValueError, match="Unknown training settings"):
        TrainConfig.from_dict({"epoch": 3})


def test_nothing_compiles_after_the_first_epoch(data_dir, tmp_path):
    compiles = compile_log()
    per_epoch = []
    config = TrainConfig(epochs=3, data_dir=str(data_dir), layer_sizes=(784, 19, 10),
                         train_examples=256, test_examples=100)
    train(config, tmp_path, progress=False, on_epoch_end=lambda _: per_epoch.append(len(compiles)))
    assert per_epoch[0] > 0  # the first epoch compiles the step and the evaluation
    assert per_epoch[1] == per_epoch[0] and per_epoch[2] == per_epoch[0], per_epoch


def test_evaluate_pads_the_last_batch_and_matches_per_sample_solves():
    rng = np.random.default_rng(7)
    model = hj.HAM((20, 16, 4), key=jax.random.key(3))
    images, labels = rng.random((23, 20), dtype=np.float32), rng.integers(0, 4, 23)
    options = TrainConfig(layer_sizes=(20, 16, 4)).solve_options(backward=False)
    report = evaluate(model, images, labels, options, batch_size=10)  # batches 10, 10, 3+7 padding
    eq = hj.solve(model, jnp.asarray(images), **options)
    expected = np.argmax(np.asarray(eq.output), axis=-1) == labels
    assert report["samples"] == 23 and len(report["per_sample"]["correct"]) == 23
    np.testing.assert_array_equal(report["per_sample"]["correct"], expected)
    np.testing.assert_array_equal(report["per_sample"]["paper_iterations"], eq.paper_iterations)
    assert report["accuracy"] == pytest.approx(expected.mean())
    assert report["not_converged"] == pytest.approx(1 - np.mean(eq.converged))
    assert report["paper_iterations"]["max"] == float(np.max(eq.paper_iterations))


def test_evaluate_takes_jax_arrays_and_bfloat16_images():
    # NumPy does not count bfloat16 as floating point; the check must.
    rng = np.random.default_rng(9)
    model = hj.HAM((20, 16, 4), key=jax.random.key(4), dtype=jnp.float32)
    images = jnp.asarray(rng.random((23, 20), dtype=np.float32)).astype(jnp.bfloat16)
    labels = rng.integers(0, 4, 23)
    options = TrainConfig(layer_sizes=(20, 16, 4)).solve_options(backward=False)
    expected = evaluate(model, np.asarray(images.astype(jnp.float32)), labels, options)
    for given in (images, np.asarray(images)):
        report = evaluate(model, given, jnp.asarray(labels), options)
        for column in ("correct", "paper_iterations", "steps"):
            np.testing.assert_array_equal(report["per_sample"][column], expected["per_sample"][column])


@pytest.mark.parametrize("change,error,message", [
    (dict(labels=lambda y: y + 0.5), ValueError, r"evaluate labels must be 23 integer class indices.*dtype float64"),
    (dict(labels=lambda y: np.eye(4, dtype=int)[y]), ValueError, r"\(not one-hot\), got shape \(23, 4\)"),
    (dict(labels=lambda y: y[:20]), ValueError, r"got shape \(20,\)"),
    (dict(labels=lambda y: y + 4), ValueError, r"labels run from 4 to 7, but the output layer .* has 4 units"),
    (dict(images=lambda x: x[0]), ValueError, r"evaluate images must be a non-empty .* got shape \(20,\)"),
    (dict(images=lambda x: (255 * x).astype(np.uint8)), TypeError, "evaluate images must be floating point"),
    (dict(images=lambda x: np.where(x > 0.9, np.inf, x)), ValueError, "evaluate images contain NaN or Inf"),
    # 8-bit or centred pixels were taken silently (the input activation saturates)
    (dict(images=lambda x: 255 * x), ValueError, r"evaluate images must be pixels scaled to \[0, 1\], .*divide 8-bit"),
    (dict(images=lambda x: x - 0.5), ValueError, r"evaluate images must be pixels scaled .*, got values from -0.4"),
    (dict(batch_size=True), ValueError, "evaluate: batch_size must be a positive integer, got True"),
    (dict(model=None), TypeError, "evaluate: model must be a hopjax.HAM or hopjax.CHN, got NoneType"),
    (dict(progress="no"), TypeError, "evaluate: progress must be True or False, got 'no'"),
    # was "solve: trace ...", and trace=True in solve_options was silently overridden
    (dict(trace="yes"), TypeError, "evaluate: trace must be True or False, got 'yes'"),
    (dict(options={**TrainConfig(layer_sizes=(20, 16, 4)).solve_options(backward=False), "trace": True}),
     ValueError, r"evaluate: give trace to evaluate \(evaluate\(..., trace=True\)\), not in solve_options"),
    (dict(options=None), TypeError, "evaluate: solve_options must be a dict .* got NoneType"),
])
def test_evaluate_refuses_what_it_cannot_score(change, error, message):
    rng = np.random.default_rng(8)
    model = hj.HAM((20, 16, 4), key=jax.random.key(3))
    images, labels = rng.random((23, 20), dtype=np.float32), rng.integers(0, 4, 23)
    images = change.get("images", lambda x: x)(images)
    labels = change.get("labels", lambda y: y)(labels)
    batch_size = change.get("batch_size", 500)
    model = change.get("model", model)
    options = change.get("options", TrainConfig(layer_sizes=(20, 16, 4)).solve_options(backward=False))
    with pytest.raises(error, match=message):
        evaluate(model, images, labels, options, batch_size=batch_size,
                 trace=change.get("trace", False), progress=change.get("progress", False))


@pytest.mark.parametrize("split,change,message", [
    ("train_labels", lambda y: y + 0.5, r"train labels must be 256 integer class indices.*float64"),
    ("train_labels", lambda y: y[:200], r"train labels must be 256 integer .* got shape \(200,\)"),
    ("test_labels", lambda y: np.eye(10, dtype=np.float32)[y], r"test labels .*\(not one-hot\)"),
    ("train_images", lambda x: x.reshape(-1, 28, 28), r"train images must be a non-empty \(examples, pixels\) array"),
    ("test_images", lambda x: x[:0], r"test images must be a non-empty"),
    ("train_images", lambda x: (255 * x).astype(np.uint8), "train images must be floating point"),
    ("train_images", lambda x: np.where(x > 0.99, np.nan, x), "train images contain NaN or Inf"),
    ("test_images", lambda x: 255 * x, r"test images must be pixels scaled to \[0, 1\], got values from 0 to 255"),
])
def test_train_refuses_malformed_data_before_writing(data_dir, tmp_path, split, change, message):
    data = load_dataset("fashion-mnist", data_dir=data_dir)
    data = data._replace(**{split: change(getattr(data, split))})
    config = TrainConfig(epochs=1, **SMALL)
    with pytest.raises((ValueError, TypeError), match=message):
        train(config, tmp_path / "run", data=data, progress=False)
    assert not (tmp_path / "run").exists()


def test_train_names_data_that_is_not_a_dataset(data_dir, tmp_path):
    # was "'tuple' object has no attribute 'subset'"
    data = tuple(load_dataset("fashion-mnist", data_dir=data_dir))
    with pytest.raises(TypeError, match=r"data must be a hopjax.data.Dataset\(train_images, .* got tuple"):
        train(TrainConfig(epochs=1, **SMALL), tmp_path / "run", data=data, progress=False)
    assert not (tmp_path / "run").exists()


def test_train_takes_array_likes_as_data(data_dir):
    data = load_dataset("fashion-mnist", data_dir=data_dir).subset(128, 64)
    as_lists = data._replace(train_labels=data.train_labels.tolist(), test_images=data.test_images.tolist())
    config = TrainConfig(epochs=1, **{**SMALL, "train_examples": 128, "test_examples": 64})
    _, expected = train(config, None, data=data, progress=False)
    _, history = train(config, None, data=as_lists, progress=False)
    assert history[0]["test_accuracy"] == expected[0]["test_accuracy"]
    assert history[0]["train_loss"] == pytest.approx(expected[0]["train_loss"], rel=1e-6)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    from hopjax.train._checkpoint import replaced_atomically

    path = tmp_path / "checkpoint.eqx"
    path.write_bytes(b"old")
    with pytest.raises(TypeError, match="not JSON serializable"):
        with replaced_atomically(path) as f:
            f.write(b"half of a new ")
            f.write(json.dumps({"data_dir": pathlib.Path("/d")}).encode())
    assert path.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.eqx"]
    with replaced_atomically(path) as f:
        f.write(b"new")
    assert path.read_bytes() == b"new" and sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.eqx"]
