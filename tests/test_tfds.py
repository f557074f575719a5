"""The tensorflow-datasets path, offline: tfds's own mock data, and a missing data set."""

import numpy as np
import pytest

from hopjax.data import DatasetNotFoundError, load_dataset, load_tfds_split, TFDS_NAMES


tfds = pytest.importorskip("tensorflow_datasets")


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
