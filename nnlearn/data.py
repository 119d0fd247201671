"""What x and y are: load a bundled, synthetic or file dataset, split it, and normalise it.

NumPy and scikit-learn only: nothing here imports TensorFlow.
"""

from __future__ import annotations

import csv
import difflib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnlearn.config import BUNDLED_DATASETS, SYNTHETIC_DATASETS, DataConfig
from nnlearn.errors import DataError

MAX_CLASSES = 1000


@dataclass
class Dataset:
    """All rows of one dataset. x is (rows, features); image_shape says how to fold a row into an image.

    y holds class indices 0..K-1 when the target is a class (class_names gives their names), 0/1
    columns for multi-label data, and float values for regression.
    """

    x: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    kind: str  # "classes", "multilabel" or "continuous"
    class_names: list[str] | None = None
    image_shape: tuple[int, ...] | None = None

    @property
    def n_classes(self) -> int:
        return len(self.class_names) if self.class_names else 0


@dataclass
class Split:
    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class Splits:
    train: Split
    validation: Split | None
    test: Split


def resolve_source(source: str, config_dir: Path | None) -> Path:
    """A file source relative to the config's folder if it exists there, else to the current folder."""
    path = Path(source).expanduser()
    if not path.is_absolute() and config_dir is not None and (config_dir / path).exists():
        return (config_dir / path).resolve()
    return path.resolve()


def is_file_source(source: str) -> bool:
    return source not in BUNDLED_DATASETS + SYNTHETIC_DATASETS


def load_dataset(data: DataConfig, seed: int, config_dir: Path | None = None) -> Dataset:
    """Load the dataset the config names. Raises DataError for a missing or unusable file."""
    if data.source in BUNDLED_DATASETS:
        return _bundled(data.source)
    if data.source in SYNTHETIC_DATASETS:
        return _synthetic(data, seed)
    path = resolve_source(data.source, config_dir)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".npz"):
        names = BUNDLED_DATASETS + SYNTHETIC_DATASETS
        guess = difflib.get_close_matches(data.source, names, n=1, cutoff=0.6)
        raise DataError(f"unknown data source {data.source!r}; expected one of {', '.join(names)}, or a "
                        "path to a .csv or .npz file.", path="data.source",
                        hint=f"did you mean {guess[0]!r}?" if guess else
                        "give a bundled or synthetic dataset's name, or a file path.")
    if not path.exists():
        raise DataError(f"the data file {data.source!r} does not exist (looked for {path}).",
                        path="data.source", hint="check the path; it is read relative to the config's "
                                                 "folder, then to the current folder.")
    dataset = _read_csv(path, data.target) if suffix == ".csv" else _read_npz(path, data.target)
    _check_finite(dataset, data.source)
    return dataset


def _bundled(name: str) -> Dataset:
    from sklearn import datasets

    loader = getattr(datasets, f"load_{name}")
    bunch = loader()
    x = np.asarray(bunch.data, dtype=np.float64)
    feature_names = [str(n) for n in getattr(bunch, "feature_names", [f"x{i}" for i in range(x.shape[1])])]
    if name == "diabetes":
        return Dataset(x, np.asarray(bunch.target, dtype=np.float64), feature_names, "continuous")
    class_names = [str(n) for n in bunch.target_names]
    image_shape = (8, 8, 1) if name == "digits" else None
    return Dataset(x, np.asarray(bunch.target, dtype=np.int64), feature_names, "classes", class_names,
                   image_shape)


def _synthetic(data: DataConfig, seed: int) -> Dataset:
    from sklearn import datasets

    n = data.n_samples
    rng = np.random.default_rng(seed)
    if data.source == "moons":
        x, y = datasets.make_moons(n, noise=_noise(data, 0.2), random_state=seed)
    elif data.source == "circles":
        x, y = datasets.make_circles(n, noise=_noise(data, 0.1), factor=0.5, random_state=seed)
    elif data.source == "blobs":
        x, y = datasets.make_blobs(n, n_features=data.n_features, centers=data.centers,
                                   cluster_std=_noise(data, 1.0), random_state=seed)
    elif data.source == "xor":
        corners = rng.uniform(-1, 1, size=(n, 2))
        y = ((corners[:, 0] > 0) != (corners[:, 1] > 0)).astype(np.int64)
        x = corners + rng.normal(0, _noise(data, 0.1), size=corners.shape)
    elif data.source == "linear":
        x, y = datasets.make_regression(n, n_features=data.n_features, noise=_noise(data, 10.0),
                                        random_state=seed)
        return Dataset(x, y.astype(np.float64), [f"x{i + 1}" for i in range(x.shape[1])], "continuous")
    else:  # multilabel
        x, y = datasets.make_multilabel_classification(n, n_features=data.n_features,
                                                       n_classes=data.centers, random_state=seed)
        return Dataset(x.astype(np.float64), y.astype(np.int64),
                       [f"x{i + 1}" for i in range(x.shape[1])], "multilabel",
                       [f"label_{i}" for i in range(data.centers)])
    classes = sorted(set(int(label) for label in y))
    return Dataset(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.int64),
                   [f"x{i + 1}" for i in range(x.shape[1])], "classes", [str(c) for c in classes])


