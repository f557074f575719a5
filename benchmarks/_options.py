"""What the benchmark scripts' command lines share: option types, so that a nonsense
count is refused by argparse, naming the option, before anything is loaded or trained;
a results path made ready before the work whose results it will hold; and a missing
data set or an unreadable checkpoint reported as one message that says what is wrong,
not as a traceback; Ctrl-C answered by what of the work is kept, not by a traceback; and
results files replaced whole, so that Ctrl-C or a crash while one is written never leaves
it half-written."""

import argparse
import contextlib
import os
import pathlib
import sys
import tempfile
from collections.abc import Callable, Iterator

from hopjax.data import DatasetNotFoundError
from hopjax.train import CheckpointError


def _integer_at_least(lowest: int, what: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < lowest:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    parse.__name__ = what  # argparse names the type in its own messages
    return parse


positive_int = _integer_at_least(1, "a positive integer")
"""A count: epochs, examples, samples, batch sizes, repeats, steps, jobs."""

seed_int = _integer_at_least(0, "a non-negative integer")
"""A random seed."""


def once_each(parser: argparse.ArgumentParser, args: argparse.Namespace, *options: str):
    """An argparse error if one of these list options names a value twice: a repeated row,
    seed or batch size would be trained or timed again, and counted twice."""
    for option in options:
        chosen = getattr(args, option.replace("-", "_"))
        if chosen is not None and len(set(chosen)) < len(chosen):
            parser.error(f"--{option} names {chosen}: each at most once (a repeat would count twice).")


def writable_directory(parser: argparse.ArgumentParser, option: str, directory, *,
                       create: bool = True) -> pathlib.Path:
    """`directory`, created now if missing (or, with `create=False`, left to be created
    later: the nearest directory that exists must then take new files), or an argparse
    error that names `option` (e.g. "--runs-dir runs") and the problem: a path under a
    file, or a directory that cannot be created or written in, found before the work
    whose results it will hold."""
    directory = pathlib.Path(directory)
    blocking = next((p for p in (directory, *directory.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        parser.error(f"{option}: {blocking} is a file, not a directory.")
    if create:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            parser.error(f"{option}: cannot create {directory} ({error.strerror}).")
    existing = next(p for p in (directory, *directory.parents) if p.exists())
    try:
        tempfile.TemporaryFile(dir=existing).close()
    except OSError as error:
        parser.error(f"{option}: cannot write in {existing} ({error.strerror}).")
    return directory


def out_path(parser: argparse.ArgumentParser, out) -> pathlib.Path:
    """`--out` as a path whose directory is ready (`writable_directory`), or an argparse
    error naming the problem: a script writes its results after minutes of work, which a
    path under a file, a read-only directory, or a directory given for a file name, would
    lose."""
    out = pathlib.Path(out)
    writable_directory(parser, f"--out {out}", out.parent)
    if out.is_dir():
        parser.error(f"--out {out} is a directory; give a file name in it (e.g. {out / 'results'}).")
    return out


def results_base(parser: argparse.ArgumentParser, out) -> pathlib.Path:
    """`--out` for a script that writes `<out>.json`, `<out>.md` and files named after
    them: `out_path`'s checks, where a `.json` or `.md` ending names the results file
    meant (`--out r.json` writes `r.json` and `r.md`) and any other dot is part of the
    name (`--out lr-0.005` writes `lr-0.005.json`, not `lr-0.json`)."""
    out = pathlib.Path(out)
    return out_path(parser, out.with_suffix("") if out.suffix in (".json", ".md") else out)


def beside(base: pathlib.Path, ending: str) -> pathlib.Path:
    """The file `<base><ending>` (e.g. `.json`) next to a `results_base`: unlike
    `Path.with_suffix`, it keeps a dot in the base's name."""
    return base.with_name(base.name + ending)


def load_or_exit(load, *args, **kwargs):
    """`load(*args, **kwargs)`, a loader of data or checkpoints; if the data set is
    missing (the message says how to get it) or a checkpoint cannot be read (the message
    says why), end the script with the error's message instead of a traceback."""
    try:
        return load(*args, **kwargs)
    except (DatasetNotFoundError, CheckpointError) as error:
        raise SystemExit(f"{script_name()}: error: {error}")


def script_name() -> str:
    """The running script's file name (`table2.py`), as its messages begin."""
    return pathlib.Path(sys.argv[0]).name


@contextlib.contextmanager
def interrupt_says(kept: Callable[[], str]) -> Iterator[None]:
    """Ctrl-C (`KeyboardInterrupt`) in the block ends the script with exit status 130
    (128 + SIGINT, as a shell reports it) and one line, `<script>: interrupted; <kept()>.`,
    where `kept` says, when asked at that moment, what of the work so far is kept and
    where: not a page of JAX traceback that leaves it unsaid."""
    try:
        yield
    except KeyboardInterrupt:
        print(f"\n{script_name()}: interrupted; {kept()}.", file=sys.stderr)
        raise SystemExit(130) from None


@contextlib.contextmanager
def replacing(path: pathlib.Path) -> Iterator[pathlib.Path]:
    """A scratch file beside `path` for the block to write (`r.partial.png` for `r.png`:
    the same ending, so matplotlib still knows the format), renamed over `path` in one
    step when the block ends. Ctrl-C or an error before then leaves `path` as it was (the
    previous results, or no file), never half-written, and the scratch file removed."""
    scratch = path.with_name(f"{path.stem}.partial{path.suffix}")
    try:
        yield scratch
        os.replace(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)


def write_whole(path: pathlib.Path, text: str) -> None:
    """Write `text` to `path`, `replacing` it whole."""
    with replacing(path) as scratch:
        scratch.write_text(text)
