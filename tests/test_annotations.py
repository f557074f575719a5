"""hopjax's jaxtyping annotations hold at run time.

A subset of the suite that uses hopjax only as documented (the README's and docs'
examples, the maps' and dynamics' tests, a train-resume-evaluate run, an evaluation
on JAX arrays) runs again with every hopjax function and module checked against its
annotations: jaxtyping's import hook with beartype, as Equinox and Diffrax test
themselves. An annotation that says
`Bool[Array, ""]` where a batch comes back, or `tuple[int, ...]` where a list is
taken, fails here. (The tests of bad input stay out: there the type checker would
speak before hopjax's own messages, which they check.)
"""

import importlib.util
import subprocess
import sys

import pytest

from .helpers import REPOSITORY


DOCUMENTED_USAGE = (
    "tests/test_docs.py::test_documented_python_examples_run",
    "tests/test_maps.py",
    "tests/test_dynamics.py",
    "tests/test_cli.py::test_train_resume_evaluate",
    "tests/test_training_loop.py::test_evaluate_takes_jax_arrays_and_bfloat16_images",
)


@pytest.mark.skipif(
    importlib.util.find_spec("beartype") is None, reason="beartype not installed (the dev extra)"
)
def test_annotations_hold_when_checked_at_run_time(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "--jaxtyping-packages=hopjax,beartype.beartype", "--basetemp", str(tmp_path),
         *DOCUMENTED_USAGE],
        capture_output=True, text=True, cwd=REPOSITORY, check=False,
    )
    assert result.returncode == 0, (
        "with hopjax's annotations checked at run time, tests failed:\n"
        + result.stdout[-6000:] + result.stderr[-2000:]
    )
    assert " passed" in result.stdout.splitlines()[-1]
