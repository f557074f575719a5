"""The tensorflow-datasets path, offline: tfds's own mock data, the real preparation of
a data set from its (locally served) download, and a missing data set or module."""

import socket
import tempfile

import numpy as np
import pytest

from hopjax.data import _tfds, DatasetNotFoundError, load_dataset, load_tfds_split, TFDS_NAMES

from .helpers import mnist_like, write_idx


tfds = pytest.importorskip("tensorflow_datasets")


@pytest.fixture(autouse=True)
def _tfds_scratch_in_tmp_path(tmp_path, monkeypatch):
    """tfds makes an empty temporary directory, never removed, whenever it builds a
    data set it has not prepared (`DatasetInfo.initialize_from_bucket`): keep them in
    the test's own directory, not /tmp."""
    scratch = tmp_path / "tempfile"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))


@pytest.mark.parametrize("name", ["mnist", "emnist-mnist", "fashion-mnist"])
def test_tfds_path_offline_with_mock_data(name):
    with tfds.testing.mock_data(num_examples=12, policy=tfds.testing.MockPolicy.USE_CODE):
        data = load_dataset(name, source="tfds")
    assert data.train_images.shape == (12, 784) and data.test_images.shape == (12, 784)
    assert data.train_images.dtype == np.float32
    assert 0.0 <= data.train_images.min() and data.train_images.max() <= 1.0
    assert data.train_images.max() > 0.5  # scaled by 255, not left as bytes or zeros
    assert data.train_labels.dtype == np.int32
    assert set(np.unique(data.train_labels)) <= set(range(10))
    assert TFDS_NAMES[name] in data.description


def test_tfds_missing_data_set_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match="--data-dir"):
        load_tfds_split("mnist", "test", data_dir=str(tmp_path), download=False)


def _serve_downloads(monkeypatch, served):
    """Replace tfds's download (the only step that needs the network) by `served`, a
    function of the requested URLs, and let hopjax take every download host as
    reachable; return the list of requests it receives."""
    monkeypatch.setattr(_tfds, "unreachable_download_host", lambda *args: None)
    requests = []

    def download_and_extract(self, urls):
        requests.append(urls)
        return served(urls)

    monkeypatch.setattr(tfds.download.DownloadManager, "download_and_extract", download_and_extract)
    return requests


@pytest.mark.parametrize("name", ["mnist", "emnist-mnist", "fashion-mnist"])
def test_tfds_prepares_a_data_set_from_its_download_offline(name, tmp_path, monkeypatch):
    """The first-use path of a user with internet, all of it but the network: tfds's own
    builder converts the downloaded IDX files to ArrayRecord files, hopjax reads them."""
    pytest.importorskip("tensorflow", reason="tfds prepares MNIST-like data with TensorFlow")
    from tensorflow_datasets.image_classification import mnist as builders

    sizes = {"train": 40, "test": 20}
    emnist = name == "emnist-mnist"
    served = tmp_path / "served"
    (served / "gzip").mkdir(parents=True)
    files, expected = {}, {}
    for seed, (split, n) in enumerate(sizes.items()):
        images, labels = mnist_like(n, seed)
        images[:, 0, 0] = np.arange(n)  # a tag: tfds stores the examples in its own order
        expected[split] = images.reshape(n, 784).astype(np.float32) / 255.0, labels
        for kind, key, array in (("images-idx3", "data", images), ("labels-idx1", "labels", labels)):
            if emnist:  # NIST's zip, extracted: tfds gunzips its members itself
                write_idx(served / "gzip" / f"emnist-mnist-{split}-{kind}-ubyte.gz", array)
            else:  # MNIST's and Fashion-MNIST's .gz files, extracted by the download
                path = files[f"{split}_{key}"] = served / f"{split}-{kind}-ubyte"
                write_idx(path, array)
    if emnist:
        config = next(c for c in builders.EMNIST.BUILDER_CONFIGS if c.name == "mnist")
        monkeypatch.setattr(config, "train_examples", sizes["train"])
        monkeypatch.setattr(config, "test_examples", sizes["test"])
    else:
        monkeypatch.setattr(builders, "_TRAIN_EXAMPLES", sizes["train"])
        monkeypatch.setattr(builders, "_TEST_EXAMPLES", sizes["test"])
    monkeypatch.setattr(tfds.core.constants, "DATA_DIR", str(tmp_path / "tensorflow_datasets"))
    requests = _serve_downloads(
        monkeypatch, lambda urls: str(served) if emnist else {k: str(files[k]) for k in urls}
    )

    data = load_dataset(name, source="tfds")

    urls = requests[0] if isinstance(requests[0], str) else " ".join(requests[0].values())
    assert urls.startswith("http") and ("emnist" in urls.lower()) == emnist  # the builder's own URLs
    for split, images, labels in (("train", data.train_images, data.train_labels),
                                  ("test", data.test_images, data.test_labels)):
        order = np.argsort(np.rint(images[:, 0] * 255))
        np.testing.assert_array_equal(images[order], expected[split][0])
        np.testing.assert_array_equal(labels[order], expected[split][1])
        assert labels.dtype == np.int32

    _serve_downloads(monkeypatch, lambda urls: pytest.fail("prepared data was downloaded again"))
    again = load_dataset(name, source="tfds")
    np.testing.assert_array_equal(again.train_images, data.train_images)


def _missing_tensorflow(urls):
    raise ModuleNotFoundError("No module named 'tensorflow'", name="tensorflow")


def _missing_tensorflow_rewrapped(urls):
    # As tfds before 4.9.8 raised it: a new ModuleNotFoundError without a name.
    try:
        _missing_tensorflow(urls)
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError("Failed to construct dataset 'mnist': No module named 'tensorflow'") from error


def _missing_unnamed(urls):
    raise ModuleNotFoundError("a module is missing")


@pytest.mark.parametrize("missing, expected", [
    (_missing_tensorflow, "the module 'tensorflow'"),
    (_missing_tensorflow_rewrapped, "the module 'tensorflow'"),
    (_missing_unnamed, r"a module it lacks \(a module is missing\)"),
])
def test_tfds_without_tensorflow_says_to_install_the_extra(missing, expected, tmp_path, monkeypatch):
    _serve_downloads(monkeypatch, missing)
    with pytest.raises(DatasetNotFoundError, match=rf"needs {expected} to prepare 'mnist' .*hopjax\[tfds\]"):
        load_tfds_split("mnist", "test", data_dir=str(tmp_path))


@pytest.mark.parametrize("name", sorted(TFDS_NAMES.values()))
def test_tfds_offline_fails_at_once_naming_the_download_host(name, tmp_path, monkeypatch):
    # Offline, tfds retried each download for about 3.5 minutes before giving up.
    def no_dns(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    for proxy in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setattr(tfds.download.DownloadManager, "download_and_extract",
                        lambda self, urls: pytest.fail("tfds tried to download"))
    host = _tfds.unreachable_download_host(tfds, name, str(tmp_path))
    assert host and "." in host  # the builder's own download host
    with pytest.raises(DatasetNotFoundError, match=f"would download '{name}' from {host}, whose name does not resolve"):
        load_tfds_split(name, "test", data_dir=str(tmp_path))
    monkeypatch.setenv("https_proxy", "http://proxy.invalid:3128")  # a proxy resolves names itself
    assert _tfds.unreachable_download_host(tfds, name, str(tmp_path)) is None
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'validation'"):
        load_tfds_split(name, "validation", data_dir=str(tmp_path))
