"""The documentation: the site builds without a warning and documents every export, its
Python examples run and its command lines parse."""

import argparse
import ast
import dataclasses
import importlib
import inspect
import itertools
import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

from hopjax._cli import main as hopjax_main

from .helpers import load_benchmark, REPOSITORY, write_mnist_like


API_PAGES = REPOSITORY / "docs" / "api"
#: Modules whose `from .x import Name as Name` re-exports are the public API.
PACKAGES = {
    "hopjax": REPOSITORY / "hopjax" / "__init__.py",
    "hopjax.train": REPOSITORY / "hopjax" / "train" / "__init__.py",
    "hopjax.data": REPOSITORY / "hopjax" / "data" / "__init__.py",
}
#: Plain modules whose top-level public definitions are the public API.
MODULES = {
    "hopjax.parallel": REPOSITORY / "hopjax" / "parallel.py",
    "hopjax.plot": REPOSITORY / "hopjax" / "plot.py",
}


def _reexports(path: pathlib.Path) -> list[str]:
    """Names re-exported with the explicit `import X as X` idiom."""
    names = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            names += [a.name for a in node.names if a.asname == a.name]
    return names


def _definitions(path: pathlib.Path) -> list[str]:
    """Public functions, classes and constants defined at the top of a module."""
    names = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return [name for name in names if not name.startswith("_")]


def public_names() -> list[str]:
    names = [f"{m}.{n}" for m, path in PACKAGES.items() for n in _reexports(path)]
    names += [f"{m}.{n}" for m, path in MODULES.items() for n in _definitions(path)]
    return names


def test_public_names_are_found():
    names = public_names()
    for expected in ("hopjax.solve", "hopjax.train.train", "hopjax.data.load_dataset",
                     "hopjax.parallel.data_parallel", "hopjax.plot.residual_heatmap"):
        assert expected in names
    assert len(names) >= 50


def test_plain_modules_export_only_their_api():
    # `from hopjax.parallel import *` also brought jax, np, Mesh, check_flag, ...
    for module, path in MODULES.items():
        exported = importlib.import_module(module).__all__
        assert sorted(exported) == sorted(_definitions(path)), module
        namespace = {}
        exec(f"from {module} import *", namespace)
        assert sorted(set(namespace) - {"__builtins__"}) == sorted(exported), module


def test_every_public_name_has_an_api_entry():
    """A new export without a `::: name` entry in docs/api/ fails here."""
    documented = set()
    for page in API_PAGES.glob("*.md"):
        documented |= set(re.findall(r"^:::\s*([\w.]+)", page.read_text(), re.MULTILINE))
    missing = [name for name in public_names() if name not in documented]
    assert not missing, f"not documented in docs/api/*.md (add `::: name`): {missing}"


def test_every_public_function_and_class_has_a_docstring():
    undocumented = []
    for name in public_names():
        module, attr = name.rsplit(".", 1)
        obj = getattr(importlib.import_module(module), attr)
        if inspect.isclass(obj):
            doc = obj.__dict__.get("__doc__")  # its own, not a base class's
        elif inspect.isfunction(obj):
            doc = obj.__doc__
        else:
            continue  # constants are documented in the source (attribute docstrings)
        if not (doc or "").strip():
            undocumented.append(name)
    assert not undocumented, f"no docstring: {undocumented}"


def test_site_builds_strictly(tmp_path):
    """`mkdocs build --strict`: a broken cross-reference, a missing object or any other
    warning fails the build."""
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPOSITORY,  # mkdocs.yml names the Griffe extension relative to the repository root
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    warnings = [line for line in output.splitlines() if "WARNING" in line]
    assert not warnings, "\n".join(warnings)
    page = (tmp_path / "site" / "api" / "solvers" / "index.html").read_text()
    assert 'id="hopjax.Anderson"' in page
    assert "Arguments:" in page  # the Optimistix-style __init__ docstring was picked up
    assert 'class="arithmatex"' in page  # maths goes to MathJax


def python_blocks(path: pathlib.Path) -> list[str]:
    """The ```python blocks of a Markdown file, in order."""
    return re.findall(r"```python\n(.*?)```", path.read_text(), re.S)


#: What a page's example takes as given beyond the README's Example (its prose says so).
EXAMPLE_GIVENS = {"backward.md": "batches = [(x, jax.nn.one_hot(jnp.arange(64) % 10, 10))]"}


def test_documented_python_examples_run(tmp_path, monkeypatch):
    # Each page's blocks run in order in one namespace, which starts with the README's
    # Example (imports, `model`, `x`, `loss`), as a reader who read that first has it.
    # The data sets are small IDX files ($HOPJAX_DATA_DIR), and every `train` call runs
    # the real training loop with its config made tiny (a 784-16-10 network, 2 epochs at
    # most, 128 images) into a temporary directory: the examples train 10 epochs.
    import hopjax.train

    data = write_mnist_like(tmp_path / "idx", 128, 64)
    monkeypatch.setenv("HOPJAX_DATA_DIR", str(data))
    real_train, trained = hopjax.train.train, []

    def tiny_train(config, out_dir=None, **options):
        config = dataclasses.replace(config, layer_sizes=(784, 16, 10), epochs=min(config.epochs, 2),
                                     train_examples=128, test_examples=64)
        trained.append(config)
        return real_train(config, out_dir and tmp_path / out_dir, progress=False, **options)

    monkeypatch.setattr(hopjax.train, "train", tiny_train)
    readme = REPOSITORY / "README.md"
    example = python_blocks(readme)[0]
    assert "model = hj.HAM(" in example
    pages = [readme, *sorted((REPOSITORY / "docs").glob("*.md")), *sorted(API_PAGES.glob("*.md"))]
    ran = []
    for page in pages:
        namespace = {}
        if page != readme:
            exec(compile(example + EXAMPLE_GIVENS.get(page.name, ""), "README.md (Example)", "exec"),
                 namespace)
        for number, block in enumerate(python_blocks(page), start=1):
            exec(compile(block, f"{page.name} (python block {number})", "exec"), namespace)
            ran.append(page.name)
    assert ran.count("README.md") >= 2 and {"index.md", "how-to-choose.md", "parallel.md", "train.md",
                                            "data.md"} <= set(ran)
    assert ran.count("plot.md") == 2 and len(trained) == 4  # train.md twice, plot.md twice
    assert (tmp_path / "runs" / "ham3-eo" / "checkpoint.eqx").is_file()


