"""The benchmark scripts run end to end on tiny settings (their numbers are not tested
here: they are what the scripts measure)."""

import argparse
import json
import os
import pathlib
import re
import struct
import subprocess
import sys
import tempfile
import types

import jax
import numpy as np
import pytest

import hopjax as hj

from .helpers import load_benchmark, REPOSITORY, unwritable_directory, write_mnist_like


def _jax_version() -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", jax.__version__)[:3])


def _assert_close_records(actual, expected):
    """The same records up to 1 % in every number (run to run rounding)."""
    actual_leaves, actual_tree = jax.tree.flatten(actual)
    expected_leaves, expected_tree = jax.tree.flatten(expected)
    assert actual_tree == expected_tree
    for a, b in zip(actual_leaves, expected_leaves):
        if isinstance(b, (int, float)) and not isinstance(b, bool):
            assert a == pytest.approx(b, rel=1e-2, abs=1e-6)
        else:
            assert a == b


def run_benchmark(script, *args):
    """Run `benchmarks/<script>` in a fresh interpreter; fail with its stderr."""
    result = subprocess.run(
        [sys.executable, str(REPOSITORY / "benchmarks" / script), *map(str, args)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def png_size(path):
    """A PNG's (width, height) in pixels, from its IHDR chunk."""
    return struct.unpack(">II", path.read_bytes()[16:24])


def test_table2_script_writes_table_json_and_figures(tmp_path):
    data = write_mnist_like(tmp_path / "idx", 128, 64)
    out = tmp_path / "t2"
    stdout = run_benchmark(
        "table2.py", "--rows", "ham3", "--variants", "sync-picard", "eo-anderson",
        "--seeds", "0", "1", "--epochs", "1", "--data-dir", data, "--trace-samples", "16",
        "--out", out, "--no-progress",
    )
    assert "| 3 | HAM-EO-DEQ |" in stdout
    # with --no-progress, a line as each run finishes (nothing was printed until the table)
    assert re.findall(r"run (\d)/4 (\S+): test accuracy \d+\.\d\d %, iterations \d+\.\d\d "
                      r"\(papers' count\), \d+ s training\n", stdout) == [
        ("1", "ham3-sync-picard-seed0"), ("2", "ham3-sync-picard-seed1"),
        ("3", "ham3-eo-anderson-seed0"), ("4", "ham3-eo-anderson-seed1")]
    record = json.loads(out.with_suffix(".json").read_text())
    assert [(r["row"], r["variant"]) for r in record["table"]] == [
        ("ham3", "sync-picard"), ("ham3", "eo-anderson")]
    assert record["table"][0]["speedup"] == 1.0 and record["table"][0]["seeds"] == [0, 1]
    assert len(record["runs"]) == 4
    assert record["machine"]["versions"]["jax"] == jax.__version__
    assert record["machine"]["cpus"] >= 1 and record["machine"]["processor"]
    assert all(run["machine"] == record["machine"] for run in record["runs"])
    assert "Every run on: " in stdout
    assert out.with_suffix(".md").read_text().count("\n| 3 | HAM") == 2
    assert (tmp_path / "t2-fig3.png").stat().st_size > 10_000
    assert (tmp_path / "t2-curves.png").stat().st_size > 10_000
    checkpoint = tmp_path / "t2-runs" / "ham3-eo-anderson-seed1" / "checkpoint.eqx"
    assert checkpoint.exists()
    # The same call again reuses the finished runs (it failed: train's stop_after=0)
    trained_at = checkpoint.stat().st_mtime_ns
    run_benchmark(
        "table2.py", "--rows", "ham3", "--variants", "eo-anderson", "--seeds", "1",
        "--epochs", "1", "--data-dir", data, "--trace-samples", "16",
        "--out", tmp_path / "t2-again", "--runs-dir", tmp_path / "t2-runs", "--no-progress",
    )
    (reused,) = json.loads((tmp_path / "t2-again.json").read_text())["runs"]
    assert checkpoint.stat().st_mtime_ns == trained_at  # not trained again
    original = next(r for r in record["runs"] if (r["variant"], r["seed"]) == ("eo-anderson", 1))
    assert {k: v for k, v in reused.items() if k != "inference_time_s" and "fixed_count" not in k} == {
        k: v for k, v in original.items() if k != "inference_time_s" and "fixed_count" not in k}
    # --jobs 2: the same runs trained by two worker processes (one core each) give the
    # same numbers as this process did, in the same order; only wall times differ (bit
    # for bit on jax 0.10.1, 0.10.2, 0.11.2 and 0.12.1; on jax 0.6.1 a one-core run's
    # float32 rounding differed, e.g. a loss 3.4403088 against 3.4403090, and mean iterations
    # by ~0.1)
    run_benchmark(
        "table2.py", "--rows", "ham3", "--variants", "sync-picard", "eo-anderson",
        "--seeds", "0", "1", "--epochs", "1", "--data-dir", data, "--trace-samples", "16",
        "--jobs", "2", "--out", tmp_path / "t2-jobs", "--no-progress",
    )
    parallel = json.loads((tmp_path / "t2-jobs.json").read_text())

    def without_times(run):
        kept = {k: v for k, v in run.items() if "time" not in k}
        return dict(kept, by_epoch={k: v for k, v in run["by_epoch"].items() if "time" not in k})

    if _jax_version() >= (0, 10, 1):
        assert list(map(without_times, parallel["runs"])) == list(map(without_times, record["runs"]))
    else:
        _assert_close_records(list(map(without_times, parallel["runs"])),
                              list(map(without_times, record["runs"])))
    assert (tmp_path / "t2-jobs-runs" / "ham3-sync-picard-seed1" / "checkpoint.eqx").exists()
    # --include: earlier runs join the table in Table 2's order; a mismatch is refused
    stdout = run_benchmark(
        "table2.py", "--rows", "ham3", "--variants", "eo-picard", "--seeds", "0", "--epochs", "1",
        "--data-dir", data, "--trace-samples", "8", "--include", out.with_suffix(".json"),
        "--runs-dir", tmp_path / "t2-runs", "--out", tmp_path / "t3", "--no-progress")
    merged = json.loads((tmp_path / "t3.json").read_text())
    assert [r["variant"] for r in merged["table"]] == ["sync-picard", "eo-picard", "eo-anderson"]
    assert [r["seeds"] for r in merged["table"]] == [[0, 1], [0], [0, 1]]
    assert merged["runs"][0] == record["runs"][0] and "| 0, 1 |" in stdout
    run_benchmark("table2.py", "--merge-only", "--epochs", "1",
                  "--include", out.with_suffix(".json"), tmp_path / "t3.json",
                  "--data-dir", data, "--out", tmp_path / "t5", "--no-progress")
    assert json.loads((tmp_path / "t5.json").read_text())["runs"] == merged["runs"]
    assert (tmp_path / "t5-curves.png").exists() and not (tmp_path / "t5-fig3.png").exists()
    # a results file from before the learning curves were recorded still merges
    old = json.loads((tmp_path / "t3.json").read_text())
    del next(r for r in old["runs"] if r["variant"] == "eo-picard")["by_epoch"]
    (tmp_path / "old.json").write_text(json.dumps(old))
    stdout = run_benchmark("table2.py", "--merge-only", "--epochs", "1", "--include", tmp_path / "old.json",
                           "--data-dir", data, "--out", tmp_path / "t6", "--no-progress")
    assert "no learning curves recorded (older table2.py) for: ham3-eo-picard-seed0\n" in stdout
    assert len(json.loads((tmp_path / "t6.json").read_text())["runs"]) == len(merged["runs"])
    assert (tmp_path / "t6-curves.png").exists()
    refused = subprocess.run(
        [sys.executable, str(REPOSITORY / "benchmarks" / "table2.py"), "--rows", "ham3", "--epochs", "2",
         "--data-dir", str(data), "--include", str(out.with_suffix(".json")), "--out", str(tmp_path / "t4")],
        capture_output=True, text=True)
    assert refused.returncode != 0 and "trained otherwise" in refused.stderr
    assert not (tmp_path / "t4-runs").exists()  # refused before training
    # benchmarks/curves.py overlays results files, filtered by variant
    stdout = run_benchmark("curves.py", out.with_suffix(".json"), "--variants", "eo-anderson",
                           "--out", tmp_path / "c.png")
    assert "(2 runs)" in stdout and (tmp_path / "c.png").stat().st_size > 10_000
    missing = subprocess.run([sys.executable, str(REPOSITORY / "benchmarks" / "curves.py"),
                              str(tmp_path / "none.json"), "--out", str(tmp_path / "d.png")],
                             capture_output=True, text=True)
    assert missing.returncode != 0 and "no such results file" in missing.stderr


def test_table2_quick_trains_in_scratch_space_it_removes(tmp_path, monkeypatch):
    # The quickstart's job: its runs (checkpoints, ~100 MB for the real one) go to a
    # temporary directory that is gone when it ends; the record says none was kept.
    table2 = load_benchmark("table2")
    monkeypatch.setattr(table2, "QUICK", dict(
        table2.QUICK, rows=["ham3"], train_examples=64, test_examples=32, trace_samples=8))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(sys, "argv", [
        "table2.py", "--quick", "--variants", "eo-anderson", "--no-progress",
        "--data-dir", str(write_mnist_like(tmp_path / "idx", 64, 32)), "--out", str(tmp_path / "q")])
    table2.main()
    record = json.loads((tmp_path / "q.json").read_text())
    assert [(r["row"], r["variant"], r["epochs"]) for r in record["runs"]] == [("ham3", "eo-anderson", 1)]
    assert record["settings"]["runs_dir"] is None and record["settings"]["quick"]
    assert list(scratch.iterdir()) == [] and not (tmp_path / "q-runs").exists()


def test_table2_interrupted_says_what_is_kept(tmp_path, monkeypatch, capsys):
    # Ctrl-C printed a page of traceback (from every worker with --jobs) and not whether
    # the runs trained so far were kept.
    table2 = load_benchmark("table2")

    def interrupted(args, out, runs_dir):
        raise KeyboardInterrupt

    monkeypatch.setattr(table2, "reproduce", interrupted)
    for options, said in [
        (["--quick"], "nothing is kept (--quick trains in a temporary directory unless given --runs-dir)."),
        (["--runs-dir", str(tmp_path / "runs")],
         f"each run's finished epochs are kept in {tmp_path / 'runs'}, and the same command continues them."),
    ]:
        monkeypatch.setattr(sys, "argv", ["table2.py", *options, "--out", str(tmp_path / "t")])
        with pytest.raises(SystemExit) as stopped:
            table2.main()
        assert stopped.value.code == 130
        assert capsys.readouterr().err == f"\ntable2.py: interrupted; {said}\n"


def interrupted_main(script, argv, monkeypatch, capsys, **stand_ins):
    """Run `benchmarks/<script>.py`'s main with `argv`, some of its names replaced by
    `stand_ins` (one of which presses Ctrl-C); its exit status and stderr."""
    module = load_benchmark(script)
    for name, stand_in in stand_ins.items():
        monkeypatch.setattr(module, name, stand_in)
    monkeypatch.setattr(sys, "argv", [f"{script}.py", *map(str, argv)])
    try:
        module.main()
    except KeyboardInterrupt:
        pytest.fail(f"{script}.py let Ctrl-C through as a traceback")
    except SystemExit as stop:
        return stop.code, capsys.readouterr().err
    pytest.fail(f"{script}.py ended normally")


def curve_run(row, variant, seed, by_epoch, steps=None):
    """A table2.py run record holding what the learning-curve figure and table read:
    trained with the default backward mode (unrolled recurrent backprop), its number of
    steps `steps` where given."""
    return {"row": row, "variant": variant, "seed": seed, "by_epoch": by_epoch,
            "config": {"backward": "rbp-unrolled", "backward_steps": steps}}


def curves_results(path, *variants):
    """A table2.py results file at `path` holding, for each of `variants`, a one-epoch
    seed-0 run of the 3-layer HAM (what curves.py reads); returns `path`."""
    by_epoch = {"test_accuracy": [0.7], "test_paper_iterations": [9.0], "train_loss": [0.2]}
    path.write_text(json.dumps({"runs": [curve_run("ham3", variant, 0, by_epoch) for variant in variants]}))
    return path


def ctrl_c():
    raise KeyboardInterrupt


def ctrl_c_after(count, real):
    """A stand-in for the function `real`: its first `count` calls are `real`'s, the next
    presses Ctrl-C."""
    calls = []

    def stand_in(*args, **kwargs):
        calls.append(None)
        return real(*args, **kwargs) if len(calls) <= count else ctrl_c()

    return stand_in


def ctrl_c_in_progress(count):
    """A stand-in for `tqdm` over an iterable: it gives the first `count` items, then
    presses Ctrl-C."""
    return lambda items, **_: (item if i < count else ctrl_c() for i, item in enumerate(items))


def test_benchmark_scripts_interrupted_say_what_is_kept(tmp_path, monkeypatch, capsys):
    # before 2026-12-06 Ctrl-C in them printed a page of JAX traceback (curves.py, one of
    # matplotlib), and not whether the rows measured so far (speed.py, backward.py rewrite
    # their JSON as they go) were kept
    data = write_mnist_like(tmp_path / "idx", 16, 8)
    speed = ["--rows", "ham3 eo-anderson", "ham3 sync-picard", "--batches", "4", "--train-batches",
             "4", "--repeats", "1", "--data-dir", data, "--out", tmp_path / "s.json"]
    assert interrupted_main("speed", speed, monkeypatch, capsys, tqdm=ctrl_c_in_progress(0)) == (
        130, f"\nspeed.py: interrupted; no row had been measured, so {tmp_path / 's.json'} was "
        "not written.\n")
    assert not (tmp_path / "s.json").exists()
    assert interrupted_main("speed", speed, monkeypatch, capsys, tqdm=ctrl_c_in_progress(1)) == (
        130, f"\nspeed.py: interrupted; the rows measured so far (1) are in {tmp_path / 's.json'}.\n")
    assert [r["row"] for r in json.loads((tmp_path / "s.json").read_text())["rows"]] == ["ham3 eo-anderson"]

    backward = load_benchmark("backward")
    code, err = interrupted_main(
        "backward", ["--rows", "ham3", "--updates", "even_odd", "synchronous", "--modes", "rbp",
                     "--batch", "4", "--repeats", "1", "--data-dir", data, "--out", tmp_path / "b"],
        monkeypatch, capsys, compare=ctrl_c_after(1, backward.compare))
    assert (code, err.splitlines()[-1]) == (
        130, "backward.py: interrupted; the results of the networks x updates compared so far "
        f"(1 of 2) are in {tmp_path / 'b.json'}.")
    assert [(r["row"], r["update"]) for r in json.loads((tmp_path / "b.json").read_text())["results"]] == [
        ("ham3", "even_odd")]

    assert interrupted_main(
        "iterations", ["--data-dir", data, "--out", tmp_path / "i.json"], monkeypatch, capsys,
        load_or_exit=ctrl_c_after(0, None)) == (
        130, f"\niterations.py: interrupted; nothing was written ({tmp_path / 'i.json'} is written "
        "when every row is done).\n")
    assert interrupted_main(
        "stability", [tmp_path / "run", "--out", tmp_path / "st"], monkeypatch, capsys,
        load_or_exit=ctrl_c_after(0, None)) == (
        130, f"\nstability.py: interrupted; nothing was written ({tmp_path / 'st.md'} and .json "
        "are written when every run is analysed).\n")
    assert not (tmp_path / "i.json").exists() and not (tmp_path / "st.md").exists()

    curves = [curves_results(tmp_path / "t2.json", "sync-picard", "eo-anderson"), "--out", tmp_path / "c.png"]
    assert interrupted_main("curves", curves, monkeypatch, capsys, curves_figure=ctrl_c_after(0, None)) == (
        130, "\ncurves.py: interrupted; nothing was written.\n")
    assert interrupted_main("curves", curves, monkeypatch, capsys, comparison=ctrl_c_after(0, None)) == (
        130, f"\ncurves.py: interrupted; {tmp_path / 'c.png'} was written, {tmp_path / 'c.md'} was not.\n")
    assert (tmp_path / "c.png").exists() and not (tmp_path / "c.md").exists()


def test_results_files_are_replaced_whole(tmp_path, monkeypatch, capsys):
    # before 2026-12-07 Ctrl-C while a results file or figure was being written left it
    # half-written (the previous one lost), though curves.py said "nothing was written"
    options = load_benchmark("_options")
    path = tmp_path / "r.json"
    options.write_whole(path, "previous\n")
    assert path.read_text() == "previous\n"

    def half_then_ctrl_c(self, text):
        with open(self, "w") as f:
            f.write(text[: len(text) // 2])
        ctrl_c()

    with monkeypatch.context() as patch:
        patch.setattr(pathlib.Path, "write_text", half_then_ctrl_c)
        with pytest.raises(KeyboardInterrupt):
            options.write_whole(path, "the next results, cut short\n")
        with pytest.raises(KeyboardInterrupt):
            options.write_whole(tmp_path / "new.md", "cut short\n")
    assert path.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]  # no scratch file left

    import matplotlib.figure

    def half_a_png_then_ctrl_c(self, target, **kwargs):
        pathlib.Path(target).write_bytes(b"\x89PNG half")
        ctrl_c()

    results = curves_results(tmp_path / "t2.json", "sync-picard")
    (tmp_path / "c.png").write_bytes(b"the previous figure")
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", half_a_png_then_ctrl_c)
    assert interrupted_main("curves", [results, "--out", tmp_path / "c.png"], monkeypatch, capsys) == (
        130, "\ncurves.py: interrupted; nothing was written.\n")
    assert (tmp_path / "c.png").read_bytes() == b"the previous figure"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "r.json", "t2.json"]


def test_table2_quick_settings_stand_for_the_options_not_given():
    # before 2026-12-06 --quick silently replaced them: `bash run.sh benchmark --seeds 1`
    # (run.sh passes its arguments on after --quick) trained seed 0
    table2 = load_benchmark("table2")
    parse = lambda *argv: vars(table2.parse_with_quick(table2.command_line(), list(argv)))  # noqa: E731
    quick = parse("--quick", "--seeds", "1", "--epochs", "10")  # a default value given wins too
    assert {k: quick[k] for k in table2.QUICK} == dict(table2.QUICK, seeds=[1], epochs=10)
    assert {k: parse("--quick")[k] for k in table2.QUICK} == table2.QUICK
    full = parse("--seeds", "1")
    assert {k: full[k] for k in table2.QUICK} == dict(
        rows=list(table2.ROWS), seeds=[1], epochs=10, train_examples=None, test_examples=None,
        trace_samples=1000)


def test_speed_script_writes_rows_with_roofline(tmp_path):
    data = write_mnist_like(tmp_path / "idx", 16, 32)
    out = tmp_path / "speed.json"
    run_benchmark(
        "speed.py", "--rows", "ham3 eo-anderson", "--batches", "8", "--train-batches", "8",
        "--repeats", "1", "--data-dir", data, "--out", out,
    )
    record = json.loads(out.read_text())
    (row,) = record["rows"]
    assert record["repeats"] == 1 and record["data"] == str(data)
    assert row["row"] == "ham3 eo-anderson" and row["batch"] == 8 and row["fixed_count"] == 40
    assert row["train_step_ms"] > 0 and row["floor_per_iteration_ms"] > 0
    assert row["flops_per_iteration"] == 4 * 8 * 1990 * 10
    assert row["argmax_agreement_vs_float32"] == 1.0


def test_gpu_check_script_reports_the_device_and_the_runs_it_trained_by_its_deadline(tmp_path):
    """benchmarks/gpu-check.sh (here on the CPU, with a 60 s budget): it names the device,
    stops speed.py at its own limit, trains Table 2 runs until the deadline, stops them
    there and lists the epochs each run has checkpointed (for the next call to resume)."""
    data = write_mnist_like(tmp_path / "idx", 64, 32)
    env = dict(os.environ, PYTHON=sys.executable, JOBS="1", TEST_SECONDS="1", SPEED_SECONDS="1",
               TF32_SECONDS="1")
    result = subprocess.run(
        ["bash", str(REPOSITORY / "benchmarks" / "gpu-check.sh"), str(data), "60", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    stdout = result.stdout
    assert re.search(r"\[\w+Device\(id=0\)", stdout) and "speed.py: exit 124" in stdout
    assert "speed.py --precision tf32: exit 124" in stdout and "tests: exit 124" in stdout
    assert re.search(r"table2\.py: exit (0|124)", stdout)
    epochs = dict(re.findall(r"^(ham3-sync-picard-seed0): (\d+) epoch", stdout, re.M))
    assert int(epochs["ham3-sync-picard-seed0"]) >= 1
    assert (tmp_path / "out" / "table2-mnist-gpu-runs" / "ham3-sync-picard-seed0" / "checkpoint.eqx").exists()


def test_table2_papers_epochs_takes_the_synchronous_chn_early(tmp_path):
    data = write_mnist_like(tmp_path / "idx", 128, 32)
    out = tmp_path / "t2"
    stdout = run_benchmark(
        "table2.py", "--rows", "chn3", "--variants", "sync-picard", "--seeds", "0",
        "--epochs", "4", "--papers-epochs", "--data-dir", data, "--trace-samples", "8",
        "--out", out, "--no-progress",
    )
    assert "| 3 | CHN (3 epochs) |" in stdout and "| 39.1 / 97.0 |" in stdout
    (run,) = json.loads(out.with_suffix(".json").read_text())["runs"]
    assert run["epochs"] == 3 and run["config"]["epochs"] == 4  # the 4-epoch schedule, stopped
    assert len(run["by_epoch"]["test_accuracy"]) == 3
    assert run["by_epoch"]["test_accuracy"][-1] == run["test_accuracy"]
    metrics = (tmp_path / "t2-runs" / "chn3-sync-picard-seed0-epoch3" / "metrics.jsonl")
    assert len(metrics.read_text().splitlines()) == 3
    # taken after the same epoch, but of a 4-epoch schedule: it cannot join a 3-epoch table
    table2 = [sys.executable, str(REPOSITORY / "benchmarks" / "table2.py"), "--data-dir", str(data)]
    refused = subprocess.run([*table2, "--merge-only", "--epochs", "3", "--papers-epochs",
                              "--include", str(out.with_suffix(".json")), "--out", str(tmp_path / "t3")],
                             capture_output=True, text=True)
    assert refused.returncode != 0 and "trained otherwise ({'epochs': 4})" in refused.stderr
    repeated = subprocess.run([*table2, "--seeds", "0", "1", "0"], capture_output=True, text=True)
    assert repeated.returncode == 2 and "--seeds names [0, 1, 0]: each at most once" in repeated.stderr


def test_table2_backward_steps_names_the_run_and_reaches_the_config(tmp_path):
    data = write_mnist_like(tmp_path / "idx", 64, 16)
    out = tmp_path / "t2"
    run_benchmark("table2.py", "--rows", "ham3", "--variants", "eo-anderson", "--seeds", "0",
                  "--epochs", "1", "--backward-steps", "3", "--data-dir", data,
                  "--trace-samples", "4", "--out", out, "--no-progress")
    (run,) = json.loads(out.with_suffix(".json").read_text())["runs"]
    assert run["config"]["backward_steps"] == 3 and run["config"]["backward"] == "rbp-unrolled"
    assert "train_adjoint_not_converged" not in run["by_epoch"]  # rbp-unrolled solves none
    assert run["by_epoch"]["train_loss"] and "test_accuracy" in run["by_epoch"]
    assert (tmp_path / "t2-runs" / "ham3-eo-anderson-seed0-rbp-unrolled-K3" / "metrics.jsonl").exists()
    assert "--backward rbp-unrolled --backward-steps 3," in out.with_suffix(".md").read_text()
    # curves.py keeps runs that differ only in K apart, and names K in the legend (the
    # default-K file is this run's record with K unset: only the config tells them apart)
    default_k = json.loads(out.with_suffix(".json").read_text())
    default_k["runs"][0]["config"]["backward_steps"] = None
    # ... and tabulates them against synchronous Picard of the same network: a made-up
    # base with twice the iterations and 1.5 points more accuracy
    base = json.loads(json.dumps(default_k["runs"][0]))
    base.update(variant="sync-picard", paper_iterations=2 * run["paper_iterations"],
                test_accuracy=run["test_accuracy"] + 0.015)
    default_k["runs"].append(base)
    (tmp_path / "t1.json").write_text(json.dumps(default_k))
    stdout = run_benchmark("curves.py", tmp_path / "t1.json", out.with_suffix(".json"),
                           "--out", tmp_path / "k.png")
    assert "HAM-EO-DEQ (3L), rbp-unrolled: seeds 0\n" in stdout
    assert "HAM-EO-DEQ (3L), rbp-unrolled, K=3: seeds 0\n" in stdout
    table = (tmp_path / "k.md").read_text()
    assert table.startswith("Compared: ") and table.split("\n\n", 1)[1] in stdout
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in table.splitlines()[4:]}
    assert set(rows) == {"HAM (3L), rbp-unrolled", "HAM-EO-DEQ (3L), rbp-unrolled",
                         "HAM-EO-DEQ (3L), rbp-unrolled, K=3"}
    assert rows["HAM (3L), rbp-unrolled"][3:6:2] == ["1.00x", "+0.00"]
    for name in ("HAM-EO-DEQ (3L), rbp-unrolled", "HAM-EO-DEQ (3L), rbp-unrolled, K=3"):
        assert rows[name][3:6:2] == ["2.00x", "-1.50"]


def test_stability_script_reads_a_training_run(tmp_path):
    from hopjax.train import train, TrainConfig

    data = write_mnist_like(tmp_path / "idx", 128, 32)
    config = TrainConfig(model="chn", layer_sizes=(784, 24, 10), update="synchronous",
                         solver="anderson", epochs=1, data_dir=str(data))
    train(config, tmp_path / "run", progress=False)
    out = tmp_path / "stability"
    stdout = run_benchmark("stability.py", tmp_path / "run", "--test-examples", "16",
                           "--data-dir", data, "--steps", "500", "--out", out)
    assert "\n| run | rbp-unrolled | 1 | " in stdout
    assert out.with_suffix(".md").read_text().count("\n| run |") == 1
    (result,) = json.loads(out.with_suffix(".json").read_text())["results"]
    assert result["epoch"] == 1 and result["samples"] == 16
    assert 0 < result["radius"]["median"] and result["anderson_converged"] == 1.0
    assert result["picard_agrees_with_radius"] >= 0.75  # exact agreement: test_stability.py
    for form in ("rbp", "rbp-unrolled"):
        assert -1 <= result["gradients"][form]["cosine_vs_exact"] <= 1


def test_curves_figure_has_a_row_per_network_and_a_colour_per_variant(tmp_path):
    figures = load_benchmark("_table2_figures")
    by_epoch = {"test_accuracy": [0.7, 0.8], "test_paper_iterations": [9.0, 8.0],
                "train_loss": [0.2, 0.1]}

    runs = [curve_run("chn3", "eo-picard", 0, by_epoch), curve_run("ham7", "sync-picard", 0, by_epoch),
            curve_run("ham7", "eo-anderson", 0, by_epoch),
            curve_run("ham7", "eo-anderson", 0, by_epoch, steps=12),
            curve_run("ham3", "eo-anderson", 1, by_epoch), curve_run("ham3", "eo-anderson", 2, by_epoch),
            curve_run("ham3", "sync-picard", 0, by_epoch)]
    panels = figures.curve_panels(runs)
    assert [row for row, _ in panels] == ["ham3", "ham7", "chn3"]  # Table 2's order
    drawn = {row: [(len(group), group[0]["variant"], options["color"], options["linestyle"])
                   for _, group, options in lines] for row, lines in panels}
    assert drawn == {
        "ham3": [(2, "eo-anderson", "C3", "-"), (1, "sync-picard", "C0", "-")],
        # the same variant keeps its colour; another gradient (K = 12) gets another style
        "ham7": [(1, "sync-picard", "C0", "-"), (1, "eo-anderson", "C3", "-"),
                 (1, "eo-anderson", "C3", "--")],
        "chn3": [(1, "eo-picard", "C2", "-")],
    }
    one, three = tmp_path / "one.png", tmp_path / "three.png"
    figures.curves_figure(runs[:1], one)
    figures.curves_figure(runs, three)
    (width, height), (width3, height3) = png_size(one), png_size(three)
    assert width3 == width and 2.5 * height < height3 < 3.5 * height


def test_curves_figure_draws_the_mean_of_several_seeds_over_their_own_curves(tmp_path, monkeypatch):
    figures = load_benchmark("_table2_figures")
    rng = np.random.default_rng(7)
    curves = rng.uniform(0.1, 0.9, size=(3, 3, 4))  # seed x curve x epoch

    def run(seed, epochs=4):
        by_epoch = dict(zip(["test_accuracy", "test_paper_iterations", "train_loss"],
                            curves[seed, :, :epochs].tolist()))
        return curve_run("ham5", "eo-anderson", seed, by_epoch)

    group = [run(0), run(1), run(2, epochs=3)]  # the mean covers the epochs all seeds have
    mean = figures.seed_mean(group)
    np.testing.assert_allclose(np.array([mean["test_accuracy"], mean["test_paper_iterations"],
                                         mean["train_loss"]]),
                               curves[:, :, :3].mean(axis=0), rtol=1e-12)

    import matplotlib.pyplot as plt

    saved = []
    monkeypatch.setattr(plt, "close", saved.append)  # keep the figure to look at its lines
    figures.curves_figure(group, tmp_path / "mean.png")
    monkeypatch.undo()
    accuracy_axis = saved[0].axes[0]
    widths = sorted(line.get_linewidth() for line in accuracy_axis.lines)
    assert widths == [0.8, 0.8, 0.8, 2]  # three faint seeds, one bold mean
    (bold,) = [line for line in accuracy_axis.lines if line.get_linewidth() == 2]
    np.testing.assert_allclose(bold.get_ydata(), 100 * curves[:, 0, :3].mean(axis=0))
    assert bold.get_label() == "HAM-EO-DEQ (5L), mean of seeds 0, 1, 2"
    plt.close(saved[0])


def test_table2_by_seed_table_compares_each_run_with_its_own_seeds_base():
    summary = load_benchmark("_table2_summary")

    def run(row, variant, seed, iterations, accuracy, epochs=10):
        return {"row": row, "variant": variant, "seed": seed, "epochs": epochs,
                "paper_iterations": iterations, "test_accuracy": accuracy}

    runs = [run("ham3", "sync-picard", 0, 10.0, 0.870), run("ham3", "eo-anderson", 0, 5.0, 0.875),
            run("ham3", "eo-anderson", 1, 4.0, 0.860),  # seed 1 has no base: no comparison
            run("chn3", "sync-picard", 1, 40.0, 0.850, epochs=3),
            run("chn3", "eo-picard", 1, 10.0, 0.840)]  # 2 x 10 inner updates per iteration
    lines = summary.by_seed_markdown(runs)
    assert lines[2:] == [
        "| network | seed 0 | seed 1 |",
        "|---|---|---|",
        "| HAM (3 layers, 10 epochs) | 10.00 / 87.00 % | - |",
        "| HAM-EO-DEQ (3 layers, 10 epochs) | 5.00 / 87.50 % (2.00x, +0.50) | 4.00 / 86.00 % |",
        "| CHN (3 layers, 3 epochs) | - | 40.0 / 85.00 % |",
        "| CHN-EO (3 layers, 10 epochs) | - | 10.00 / 84.00 % (0.20x, -1.00) |",
    ]


def test_machine_record_reads_the_processor_and_its_widest_vector_instructions(monkeypatch):
    machine = load_benchmark("_machine")
    cpuinfo = {"model name": "Example CPU 9000", "flags": "fpu sse4_2 avx avx2 fma"}
    monkeypatch.setattr(machine, "_cpuinfo", lambda: cpuinfo)
    assert machine.processor() == "Example CPU 9000"
    assert machine.vector_extension() == "avx2"
    cpuinfo["flags"] += " avx512f avx512bw"
    assert machine.vector_extension() == "avx512f"
    cpuinfo.clear()  # no /proc/cpuinfo (macOS): the architecture, no extension
    assert machine.processor() and machine.vector_extension() is None
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_max_isa=AVX2")
    assert machine.machine()["xla_flags"] == "--xla_cpu_max_isa=AVX2"
    # the matmul precision chosen, by any means (None: hopjax's full precision)
    with jax.default_matmul_precision(None):
        assert machine.machine()["matmul_precision"] is None
    with jax.default_matmul_precision("tensorfloat32"):
        assert machine.machine()["matmul_precision"] == "tensorfloat32"
    for platform, kind, expected in [("cpu", "cpu", None), ("gpu", "NVIDIA H200", "NVIDIA H200")]:
        device = types.SimpleNamespace(platform=platform, device_kind=kind)
        monkeypatch.setattr(jax, "devices", lambda device=device: [device])
        assert machine.accelerator() == expected


def test_table2_pool_pins_each_worker_to_a_core_round_robin(monkeypatch):
    pool = load_benchmark("_table2_pool")
    monkeypatch.setattr(pool.os, "sched_getaffinity", lambda pid: {4, 2}, raising=False)
    assert pool.cores_for(3, pin=True) == [2, 4, 2]
    assert pool.cores_for(2, pin=False) == [None, None]  # a GPU: the workers share it


def test_table2_merge_keeps_each_runs_machine_and_says_which_ran_where(tmp_path):
    summary = load_benchmark("_table2_summary")
    cpu = lambda name, isa: {"processor": name, "vector_extension": isa,
                             "versions": {"jax": "0.10.2"}}
    run = lambda seed, **extra: {"row": "ham3", "variant": "eo-anderson", "seed": seed, "config": {}, **extra}
    files = {  # a call that trained its runs; an old one; a merge: their runs' machines
        "own.json": {"settings": {"include": None}, "machine": cpu("AMD EPYC", "avx512f"),
                     "runs": [run(0), run(1, machine=cpu("Intel Xeon", "avx2"))]},
        "old.json": {"settings": {}, "runs": [run(2)]},
        "older.json": {"settings": {}, "machine": {"cpus": 2, "platform": "Linux"},
                       "runs": [run(4)]},
        "merge.json": {"settings": {"include": ["a.json"], "merge_only": True},
                       "machine": cpu("AMD EPYC", "avx512f"), "runs": [run(3)]},
    }
    runs = []
    for name, record in files.items():
        (tmp_path / name).write_text(json.dumps(record))
        runs += summary.results_runs(tmp_path / name)
    assert [r["machine"] and r["machine"].get("processor") for r in runs] == [
        "AMD EPYC", "Intel Xeon", None, None, None]
    assert summary.machines_markdown(runs) == (
        "Runs by machine: AMD EPYC (avx512f), jax 0.10.2: ham3-eo-anderson-seed0; "
        "Intel Xeon (avx2), jax 0.10.2: ham3-eo-anderson-seed1; "
        "not recorded: ham3-eo-anderson-seed2, ham3-eo-anderson-seed4, "
        "ham3-eo-anderson-seed3.")
    assert summary.machines_markdown(runs[:1]) == "Every run on: AMD EPYC (avx512f), jax 0.10.2."
    gpu = dict(cpu("AMD EPYC", "avx512f"), accelerator="NVIDIA H200", versions={"jax": "0.11.2"})
    assert summary.machine_name(gpu) == "NVIDIA H200, jax 0.11.2"


def test_iterations_script_solves_each_variant_and_records_its_settings(tmp_path):
    data = write_mnist_like(tmp_path / "idx", 16, 10)
    out = tmp_path / "iterations.json"
    stdout = run_benchmark("iterations.py", "--networks", "HAM 3L", "--samples", "6", "--batch", "4",
                           "--repeats", "1", "--seed", "3", "--data-dir", data, "--out", out)
    record = json.loads(out.read_text())
    assert [(r["update"], r["solver"]) for r in record["rows"]] == [
        ("synchronous", "Picard"), ("synchronous", "Anderson"), ("even_odd", "Picard"),
        ("even_odd", "Anderson")]
    for row in record["rows"]:
        assert row["samples"] == 6 and row["max_steps"] == 40 and row["median_seconds"] > 0
        assert 1 <= row["paper_iterations_mean"] <= 40 and 0 <= row["converged_fraction"] <= 1
    assert {k: record["meta"][k] for k in ("seed", "batch", "repeats")} == {"seed": 3, "batch": 4, "repeats": 1}
    assert record["meta"]["data"] == str(data) and "HAM 3L   even_odd     Anderson" in stdout


def test_backward_script_compares_each_mode_with_the_reference(tmp_path):
    data = write_mnist_like(tmp_path / "idx", 16, 8)
    out = tmp_path / "backward-0.5"  # a dot in the name is kept (was backward-0.json)
    stdout = run_benchmark(
        "backward.py", "--rows", "ham3", "--updates", "even_odd", "--modes", "fixed-point",
        "gmres", "rbp", "--batch", "4", "--repeats", "1", "--data-dir", data, "--out", out,
    )
    results = {r["mode"]: r for r in json.loads((tmp_path / "backward-0.5.json").read_text())["results"]}
    assert list(results) == ["fixed-point", "gmres", "rbp"] and "| ham3 | even_odd |" in stdout
    assert (tmp_path / "backward-0.5.md").read_text() in stdout
    for exact in ("fixed-point", "gmres"):  # the implicit gradient, up to the tolerances
        assert results[exact]["relative_error"] < 1e-4 and results[exact]["cosine"] > 0.9999
    assert results["rbp"]["rbp_steps"] == 8 and results["rbp"]["relative_error"] > 1e-4
    assert all(r["unsolved_samples"] == 0 and r["gradient_ms"] > 0 for r in results.values())
    assert results["gmres"]["forward_converged"] == 1.0


def test_backward_script_counts_the_samples_whose_adjoint_was_reported(getkey):
    backward = load_benchmark("backward")
    model = hj.HAM((12, 9, 4), key=getkey())
    x = jax.random.uniform(getkey(), (5, 12))
    labels = jax.numpy.arange(5) % 4
    options = dict(backward=hj.FixedPointAdjoint(max_steps=2))
    gradient, failed = backward.unsolved_samples(backward.gradient_function(x, labels, options), model)
    assert failed == 5 and gradient.shape == (12 * 9 + 9 * 4 + 9 + 4,)
    options = dict(backward=hj.FixedPointAdjoint())
    assert backward.unsolved_samples(backward.gradient_function(x, labels, options), model)[1] == 0


@pytest.mark.parametrize("script, argv, message", [
    ("table2", ["--epochs", "0"], "argument --epochs: must be a positive integer, got '0'"),
    ("table2", ["--seeds", "0", "-1"], "argument --seeds: must be a non-negative integer, got '-1'"),
    ("table2", ["--trace-samples", "0"], "argument --trace-samples: must be a positive integer"),
    ("table2", ["--train-examples", "1e3"], "argument --train-examples: must be a positive integer, got '1e3'"),
    ("table2", ["--backward-steps", "0"], "argument --backward-steps: must be a positive integer"),
    ("table2", ["--jobs", "0"], "argument --jobs: must be a positive integer, got '0'"),
    # a step count for a backward mode that takes none (was: accepted, and ignored)
    ("table2", ["--backward", "gmres", "--backward-steps", "3"], "backward='gmres' takes none, got backward_steps=3"),
    ("table2", ["--out", str(REPOSITORY / "README.md" / "t")], "README.md is a file, not a directory"),
    ("table2", ["--runs-dir", str(REPOSITORY / "README.md" / "runs")], "README.md is a file, not a directory"),
    ("speed", ["--batches", "64", "0"], "argument --batches: must be a positive integer, got '0'"),
    ("speed", ["--repeats", "0"], "argument --repeats: must be a positive integer"),
    # a training step asked for at a batch size not measured (was: silently not timed)
    ("speed", ["--batches", "64", "1000", "--train-batches", "128"],
     "--train-batches [128]: a training step is timed only at the batch sizes --batches measures ([64, 1000])"),
    # a value named twice (was: trained or timed twice, and tabulated twice)
    ("speed", ["--batches", "64", "64"], "--batches names [64, 64]: each at most once"),
    ("speed", ["--rows", "ham3 eo-picard", "ham3 eo-picard"], "--rows names ['ham3 eo-picard', 'ham3 eo-picard']"),
    ("speed", ["--train-batches", "64", "64"], "--train-batches names [64, 64]: each at most once"),
    ("iterations", ["--networks", "HAM 3L", "HAM 3L"], "--networks names ['HAM 3L', 'HAM 3L']: each at most once"),
    ("backward", ["--modes", "gmres", "rbp", "gmres"], "--modes names ['gmres', 'rbp', 'gmres']: each at most once"),
    ("backward", ["--updates", "even_odd", "even_odd"], "--updates names ['even_odd', 'even_odd']"),
    ("iterations", ["--batch", "0"], "argument --batch: must be a positive integer"),
    ("iterations", ["--samples", "-5"], "argument --samples: must be a positive integer, got '-5'"),
    ("stability", ["some-run", "--steps", "0"], "argument --steps: must be a positive integer"),
    ("backward", ["--batch", "0"], "argument --batch: must be a positive integer, got '0'"),
    ("backward", ["--max-steps", "-1"], "argument --max-steps: must be a positive integer"),
    ("backward", ["--rows", "ham9"], "argument --rows: invalid choice:"),
    # an --out the results could not be written to, refused before the work (not after)
    ("table2", ["--out", str(REPOSITORY / "benchmarks")], "benchmarks is a directory; give a file name in it"),
    ("speed", ["--out", str(REPOSITORY / "README.md" / "s.json")], "README.md is a file, not a directory"),
    ("speed", ["--out", str(REPOSITORY / "benchmarks")], "benchmarks is a directory"),
    ("iterations", ["--out", str(REPOSITORY / "README.md" / "i.json")], "README.md is a file, not a directory"),
    ("iterations", ["--out", str(REPOSITORY / "benchmarks")], "benchmarks is a directory"),
    ("stability", ["some-run", "--out", str(REPOSITORY / "README.md" / "st")], "README.md is a file, not a directory"),
    ("stability", ["some-run", "--out", str(REPOSITORY / "benchmarks")], "benchmarks is a directory"),
    ("backward", ["--out", str(REPOSITORY / "README.md" / "b")], "README.md is a file, not a directory"),
    ("curves", ["some.json", "--out", str(REPOSITORY / "README.md" / "c.png")], "README.md is a file, not a directory"),
    ("curves", ["some.json", "--out", str(REPOSITORY / "benchmarks")], "benchmarks is a directory"),
    # a figure name matplotlib cannot write (was its traceback, after reading the files)
    ("curves", ["some.json", "--out", str(REPOSITORY / "benchmarks" / "c.txt")], "the suffix names the figure"),
    ("curves", ["some.json", "--out", str(REPOSITORY / "benchmarks" / "c")], "give a .png name"),
])
def test_benchmark_scripts_refuse_nonsense_options_naming_them(
        script, argv, message, monkeypatch, capsys, tmp_path):
    # before 2026-12-05 these ran on: --trace-samples 0 trained every run, then divided by
    # zero; --batches 0 and --batch 0 failed deep inside; --repeats 0 timed nothing (NaN)
    main = load_benchmark(script).main
    # no data where the scripts look by default: an option that is not refused stops
    # there, rather than running the benchmark into benchmarks/results
    monkeypatch.setenv("HOPJAX_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(sys, "argv", [f"{script}.py", *argv])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("script, option", [("table2", "--out"), ("speed", "--out"), ("table2", "--runs-dir")])
def test_benchmark_scripts_refuse_a_read_only_results_directory_before_the_work(
        script, option, monkeypatch, capsys, tmp_path):
    # before 2026-12-07 the scripts did their work, then failed writing the results (a
    # read-only --runs-dir: table2.py's traceback once the data was loaded)
    read_only = unwritable_directory(tmp_path)
    path = read_only / "results.json" if option == "--out" else read_only
    monkeypatch.setenv("HOPJAX_DATA_DIR", str(tmp_path))  # no data: the work could not start
    monkeypatch.setattr(sys, "argv", [f"{script}.py", option, str(path)])
    with pytest.raises(SystemExit) as exit_info:
        load_benchmark(script).main()
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and f": cannot write in {read_only} (Permission denied)." in error


def test_results_paths_keep_dots_in_names_and_read_a_json_ending_as_the_file_meant(tmp_path):
    # table2.py, stability.py and backward.py write <out>.json and <out>.md: before
    # 2026-12-06 they replaced the name's last dotted part (--out lr-0.005 wrote lr-0.json),
    # and table2.py then printed names of files it had not written
    options = load_benchmark("_options")
    parser = argparse.ArgumentParser()
    for given, base in [("lr-0.005", "lr-0.005"), ("r.json", "r"), ("r.md", "r"),
                        ("run.v2.json", "run.v2"), ("plain", "plain")]:
        out = options.results_base(parser, tmp_path / "new" / given)
        assert out == tmp_path / "new" / base and out.parent.is_dir()
        assert options.beside(out, ".json") == tmp_path / "new" / f"{base}.json"


def test_benchmark_scripts_report_missing_data_and_foreign_files_in_one_message(tmp_path, monkeypatch):
    for script, argv in [("table2", ["--data-dir", tmp_path, "--out", tmp_path / "t"]),
                         ("speed", ["--data-dir", tmp_path, "--out", tmp_path / "s.json"]),
                         ("iterations", ["--data-dir", tmp_path, "--out", tmp_path / "i.json"]),
                         ("backward", ["--data-dir", tmp_path, "--out", tmp_path / "b"])]:
        main = load_benchmark(script).main
        monkeypatch.setattr(sys, "argv", [f"{script}.py", *map(str, argv)])
        with pytest.raises(SystemExit) as exit_info:
            main()
        assert str(exit_info.value.code).startswith(f"{script}.py: error: No ")
        assert f"in {tmp_path}. Get MNIST with `hopjax download mnist`" in exit_info.value.code
    main = load_benchmark("stability").main  # every run's checkpoint read before any analysis
    monkeypatch.setattr(sys, "argv", ["stability.py", str(tmp_path / "no-run"), "--out", str(tmp_path / "st")])
    with pytest.raises(SystemExit, match=f"^stability.py: error: No checkpoint at {tmp_path}/no-run"):
        main()
    summary = load_benchmark("_table2_summary")
    for name, text in [("notes.json", "not JSON"), ("list.json", "[1, 2]"), ("a.png", b"\x89PNG")]:
        path = tmp_path / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        with pytest.raises(SystemExit, match=f"--include {path}: not a table2.py results file"):
            summary.results_runs(path, "--include ")
    # malformed run records (was: a KeyError or TypeError traceback from the table)
    run = json.loads((REPOSITORY / "benchmarks" / "results" / "table2-quick.json").read_text())["runs"][0]
    for runs, why in [
        (3, "its 'runs' is not a list"),
        ([1], "its run 0 is not a record, got 1"),
        ([run, {k: v for k, v in run.items() if k != "paper_iterations"}], "its run 1 has no 'paper_iterations'"),
        ([{**run, "row": "ham9"}], "its run 0 names row 'ham9', variant 'sync-picard'; table2.py knows rows"),
    ]:
        path = tmp_path / "malformed.json"
        path.write_text(json.dumps({"runs": runs}))
        with pytest.raises(SystemExit, match=re.escape(f"--include {path}: not a table2.py results file ({why}")):
            summary.results_runs(path, "--include ", summary.TABLE_KEYS)
    path.write_text(json.dumps({"runs": [{k: run[k] for k in summary.RUN_IDENTITY}]}))  # what curves.py reads
    assert summary.results_runs(path)[0]["row"] == run["row"]
    with pytest.raises(SystemExit, match="its run 0 has no 'test_accuracy', 'first_epoch_test_accuracy'"):
        summary.results_runs(path, "", summary.TABLE_KEYS)