def _noise(data: DataConfig, default: float) -> float:
    return default if data.noise is None else data.noise


def _read_csv(path: Path, target: str | None) -> Dataset:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError:
        raise DataError(f"{path.name} is not UTF-8 text.", path="data.source",
                        hint="save the CSV as UTF-8.") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if len(rows) < 2:
        raise DataError(f"{path.name} has no data rows.", path="data.source",
                        hint="the first line names the columns; each later line is one example.")
    header = [name.strip() for name in rows[0]]
    if target is None:
        raise DataError(f"a CSV needs `data.target`: the column holding y. Columns: {', '.join(header)}.",
                        path="data.target", hint=f"e.g. target: {header[-1]}")
    if target not in header:
        guess = difflib.get_close_matches(target, header, n=1, cutoff=0.5)
        raise DataError(f"the CSV has no column {target!r}. Columns: {', '.join(header)}.",
                        path="data.target", hint=f"did you mean {guess[0]!r}?" if guess else
                        "use one of the column names above.")
    target_index = header.index(target)
    body = rows[1:]
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DataError(f"{path.name} line {number} has {len(row)} cells; the header has {len(header)}.",
                            path="data.source", hint="every row needs one value per column.")
    features = [i for i in range(len(header)) if i != target_index]
    x = np.empty((len(body), len(features)), dtype=np.float64)
    for column, index in enumerate(features):
        for number, row in enumerate(body, start=2):
            try:
                x[number - 2, column] = float(row[index])
            except ValueError:
                raise DataError(f"{path.name} line {number}, column {header[index]!r}: {row[index]!r} is "
                                "not a number; features must be numeric.", path="data.source",
                                hint="encode text columns as numbers, or remove the column.") from None
    labels = [row[target_index].strip() for row in body]
    return _with_target([header[i] for i in features], x, np.asarray(labels, dtype=object))


def _read_npz(path: Path, target: str | None) -> Dataset:
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.keys())
            if "x" not in names or "y" not in names:
                raise DataError(f"{path.name} holds {names}; an NPZ needs arrays named x and y.",
                                path="data.source", hint="np.savez(path, x=features, y=targets)")
            x = np.asarray(archive["x"])
            y = np.asarray(archive["y"])
    except (ValueError, OSError) as error:
        raise DataError(f"cannot read {path.name} as NPZ: {error}", path="data.source",
                        hint="save it with np.savez (object arrays are refused).") from None
    if len(x) != len(y):
        raise DataError(f"x has {len(x)} rows but y has {len(y)}.", path="data.source",
                        hint="x and y need one row per example.")
    if x.ndim < 2 or not np.issubdtype(x.dtype, np.number):
        raise DataError(f"x must be a numeric array of shape (rows, features...); got {x.dtype} {x.shape}.",
                        path="data.source")
    image_shape = None
    if x.ndim == 3:
        image_shape = x.shape[1:] + (1,)
    elif x.ndim == 4:
        image_shape = x.shape[1:]
    flat = x.reshape(len(x), -1).astype(np.float64)
    names = [f"x{i + 1}" for i in range(flat.shape[1])]
    if y.ndim == 2 and y.shape[1] > 1:
        kind = "multilabel" if set(np.unique(y)) <= {0, 1} else "continuous"
        class_names = [f"label_{i}" for i in range(y.shape[1])] if kind == "multilabel" else None
        dataset = Dataset(flat, y.astype(np.int64 if kind == "multilabel" else np.float64), names, kind,
                          class_names)
    else:
        dataset = _with_target(names, flat, y.reshape(-1))
    dataset.image_shape = image_shape
    return dataset