def documented_commands() -> list[tuple[str, str]]:
    """`(page, command)` for every `hopjax ...` and `python benchmarks/<script>.py ...`
    command line in README.md, docs/ and the benchmark scripts' usage: the lines of shell
    blocks and docstrings (continuations joined, comments dropped) and inline code that
    holds one (not a bare `hopjax evaluate`, which names the command in prose)."""
    pattern = re.compile(r"(?:python -m hopjax|hopjax) .*|(?:python (?:benchmarks/|\.\./)\w+\.py).*")
    found = []
    pages = [REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").rglob("*.md")),
             *sorted((REPOSITORY / "benchmarks").glob("[!_]*.py"))]
    for page in pages:
        text = page.read_text()
        if page.suffix == ".py":  # a usage line starts with the command
            lines = [line for line in ast.get_docstring(ast.parse(text)).replace("\\\n", " ").splitlines()
                     if re.match(r"\s*(python|hopjax) ", line)]
        else:
            lines = [line for _, block in re.findall(r"```(bash|sh)\n(.*?)```", text, re.S)
                     for line in block.replace("\\\n", " ").splitlines()]
            lines += re.findall(r"`([^`]+)`", re.sub(r"```.*?```", "", text, flags=re.S).replace("\n", " "))
        for line in lines:
            command = pattern.search(line.split(" #")[0])
            if command and not re.fullmatch(r"hopjax \w+", command.group().strip()):
                found.append((page.name, command.group().strip()))
    return found


class _Parsed(Exception):
    """Raised by `parse_args` once it has accepted a command line."""


def test_documented_command_lines_parse(monkeypatch):
    # Every option the docs show is one the command accepts (argparse only: nothing runs).
    original = argparse.ArgumentParser.parse_args

    def parse_then_stop(self, args=None, namespace=None):
        original(self, args, namespace)
        raise _Parsed

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
    commands = documented_commands()
    for page, command in commands:
        words = shlex.split(command)
        if words[0] == "python" and words[1].endswith(".py"):
            script = pathlib.Path(words[1]).stem
            monkeypatch.setattr(sys, "argv", [words[1], *words[2:]])
            run = load_benchmark(script).main
        else:
            run = lambda argv=words[words.index("hopjax") + 1:]: hopjax_main(argv)  # noqa: E731
        with pytest.raises((_Parsed, SystemExit)) as stopped:
            run()
        assert stopped.type is _Parsed or stopped.value.code == 0, f"{page}: {command}"
    scripts = {c.split()[1] for _, c in commands if c.startswith("python ")}
    assert len(commands) >= 40 and {"benchmarks/table2.py", "../curves.py", "benchmarks/stability.py",
                                    "benchmarks/speed.py", "benchmarks/iterations.py"} <= scripts


def test_text_files_hold_no_control_characters():
    """A stray control character (e.g. BEL from an unescaped "\\a" in "\\approx") shows as
    garbage on the page; only tab and newline belong in the prose and code."""
    patterns = ["README.md", "docs/**/*.md", "hopjax/**/*.py", "benchmarks/*.py",
                "notebooks/*.ipynb"]
    texts = [path for pattern in patterns for path in REPOSITORY.glob(pattern)]
    bad = {str(p.relative_to(REPOSITORY)): sorted({hex(ord(c)) for c in p.read_text()
                                                   if ord(c) < 32 and c not in "\t\n"})
           for p in texts}
    assert not {k: v for k, v in bad.items() if v} and len(texts) > 20


#: Names the docs give to what a script writes by default (and the uncommitted run
#: directories), not to committed measurements.
DEFAULT_OUTPUTS = {
    "table2-curves.png",
    "table2-fig3.png",
    "table2-fig4.png",
    "table2-runs",
    "table2-mnist-runs",
    "table2-mnist-gpu.json",  # what benchmarks/gpu-check.sh writes once every run is done
    "table2-mnist-gpu.md",
}


def _expand_braces(name: str) -> list[str]:
    """`a-{b,c}.md` -> [`a-b.md`, `a-c.md`]."""
    parts = [p[1:-1].split(",") if p.startswith("{") else [p] for p in re.split(r"(\{[^}]*\})", name)]
    return ["".join(combo) for combo in itertools.product(*parts)]


def test_every_results_file_the_docs_cite_is_committed():
    cited = set()
    for doc in [REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").glob("*.md"))]:
        for name in re.findall(r"(?:table2|stability)-[A-Za-z0-9{},*.-]*[A-Za-z0-9*}]", doc.read_text()):
            cited |= {(doc.name, n) for n in _expand_braces(name) if n not in DEFAULT_OUTPUTS}
    results = REPOSITORY / "benchmarks" / "results"
    missing = [(doc, n) for doc, n in sorted(cited)
               if not list(results.glob(n if "." in n else n + "*"))]
    assert len(cited) > 20 and not missing, missing
