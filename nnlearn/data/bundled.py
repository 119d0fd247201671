"""The datasets scikit-learn ships (digits, iris, wine, breast_cancer), read from its data files without
importing it: the import costs most of a second, reading a file a few milliseconds.

Parsed as sklearn/datasets/_base.py parses them (load_csv_data, load_digits), so x and y are the same to the
bit; the feature names its loaders hard-code are copied here. Anything unexpected about a file (missing,
another shape) returns None, and the caller asks scikit-learn's own loader instead.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
from pathlib import Path
from typing import NamedTuple

import numpy as np


class Bundled(NamedTuple):
    """What a scikit-learn Bunch holds that a run needs, under the Bunch's names."""

    data: np.ndarray
    target: np.ndarray
    feature_names: list[str]
    target_names: list[str]


FEATURE_NAMES = {
    "iris": ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"],
    "wine": ["alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols", "flavanoids",
             "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue", "od280/od315_of_diluted_wines",
             "proline"],
    "breast_cancer": [
        "mean radius", "mean texture", "mean perimeter", "mean area", "mean smoothness", "mean compactness",
        "mean concavity", "mean concave points", "mean symmetry", "mean fractal dimension",
        "radius error", "texture error", "perimeter error", "area error", "smoothness error",
        "compactness error", "concavity error", "concave points error", "symmetry error",
        "fractal dimension error",
        "worst radius", "worst texture", "worst perimeter", "worst area", "worst smoothness",
        "worst compactness", "worst concavity", "worst concave points", "worst symmetry",
        "worst fractal dimension"],
    "digits": [f"pixel_{row}_{column}" for row in range(8) for column in range(8)],
}
FILES = {"iris": "iris.csv", "wine": "wine_data.csv", "breast_cancer": "breast_cancer.csv",
         "digits": "digits.csv.gz"}
ROWS = {"iris": 150, "wine": 178, "breast_cancer": 569, "digits": 1797}


def read_bundled(name: str) -> Bundled | None:
    """The dataset as scikit-learn's load_<name>() returns it, or None if scikit-learn's file is not there
    or not as expected (or the dataset is not one of these four)."""
    folder = data_folder()
    if name not in FILES or folder is None:
        return None
    try:
        if name == "digits":
            found = _read_digits(folder / FILES[name])
        else:
            found = _read_csv(folder / FILES[name])
    except (OSError, EOFError, ValueError, IndexError, StopIteration, csv.Error):
        return None
    data, target, target_names = found
    if data.shape != (ROWS[name], len(FEATURE_NAMES[name])) or target.shape != (ROWS[name],):
        return None
    if target.min() < 0 or target.max() >= len(target_names):  # every class index names a class
        return None
    return Bundled(data, target, list(FEATURE_NAMES[name]), target_names)


def data_folder() -> Path | None:
    """sklearn/datasets/data, found without importing scikit-learn; None where it is not installed."""
    try:
        spec = importlib.util.find_spec("sklearn")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def _read_csv(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """load_csv_data: a header "rows,features,class names...", then features and a class index per row."""
    with path.open("r", encoding="utf-8") as file:
        reader = csv.reader(file)
        header = next(reader)
        n_samples, n_features = int(header[0]), int(header[1])
        rows = list(reader)
    if len(rows) != n_samples or any(len(row) != n_features + 1 for row in rows):
        raise ValueError(f"{path.name} is not {n_samples} rows of {n_features + 1} cells")
    data = np.asarray([row[:-1] for row in rows], dtype=np.float64)
    target = np.asarray([row[-1] for row in rows], dtype=int)
    return data, target, header[2:]


def _read_digits(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """load_digits: 64 pixels then the digit on each row; the class names are the digits."""
    with gzip.open(path, mode="rt", encoding="utf-8") as file:
        table = np.loadtxt(file, delimiter=",")
    if table.ndim != 2:
        raise ValueError(f"{path.name} is not a table")
    return table[:, :-1], table[:, -1].astype(int, copy=False), [str(digit) for digit in range(10)]
