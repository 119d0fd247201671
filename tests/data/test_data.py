import numpy as np
import pytest

from nnlearn.config.schema import DataConfig
from nnlearn.data.dataset import Normalizer, load_dataset, split_dataset
from nnlearn.errors import DataError


def data(**fields):
    return DataConfig(**fields)


@pytest.mark.parametrize("source, rows, features, kind, classes", [
    ("digits", 1797, 64, "classes", 10), ("iris", 150, 4, "classes", 3), ("wine", 178, 13, "classes", 3),
    ("breast_cancer", 569, 30, "classes", 2), ("diabetes", 442, 10, "continuous", 0),
])
def test_bundled_datasets(source, rows, features, kind, classes):
    dataset = load_dataset(data(source=source), seed=0)
    assert dataset.x.shape == (rows, features)
    assert dataset.kind == kind and dataset.n_classes == classes


def test_digits_fold_into_8x8x1_images():
    assert load_dataset(data(source="digits"), seed=0).image_shape == (8, 8, 1)


@pytest.mark.parametrize("source", ["moons", "circles", "blobs", "xor", "linear", "multilabel"])
def test_synthetic_datasets_are_seeded(source):
    first = load_dataset(data(source=source, n_samples=100), seed=3)
    again = load_dataset(data(source=source, n_samples=100), seed=3)
    other = load_dataset(data(source=source, n_samples=100), seed=4)
    assert len(first.x) == 100
    assert np.array_equal(first.x, again.x) and np.array_equal(first.y, again.y)
    assert not np.array_equal(first.x, other.x)


def test_xor_labels_follow_the_quadrant():
    dataset = load_dataset(data(source="xor", n_samples=400, noise=0.0), seed=0)
    expected = (dataset.x[:, 0] > 0) != (dataset.x[:, 1] > 0)
    assert np.array_equal(dataset.y, expected.astype(int))


def test_csv_with_text_target(tmp_path):
    path = tmp_path / "pets.csv"
    path.write_text("weight,height,kind\n4,30,cat\n30,60,dog\n5,25,cat\n")
    dataset = load_dataset(data(source=str(path), target="kind"), seed=0)
    assert dataset.class_names == ["cat", "dog"]
    assert dataset.y.tolist() == [0, 1, 0]
    assert dataset.feature_names == ["weight", "height"]


@pytest.mark.parametrize("content, target, fragment", [
    ("a,b,y\n1,2,0\n", "label", "no column 'label'"),
    ("a,b,y\n1,x,0\n", "y", "not a number"),
    ("a,b,y\n1,,0\n", "y", "not a number"),
    ("a,b,y\n1,nan,0\n", "y", "nan"),
    ("a,b,y\n1,2\n", "y", "has 2 cells"),
    ("a,b,y\n", "y", "no data rows"),
])
def test_csv_mistakes(tmp_path, content, target, fragment):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=fragment):
        load_dataset(data(source=str(path), target=target), seed=0)


def test_missing_file_and_unknown_source(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(data(source=str(tmp_path / "absent.csv"), target="y"), seed=0)
    with pytest.raises(DataError, match="unknown data source"):
        load_dataset(data(source="mnist"), seed=0)


def test_npz_images(tmp_path):
    path = tmp_path / "images.npz"
    np.savez(path, x=np.zeros((20, 5, 5)), y=np.arange(20) % 2)
    dataset = load_dataset(data(source=str(path)), seed=0)
    assert dataset.image_shape == (5, 5, 1)
    assert dataset.x.shape == (20, 25)


def test_a_number_that_is_not_finite_in_an_npz_is_named_by_its_row(tmp_path):
    x, y = np.ones((20, 2)), np.linspace(0.0, 1.0, 20)
    x[3, 1], path = np.nan, tmp_path / "features.npz"
    np.savez(path, x=x, y=y)
    with pytest.raises(DataError, match=r"features.npz row 4: feature 'x2' is nan \(1 such values\)"):
        load_dataset(data(source=str(path)), seed=0)
    x[3, 1], y[5] = 0.0, np.inf
    np.savez(path, x=x, y=y)
    with pytest.raises(DataError, match="features.npz row 6: the target is inf"):
        load_dataset(data(source=str(path)), seed=0)


def test_split_sizes_are_stratified_and_seeded():
    dataset = load_dataset(data(source="iris"), seed=0)
    splits = split_dataset(dataset, data(source="iris", test_split=0.2, validation_split=0.2), 0, True)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (90, 30, 30)
    assert np.bincount(splits.test.y).tolist() == [10, 10, 10]
    again = split_dataset(dataset, data(source="iris", test_split=0.2, validation_split=0.2), 0, True)
    assert np.array_equal(splits.test.x, again.test.x)


def test_no_validation_split():
    dataset = load_dataset(data(source="iris"), seed=0)
    splits = split_dataset(dataset, data(source="iris", validation_split=0), 0, True)
    assert splits.validation is None and len(splits.train) == 120


def test_normalizer_uses_training_statistics_only():
    train = np.array([[0.0, 5.0], [2.0, 5.0]])
    normalizer = Normalizer.fit("standard", train)
    assert normalizer.apply(np.array([[1.0, 5.0]])).tolist() == [[0.0, 0.0]]
    assert normalizer.apply(np.array([[3.0, 6.0]])).tolist() == [[2.0, 1.0]]
    minmax = Normalizer.fit("minmax", train)
    assert minmax.apply(np.array([[2.0, 5.0]])).tolist() == [[1.0, 0.0]]
    restored = Normalizer.from_dict(normalizer.to_dict())
    assert np.array_equal(restored.offset, normalizer.offset)
    assert np.array_equal(restored.scale, normalizer.scale)
