"""`hopjax train` / `hopjax evaluate` smoke tests and bad arguments."""

import importlib.metadata
import json
import re
import subprocess
import sys

import equinox as eqx
import jax
import jaxlib
import optax
import optimistix as optx
import pytest

import hopjax as hj
from hopjax._cli import _counts, main

from .helpers import unwritable_directory, write_mnist_like


TINY = ["--layers", "784", "16", "10", "--train-examples", "128", "--test-examples", "64", "--no-progress"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return str(write_mnist_like(tmp_path_factory.mktemp("idx"), 128, 64))


def test_train_resume_evaluate(data_dir, tmp_path, capsys):
    out = str(tmp_path / "run")
    args = ["train", *TINY, "--data-dir", data_dir, "--epochs", "2", "--out", out]
    assert main([*args, "--stop-after", "1"]) == 0
    printed = capsys.readouterr().out
    assert "epoch 1/2: test accuracy" in printed  # the summary
    # and, with --no-progress, a line as each epoch ends (there was none before the summary)
    assert re.match(r"epoch 1/2: train loss \d\.\d{4}, test accuracy \d\.\d{4}, iterations "
                    r"\d+\.\d\d \(papers' count\), \d+\.\d s training\n", printed)
    resume = ["train", "--out", out, "--resume", "--no-progress"]
    assert main([*resume, "--epochs", "3"]) == 1  # a setting given must match the run's
    said = capsys.readouterr().err
    assert "other settings (epochs: 2 vs 3)" in said
    assert "so a run cannot be extended to more epochs" in said  # why epochs must match
    assert main(resume) == 0  # the settings not given are the run's own
    assert capsys.readouterr().out.startswith("epoch 2/2: train loss")
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == 2
    report = tmp_path / "report.json"
    assert main(["evaluate", out, "--json", str(report), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and "not converged" in printed
    saved = json.loads(report.read_text())
    assert saved["epoch"] == 2 and saved["samples"] == 64
    assert _counts(saved["paper_iterations"]) in printed and _counts(saved["steps"]) in printed
    last = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert saved["accuracy"] == last["test_accuracy"]
    assert saved["paper_iterations"]["mean"] == last["test_paper_iterations"]


def test_evaluate_prints_a_median_between_two_counts_as_it_is():
    # was "median 4" for 4.5 (formatted with :.0f, which rounds half to even)
    line = _counts({"mean": 4.515625, "std": 1.0, "median": 4.5, "max": 9.0})
    assert line == "mean 4.52  median 4.5  max 9"
    assert "median 7  " in _counts({"mean": 7.0, "std": 0.0, "median": 7.0, "max": 7.0})


def test_train_without_early_stop_keeps_the_setting_through_resume_and_evaluate(data_dir, tmp_path):
    # --no-early-stop: every solve runs the papers' fixed iteration count (num_steps still
    # counts the first convergence, so the setting is what the run records)
    from hopjax.train._checkpoint import CHECKPOINT, read_header

    out = tmp_path / "run"
    args = ["train", *TINY, "--data-dir", data_dir, "--epochs", "2", "--out", str(out), "--max-steps", "12"]
    assert main([*args, "--no-early-stop", "--stop-after", "1"]) == 0
    assert read_header(out / CHECKPOINT)["config"].early_stop is False
    assert main(["train", "--out", str(out), "--resume", "--no-progress"]) == 0  # the run's own
    assert read_header(out / CHECKPOINT)["config"].early_stop is False
    report = tmp_path / "report.json"
    assert main(["evaluate", str(out), "--no-progress", "--json", str(report)]) == 0
    assert json.loads(report.read_text())["config"]["early_stop"] is False
    assert main([*args, "--out", str(tmp_path / "default"), "--stop-after", "1"]) == 0
    assert read_header(tmp_path / "default" / CHECKPOINT)["config"].early_stop is True


def test_evaluate_solves_with_other_settings_when_asked(data_dir, tmp_path, capsys):
    # hopjax evaluate solved only with the run's own settings; comparing schemes or
    # solvers on one trained model needed Python
    from hopjax.train import evaluate, load_data, load_trained_model

    out = str(tmp_path / "run")
    assert main(["train", *TINY, "--data-dir", data_dir, "--epochs", "1", "--out", out]) == 0
    capsys.readouterr()
    other = ["--update", "synchronous", "--solver", "picard", "--max-steps", "30", "--rtol", "1e-5"]
    report = tmp_path / "report.json"
    assert main(["evaluate", out, "--no-progress", "--json", str(report), *other]) == 0
    printed = capsys.readouterr().out
    assert "solve                  synchronous updates, picard, rtol 1e-05, max_steps 30\n" in printed
    saved = json.loads(report.read_text())
    assert {k: saved["config"][k] for k in ("update", "solver", "max_steps", "rtol", "early_stop")} == dict(
        update="synchronous", solver="picard", max_steps=30, rtol=1e-5, early_stop=True)
    assert saved["config"]["train_examples"] == 128  # the run's, not the loader's
    config, _, model = load_trained_model(out)
    data = load_data(config)
    options = dict(config.solve_options(backward=False), update="synchronous",
                   solver=hj.Picard(), max_steps=30, rtol=1e-5)
    expected = evaluate(model, data.test_images, data.test_labels, options)
    own = evaluate(model, data.test_images, data.test_labels, config.solve_options(backward=False))
    for key in ("paper_iterations", "steps"):
        assert saved[key] == expected[key] and saved[key] != own[key]
    assert saved["not_converged"] == expected["not_converged"]
    assert main(["evaluate", out, "--no-progress", "--no-early-stop"]) == 0
    assert "max_steps 40, no early stop\n" in capsys.readouterr().out
    chn = str(tmp_path / "chn")
    assert main(["train", *TINY, "--model", "chn", "--data-dir", data_dir, "--epochs", "1", "--out", chn]) == 0
    capsys.readouterr()
    assert main(["evaluate", chn, "--no-progress", "--update", "synchronous"]) == 0
    # the papers' damped synchronous CHN, and its cap for it (80, not the run's 40)
    assert "synchronous updates, anderson, damping 0.5, rtol 0.0001, max_steps 80\n" in capsys.readouterr().out
    assert main(["evaluate", out, "--no-progress", "--max-steps", "0"]) == 1
    assert "hopjax evaluate: error: max_steps must be a positive integer, got 0" in capsys.readouterr().err


def test_an_interrupted_train_says_what_was_kept(data_dir, tmp_path, capsys, monkeypatch):
    # Ctrl-C printed a page of JAX traceback and not whether anything was saved.
    import hopjax.train

    out = tmp_path / "run"
    args = ["train", *TINY, "--data-dir", data_dir, "--epochs", "2", "--out", str(out)]
    assert main([*args, "--stop-after", "1"]) == 0
    capsys.readouterr()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(hopjax.train, "train", interrupted)
    assert main(["train", "--out", str(out), "--resume", "--no-progress"]) == 130
    assert capsys.readouterr().err == (
        f"\nhopjax train: interrupted; {out / 'checkpoint.eqx'} holds epoch 1; continue with "
        f"`hopjax train --out {out} --resume`.\n")
    assert main([*args[:-2], "--out", str(tmp_path / "new")]) == 130
    assert "interrupted; no epoch had finished, so nothing was saved." in capsys.readouterr().err


def test_an_interrupted_evaluate_or_download_says_nothing_was_written(data_dir, tmp_path, capsys, monkeypatch):
    # Ctrl-C printed a page of JAX traceback
    import hopjax.data
    import hopjax.train

    out = tmp_path / "run"
    assert main(["train", *TINY, "--data-dir", data_dir, "--epochs", "1", "--out", str(out)]) == 0
    capsys.readouterr()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    def ctrl_c(argv):
        try:
            return main(argv)
        except KeyboardInterrupt:
            pytest.fail(f"hopjax {argv[0]} let Ctrl-C through as a traceback")

    monkeypatch.setattr(hopjax.train, "evaluate", interrupted)
    monkeypatch.setattr(hopjax.data, "download_mnist", interrupted)
    report = tmp_path / "report.json"
    assert ctrl_c(["evaluate", str(out), "--no-progress", "--json", str(report)]) == 130
    assert capsys.readouterr().err == "\nhopjax evaluate: interrupted; nothing was written.\n"
    assert not report.exists()
    assert ctrl_c(["download", "mnist", "--data-dir", str(tmp_path / "mnist")]) == 130
    assert capsys.readouterr().err == "\nhopjax download: interrupted; nothing was written.\n"


def test_a_closed_output_pipe_ends_quietly(data_dir, tmp_path, capsys, monkeypatch):
    # `hopjax train ... | head -1` printed "hopjax train: error: [Errno 32] Broken pipe"
    import hopjax.train

    def reader_gone(*args, **kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(hopjax.train, "train", reader_gone)
    assert main(["train", *TINY, "--data-dir", data_dir, "--out", str(tmp_path / "run")]) == 141
    assert capsys.readouterr().err == ""


def test_train_says_when_adjoints_did_not_converge(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", *TINY, "--data-dir", data_dir, "--epochs", "1", "--out", str(out)]
    with pytest.warns(hj.AdjointNonConvergenceWarning):
        assert main([*args, "--backward", "fixed-point", "--backward-steps", "1"]) == 0
    said = "the adjoint (fixed-point) did not converge for 100.00 % of the last epoch's"
    assert said in capsys.readouterr().out
    # A run written before the count existed has no such key: resuming it says nothing.
    metrics = out / "metrics.jsonl"
    (record,) = [json.loads(line) for line in metrics.read_text().splitlines()]
    del record["train_adjoint_not_converged"]
    metrics.write_text(json.dumps(record) + "\n")
    assert main(["train", "--out", str(out), "--resume", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "epoch 1/1: test accuracy" in printed and "did not converge" not in printed


def test_python_dash_m_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "hopjax", "train", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "--update" in result.stdout


def test_version_names_hopjax_and_the_jax_libraries(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["--version"])
    assert exit.value.code == 0
    line = capsys.readouterr().out
    # The installed metadata and the package agree (pyproject takes hopjax.__version__).
    assert importlib.metadata.version("hopjax") == hj.__version__
    assert line == (
        f"hopjax {hj.__version__} (jax {jax.__version__}, jaxlib {jaxlib.__version__}, "
        f"equinox {eqx.__version__}, optimistix {optx.__version__}, optax {optax.__version__})\n"
    )


@pytest.mark.parametrize(
    "argv,message",
    [
        (["train", "--update", "async"], "invalid choice: 'async'"),
        (["train", "--depth", "4"], "invalid choice: 4"),
        (["train", "--epochs", "0"], "epochs must be a positive integer"),
        (["train", "--seed", "-1"], "seed must be an integer in [0, 2**63), got -1"),
        (["train", "--seed", str(2**64)], "seed must be an integer in [0, 2**63), got 1844"),
        (["train", "--lr", "3"], "learning_rate must lie in"),
        (["train", "--layers", "784", "10"], "at least two state layers"),
        (["train", "--depth", "3", "--layers", "784", "9", "10"], "not allowed with argument"),
        (["train", "--stop-after", "0"], "--stop-after must be a positive integer"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_arguments_exit_with_a_clear_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    if argv[0] == "train":  # the command's own usage and name, as for its other errors
        assert "usage: hopjax train" in err and "hopjax train: error: " in err


@pytest.mark.parametrize("argv,message", [
    (["train", *TINY, "--train-examples", "10"], "10 training examples do not fill one batch of 64"),
    (["train", "--layers", "784", "16", "5", "--epochs", "1", "--no-progress"],
     "The labels run from 0 to 9, but the output layer (layer_sizes[-1]) has 5 units"),
])
def test_settings_that_fail_on_the_data_are_reported(data_dir, tmp_path, argv, message, capsys):
    assert main([*argv, "--data-dir", data_dir, "--out", str(tmp_path / "r")]) == 1
    assert f"hopjax train: error: {message}" in capsys.readouterr().err.replace("\n", " ")


def test_evaluate_reports_bad_arguments(data_dir, tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", *TINY, "--data-dir", data_dir, "--epochs", "1", "--out", out]) == 0
    capsys.readouterr()
    for argv, message in [
        (["--test-examples", "0"], "test_examples must be a positive integer, got 0"),
        (["--test-examples", "-3"], "test_examples must be a positive integer, got -3"),
    ]:
        assert main(["evaluate", out, "--no-progress", *argv]) == 1
        assert f"hopjax evaluate: error: {message}" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # by the command line, before anything is loaded
        main(["evaluate", out, "--no-progress", "--batch-size", "0"])
    assert "hopjax evaluate: error: --batch-size must be a positive integer, got 0." in capsys.readouterr().err
    with pytest.raises(SystemExit):  # before the evaluation runs, not after
        main(["evaluate", out, "--json", str(tmp_path / "nowhere" / "report.json")])
    assert "its directory does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["evaluate", out, "--json", str(tmp_path)])
    assert "is a directory; give a file name" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # was: evaluated, then failed writing report.json.tmp
        main(["evaluate", out, "--json", str(unwritable_directory(tmp_path) / "report.json")])
    assert "cannot write in its directory (Permission denied)" in capsys.readouterr().err


def test_evaluate_refuses_a_run_trained_on_other_data(data_dir, tmp_path, capsys):
    # it evaluated on the run's config.dataset, which a run given its data in Python
    # did not learn from, and said nothing
    import hopjax.train
    from hopjax.data import load_dataset

    config = hopjax.train.TrainConfig(layer_sizes=(784, 16, 10), epochs=1, data_dir=data_dir)
    data = load_dataset("fashion-mnist", data_dir=data_dir)
    hopjax.train.train(config, tmp_path / "run", data=data.subset(64, 32), progress=False)
    assert main(["evaluate", str(tmp_path / "run"), "--no-progress"]) == 1
    assert capsys.readouterr().err.startswith(
        f"hopjax evaluate: error: {tmp_path / 'run' / 'checkpoint.eqx'} was trained on other "
        f"data than fashion-mnist (IDX files in {data_dir}) gives (the checkpoint records 64 "
        "training and 32 test examples, where it has 128 and 64)")


def test_missing_data_and_checkpoint_are_reported(tmp_path, capsys):
    assert main(["train", *TINY, "--data-dir", str(tmp_path), "--out", str(tmp_path / "r")]) == 1
    assert "apt-get install dataset-fashion-mnist" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "nowhere")]) == 1
    assert "No checkpoint at" in capsys.readouterr().err
