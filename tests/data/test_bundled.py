"""The bundled datasets read from scikit-learn's files are the ones its loaders return, to the bit; and
loading, splitting and preparing them (or a CSV, NPZ or image folder) never imports scikit-learn."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn import datasets

import nnlearn.data.dataset
from nnlearn.config.schema import DataConfig
from nnlearn.data import bundled
from nnlearn.data.bundled import read_bundled
from nnlearn.data.dataset import load_dataset
from tests.conftest import ROOT

FOUR = ["digits", "iris", "wine", "breast_cancer"]


def same_array(ours, reference):
    return ours.dtype == reference.dtype and ours.shape == reference.shape and np.array_equal(ours, reference)


@pytest.mark.parametrize("name", FOUR)
def test_the_files_read_as_scikit_learns_loader_reads_them(name):
    ours, reference = read_bundled(name), getattr(datasets, f"load_{name}")()
    assert same_array(ours.data, reference.data) and same_array(ours.target, reference.target)
    assert ours.feature_names == [str(feature) for feature in reference.feature_names]
    assert ours.target_names == [str(target) for target in reference.target_names]


@pytest.mark.parametrize("name", FOUR)
def test_the_dataset_and_its_fingerprint_are_unchanged(name, monkeypatch):
    ours = load_dataset(DataConfig(source=name), seed=0)
    monkeypatch.setattr(nnlearn.data.dataset, "read_bundled", lambda name: None)  # as before: scikit-learn's loader
    before = load_dataset(DataConfig(source=name), seed=0)
    assert same_array(ours.x, before.x) and same_array(ours.y, before.y)
    assert (ours.feature_names, ours.class_names, ours.image_shape, ours.kind) == \
        (before.feature_names, before.class_names, before.image_shape, before.kind)
    assert ours.fingerprint() == before.fingerprint()


def test_diabetes_is_not_read_from_the_files():
    assert read_bundled("diabetes") is None


def dropped_last_row(text):
    return text[:text.rstrip("\n").rindex("\n") + 1]


@pytest.mark.parametrize("change", [
    dropped_last_row,
    lambda text: text.replace(",", ";"),
    lambda text: "rows,columns\n" + text.split("\n", 1)[1],
    lambda text: text.replace("\n5.0,", "\n5.0,1.0,", 1),
    lambda text: text.replace("5.1", "five", 1),
    lambda text: text.replace(",2\n", ",7\n"),  # a class index past the class names
])
def test_a_file_not_as_expected_falls_back_to_scikit_learn(change, tmp_path, monkeypatch):
    (tmp_path / "iris.csv").write_text(change((bundled.data_folder() / "iris.csv").read_text()))
    monkeypatch.setattr(bundled, "data_folder", lambda: tmp_path)
    assert read_bundled("iris") is None
    assert same_array(load_dataset(DataConfig(source="iris"), seed=0).x, datasets.load_iris().data)


def test_a_missing_file_falls_back_to_scikit_learn(tmp_path, monkeypatch):
    monkeypatch.setattr(bundled, "data_folder", lambda: tmp_path)
    assert read_bundled("digits") is None
    assert load_dataset(DataConfig(source="digits"), seed=0).x.shape == (1797, 64)


NO_SKLEARN = """
import sys
from pathlib import Path
import numpy as np
from nnlearn.config.schema import DataConfig
from nnlearn.config.loading import load_config
from nnlearn.data.dataset import load_dataset, split_dataset
from nnlearn.model.prepare import prepare

for name in ["cnn_digits", "iris_softmax", "logistic_regression", "exam_scores", "shapes_cnn"]:
    path = Path("configs") / f"{name}.yaml"
    prepare(load_config(path), path.parent)
npz = Path(sys.argv[1]) / "data.npz"
np.savez(npz, x=np.arange(40.0).reshape(20, 2), y=np.arange(20) % 2)
for source in ["wine", str(npz)]:
    split_dataset(load_dataset(DataConfig(source=source), 0), DataConfig(source=source), 0, True)
imported = sorted(module for module in sys.modules if module.split(".")[0] in ("sklearn", "scipy"))
assert not imported, f"imported {len(imported)} modules: {imported[:5]}"
"""


def test_loading_and_splitting_never_import_scikit_learn(tmp_path):
    subprocess.run([sys.executable, "-c", NO_SKLEARN, str(tmp_path)], check=True, cwd=ROOT)