def _with_target(feature_names: list[str], x: np.ndarray, labels: np.ndarray) -> Dataset:
    """Decide whether y holds classes (text or few whole numbers) or continuous values."""
    numeric = _as_numbers(labels)
    if numeric is not None:
        whole = bool(np.all(np.isfinite(numeric)) and np.all(numeric == np.round(numeric)))
        distinct = np.unique(numeric[np.isfinite(numeric)])
        if not whole or len(distinct) > min(MAX_CLASSES, max(20, len(numeric) // 5)):
            return Dataset(x, numeric, feature_names, "continuous")
        names = [str(int(value)) for value in distinct]
        return Dataset(x, np.searchsorted(distinct, numeric).astype(np.int64), feature_names, "classes",
                       names)
    text = labels.astype(str)
    distinct = sorted(set(text))
    return Dataset(x, np.searchsorted(np.asarray(distinct), text).astype(np.int64), feature_names,
                   "classes", distinct)


def _as_numbers(labels: np.ndarray) -> np.ndarray | None:
    try:
        return np.asarray([float(value) for value in labels], dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _check_finite(dataset: Dataset, source: str) -> None:
    bad = ~np.isfinite(dataset.x)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        raise DataError(f"{source}: row {row + 1}, feature {dataset.feature_names[column]!r} is "
                        f"{dataset.x[row, column]} ({int(bad.sum())} such values).", path="data.source",
                        hint="fill in or drop the rows with missing values before training.")
    if dataset.kind == "continuous" and not np.all(np.isfinite(dataset.y)):
        raise DataError(f"{source}: the target has NaN or infinite values.", path="data.target",
                        hint="drop the rows whose target is missing.")


def split_dataset(dataset: Dataset, data: DataConfig, seed: int, stratify: bool) -> Splits:
    """Seeded train / validation / test split; stratified by class for classifiers."""
    from sklearn.model_selection import train_test_split

    rows = len(dataset.x)
    n_test = max(1, round(rows * data.test_split))
    n_validation = round(rows * data.validation_split)
    if data.validation_split > 0:
        n_validation = max(1, n_validation)
    n_train = rows - n_test - n_validation
    needed = (dataset.n_classes if stratify else 1)
    if n_train < max(2, needed):
        raise DataError(f"{rows} rows leave {n_train} for training after test_split={data.test_split} "
                        f"and validation_split={data.validation_split}.", path="data",
                        hint="use more data or smaller splits.")
    labels = dataset.y if stratify and dataset.kind == "classes" else None
    indices = np.arange(rows)
    try:
        rest, test = train_test_split(indices, test_size=n_test, random_state=seed,
                                      stratify=labels)
        validation = None
        if n_validation:
            rest, validation = train_test_split(rest, test_size=n_validation, random_state=seed,
                                                stratify=labels[rest] if labels is not None else None)
    except ValueError as error:
        raise DataError(f"cannot split the data: {error}", path="data",
                        hint="every class needs a few rows in each split: use more data or "
                             "smaller splits.") from None

    def take(rows_index):
        return Split(dataset.x[rows_index], dataset.y[rows_index])

    return Splits(take(rest), take(validation) if validation is not None else None, take(test))


@dataclass
class Normalizer:
    """x -> (x - offset) / scale, with offset and scale fitted on the training split only."""

    method: str
    offset: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, method: str, x_train: np.ndarray) -> "Normalizer":
        features = x_train.shape[1]
        if method == "standard":
            offset, scale = x_train.mean(axis=0), x_train.std(axis=0)
        elif method == "minmax":
            offset, scale = x_train.min(axis=0), x_train.max(axis=0) - x_train.min(axis=0)
        else:
            offset, scale = np.zeros(features), np.ones(features)
        scale = np.where(scale > 0, scale, 1.0)  # a constant feature stays constant
        return cls(method, offset, scale)

    def apply(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.offset) / self.scale).astype(np.float32)

    def to_dict(self) -> dict:
        return {"method": self.method, "offset": [float(v) for v in self.offset],
                "scale": [float(v) for v in self.scale]}

    @classmethod
    def from_dict(cls, state: dict) -> "Normalizer":
        return cls(state["method"], np.asarray(state["offset"], dtype=np.float64),
                   np.asarray(state["scale"], dtype=np.float64))


def majority_share(y: np.ndarray) -> float:
    """Accuracy of always predicting the most common class: the no-learning baseline."""
    counts = np.bincount(y.astype(np.int64))
    return float(counts.max() / counts.sum()) if counts.size else math.nan
