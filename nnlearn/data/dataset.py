"""What x and y are: load a bundled, synthetic or file dataset, split it, and normalise it.

NumPy only: nothing here imports TensorFlow, and scikit-learn only to make a synthetic dataset or load
diabetes (the other bundled datasets are read from its files, see nnlearn/bundled.py).
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnlearn.config.schema import DataConfig
from nnlearn.data.bundled import read_bundled
from nnlearn.data.images import PIXEL_RANGE, ImageFolder, list_folder
from nnlearn.data.sources import Source, unknown_source
from nnlearn.data.splits import train_test_split
from nnlearn.data.tabular import (
    Column,
    Columns,
    Table,
    check_column_names,
    check_header_names,
    plan_columns,
    target_rows,
)
from nnlearn.errors import DataError
from nnlearn.files import UnreadableFile, available_memory, check_regular_file, count_lines, format_bytes, read_bounded

MAX_CLASSES = 1000
MAX_CSV_BYTES = 256 * 1024**2  # the row-by-row reader's limit; a CSV of numbers only has none
# from this size on, a CSV whose cells are all numbers is read by pyarrow's columnar reader, as float32
NUMBERS_CSV_BYTES = 16 * 1024**2
BLOCK_ROWS = 65_536  # rows normalised at a time: a float64 block, never a float64 copy of x
CSV_EXPANSION = 6  # bytes of memory per byte of CSV once parsed into rows of strings
# x as float64, its split copies and the normalised float32 copies the model reads
COPIES_IN_MEMORY = 3


@dataclass
class Dataset:
    """All rows of one dataset. x is (rows, features); image_shape says how to fold a row into an image,
    signal_shape into a sequence (steps, channels).

    y holds class indices 0..K-1 when the target is a class (class_names gives their names), 0/1
    columns for multi-label data, and float values for regression. An image folder's x is decoded the
    first time it is read (TensorFlow decodes it); columns holds a CSV's fitted fills and categories.
    """

    _x: np.ndarray | None
    y: np.ndarray
    feature_names: list[str]
    kind: str  # "classes", "multilabel" or "continuous"
    class_names: list[str] | None = None
    image_shape: tuple[int, ...] | None = None
    signal_shape: tuple[int, ...] | None = None
    columns: Columns | None = None
    images: ImageFolder | None = None

    @property
    def x(self) -> np.ndarray:
        if self._x is None:
            self._x = self.images.decode(np.arange(self.rows))
        return self._x

    @x.setter
    def x(self, value: np.ndarray) -> None:
        self._x = value

    @property
    def rows(self) -> int:
        return len(self.y)

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def n_classes(self) -> int:
        return len(self.class_names) if self.class_names else 0

    def saved_state(self) -> dict:
        """What preprocessing.json keeps of the source beyond the normaliser: a CSV's fitted columns, an
        image folder's size and colour."""
        state = {}
        if self.columns is not None:
            state["columns"] = self.columns.to_dict()
        if self.images is not None:
            state["images"] = {"image_size": list(self.images.image_size), "channels": self.images.channels}
        return state

    def fingerprint(self) -> str:
        """sha256 of the rows: the arrays, or an image folder's file names and bytes (no decoding)."""
        digest = hashlib.sha256()
        if self.images is not None:
            for path in self.images.files:
                digest.update(str(path.relative_to(self.images.folder)).encode("utf-8") + b"\0")
                digest.update(path.read_bytes())
        else:
            digest.update(np.ascontiguousarray(self.x))  # the array's bytes, without a copy
        digest.update(np.ascontiguousarray(self.y))
        return digest.hexdigest()


class Split:
    """The rows of one split; an image folder's are decoded the first time x is read."""

    def __init__(self, x: np.ndarray | None, y: np.ndarray, decode=None, rows: np.ndarray | None = None):
        self._x, self.y, self._decode = x, y, decode
        self.rows = rows  # each example's row in the whole dataset (an image folder's file), when known

    @property
    def x(self) -> np.ndarray:
        if self._x is None:
            self._x = self._decode()
        return self._x

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class Splits:
    train: Split
    validation: Split | None
    test: Split


def load_dataset(data: DataConfig, seed: int, config_dir: Path | None = None,
                 columns: Columns | None = None, source: Source | None = None) -> Dataset:
    """Load the dataset the config names (source: data.source already looked at). Raises DataError for a
    missing or unusable file.

    A CSV's fills and categories are fitted on the training split (the one split_dataset makes), unless
    columns gives those of a saved run.
    """
    source = source or Source.of(data.source, config_dir)
    if source.kind == "bundled":
        return _bundled(data.source)
    if source.kind == "synthetic":
        sized = data.source in ("blobs", "linear", "multilabel")  # the others always have 2 features
        columns = (data.n_features if sized else 2) + (data.n_labels if data.source == "multilabel" else 1)
        check_fits_in_memory(data.n_samples * columns * 8 * COPIES_IN_MEMORY,
                             f"data.source {data.source} with n_samples {data.n_samples:,}"
                             + (f" and n_features {data.n_features:,}" if sized else ""), "data.n_samples",
                             "lower n_samples or n_features." if sized else "lower n_samples.")
        return _synthetic(data, seed)
    path = source.path
    if source.kind == "images":
        images = list_folder(path, data.image_size, data.color)
        features = int(np.prod(images.image_shape))
        check_fits_in_memory(len(images.files) * features * 4 * COPIES_IN_MEMORY,
                             f"{len(images.files):,} images of {' x '.join(map(str, images.image_shape))}",
                             "data.image_size", "use a smaller data.image_size, or fewer images.",
                             why="the decoded pixels as float32, their split copies and the normalised copies")
        names = [f"pixel{i + 1}" for i in range(features)]
        return Dataset(None, images.labels, names, "classes", images.class_names, images.image_shape,
                       images=images)
    if source.kind == "other":
        raise unknown_source(data.source)
    if source.kind == "image":
        raise DataError(f"data.source {data.source!r} is one image; training reads a folder of images with one "
                        "sub-folder per class.", path="data.source",
                        hint=f"give the folder: {path.parent.parent.name or path.parent.name}/ holding "
                             "cat/1.png, dog/1.png, ...")
    if not path_exists(path, "data.source"):
        raise DataError(f"the data file {data.source!r} does not exist (looked for {path}).",
                        path="data.source", hint="check the path; it is read relative to the config's "
                                                 "folder, then to the current folder.")
    if source.kind == "csv":
        return _read_csv(path, data, seed, columns)  # its rows checked there, named by their file lines
    dataset = _read_npz(path)
    _check_finite(dataset, lambda row: f"{data.source} row {row + 1}", None)
    return dataset


def path_exists(path: Path, field: str) -> bool:
    """path.exists(), with a name too long or a loop of links as a DataError naming field."""
    try:
        return path.exists()
    except OSError as error:  # a name too long, a loop of links
        raise DataError(f"cannot use the path {str(path)!r:.120}: {error.strerror or error}.", path=field,
                        hint="give the path of an existing file.") from None


def check_fits_in_memory(needed: int, what: str, field: str, fix: str,
                         why: str = "the data and its copies while splitting and normalising") -> None:
    """Refuse, with the numbers, what would take more memory than the machine has free."""
    free = available_memory()
    if free is not None and needed > free:
        raise DataError(f"{what} needs about {format_bytes(needed)} of memory ({why}); this machine has "
                        f"{format_bytes(free)} free.", path=field, hint=fix)


def read_text_file(path: Path, field: str) -> str:
    """A CSV file's text: a regular file, at most MAX_CSV_BYTES, UTF-8. Raises DataError."""
    try:
        raw = read_bounded(path, MAX_CSV_BYTES, "use a smaller file, or save the arrays with np.savez as NPZ.")
    except UnreadableFile as error:
        raise DataError(error.message, path=field, hint=error.hint) from None
    # parsed, each cell becomes a Python string in a list: several times the file's size
    check_fits_in_memory(len(raw) * CSV_EXPANSION * COPIES_IN_MEMORY, path.name, field,
                         "use a smaller file, or save the arrays with np.savez as NPZ.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(f"{path.name} is not UTF-8 text (bad byte at offset {error.start}).", path=field,
                        hint="save the CSV as UTF-8.") from None


def read_npz_arrays(path: Path, field: str, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The named arrays of an NPZ file, checked to fit in memory first. Raises DataError."""
    try:
        check_regular_file(path)
    except UnreadableFile as error:
        raise DataError(error.message, path=field, hint=error.hint) from None
    fix = "save it with np.savez(path, x=features, y=targets) (object arrays are refused)."
    try:
        with zipfile.ZipFile(path) as archive:
            sizes = {info.filename.removesuffix(".npy"): info.file_size for info in archive.infolist()}
        missing = [name for name in names if name not in sizes]
        if missing:
            raise DataError(f"{path.name} holds the arrays {sorted(sizes) or 'none'}; it needs arrays "
                            f"named {' and '.join(names)}.", path=field, hint=fix)
        check_fits_in_memory(sum(sizes[name] for name in names) * COPIES_IN_MEMORY, path.name, field,
                             "use a smaller file.")
        with np.load(path, allow_pickle=False) as archive:
            return {name: np.asarray(archive[name]) for name in names}
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error,
            NotImplementedError, RuntimeError) as error:  # the last two: an odd compression or encryption
        raise DataError(f"cannot read {path.name} as NPZ: {_short(error)}", path=field, hint=fix) from None


def _short(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text if len(text) <= 200 else text[:200] + "..."


def check_features(x: np.ndarray, source: str, field: str) -> None:
    """x must be real numbers with at least one row, shaped (rows, features...)."""
    where = f"x in {source}"
    if x.ndim < 2:
        raise DataError(f"{where} has shape {x.shape}; expected (rows, features...), e.g. (100, 4).",
                        path=field, hint="one row per example: reshape it, e.g. x.reshape(-1, 1).")
    if len(x) == 0 or x[0].size == 0:
        raise DataError(f"{where} is empty (shape {x.shape}); expected at least one row and one feature.",
                        path=field, hint="save the arrays that hold your data.")
    if np.issubdtype(x.dtype, np.complexfloating) or not (np.issubdtype(x.dtype, np.integer)
                                                          or np.issubdtype(x.dtype, np.floating)):
        raise DataError(f"{where} holds {x.dtype} values (shape {x.shape}); expected real numbers "
                        "(integers or floats).", path=field,
                        hint="encode text or complex values as real numbers, e.g. x.astype(float).")


def _bundled(name: str) -> Dataset:
    bunch = read_bundled(name) or _sklearn_bundled(name)  # the files read directly, else sklearn's loader
    x = np.asarray(bunch.data, dtype=np.float64)
    feature_names = [str(n) for n in getattr(bunch, "feature_names", [f"x{i}" for i in range(x.shape[1])])]
    if name == "diabetes":
        return Dataset(x, np.asarray(bunch.target, dtype=np.float64), feature_names, "continuous")
    class_names = [str(n) for n in bunch.target_names]
    image_shape = (8, 8, 1) if name == "digits" else None
    return Dataset(x, np.asarray(bunch.target, dtype=np.int64), feature_names, "classes", class_names,
                   image_shape)


def _sklearn_bundled(name: str):
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")()


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
    elif data.source == "signals":
        return signals(n, _noise(data, 0.3), seed)
    elif data.source == "linear":
        x, y = datasets.make_regression(n, n_features=data.n_features, noise=_noise(data, 10.0),
                                        random_state=seed)
        return Dataset(x, y.astype(np.float64), [f"x{i + 1}" for i in range(x.shape[1])], "continuous")
    else:  # multilabel
        x, y = datasets.make_multilabel_classification(n, n_features=data.n_features,
                                                       n_classes=data.n_labels, random_state=seed)
        return Dataset(x.astype(np.float64), y.astype(np.int64),
                       [f"x{i + 1}" for i in range(x.shape[1])], "multilabel",
                       [f"label_{i}" for i in range(data.n_labels)])
    classes = sorted(set(int(label) for label in y))
    return Dataset(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.int64),
                   [f"x{i + 1}" for i in range(x.shape[1])], "classes", [str(c) for c in classes])


SIGNAL_STEPS = 64
SIGNAL_CLASSES = ["sine", "square", "sawtooth"]


def signals(rows: int, noise: float, seed: int) -> Dataset:
    """Noisy waves of 64 time steps: sine, square or sawtooth, each with its own frequency (1.5 to 4
    cycles), phase, amplitude and offset. What tells them apart is the shape of a few neighbouring steps,
    wherever they fall: the kind of pattern a conv1d filter finds."""
    rng = np.random.default_rng(seed)
    y = np.arange(rows) % len(SIGNAL_CLASSES)
    rng.shuffle(y)
    t = np.arange(SIGNAL_STEPS) / SIGNAL_STEPS
    cycles = rng.uniform(1.5, 4.0, (rows, 1))
    phase = rng.uniform(0, 1, (rows, 1))
    position = cycles * t[None, :] + phase  # in cycles
    waves = np.stack([np.sin(2 * np.pi * position),
                      np.sign(np.sin(2 * np.pi * position)),
                      2 * (position % 1.0) - 1])  # (classes, rows, steps)
    x = waves[y, np.arange(rows)] * rng.uniform(0.5, 1.5, (rows, 1)) + rng.uniform(-0.5, 0.5, (rows, 1))
    x += rng.normal(0, noise, x.shape)
    return Dataset(x, y.astype(np.int64), [f"t{i + 1}" for i in range(SIGNAL_STEPS)], "classes",
                   list(SIGNAL_CLASSES), signal_shape=(SIGNAL_STEPS, 1))


def _noise(data: DataConfig, default: float) -> float:
    return default if data.noise is None else data.noise


def read_table(path: Path, target: str | None, field: str = "data.source", typed: bool = False) -> Table:
    """A CSV's header and cells, with the target checked to be one of its columns, every column named once,
    and each row's file line (typed: the rows of `predict --row`, counted from 1). The cells are Python
    strings in object arrays: memory follows the file's size, whatever the length of its longest cell."""
    text = read_text_file(path, field)
    name = "typed" if typed else path.name
    rows, lines = [], []
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    try:
        for row in reader:
            if any(cell.strip() for cell in row):  # blank lines are skipped, but still counted
                rows.append(row)
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as error:
        raise DataError(f"{path.name} is not a readable CSV: {error} (line {reader.line_num}).", path=field,
                        hint="save it again as comma-separated values.") from None
    if len(rows) < 2:
        raise DataError(f"{path.name} has no data rows.", path=field,
                        hint="the first line names the columns; each later line is one example.")
    header = [cell.strip() for cell in rows[0]]
    check_header_names(header, path.name, field)
    if field == "data.source":
        check_target(header, target)
    body = rows[1:]
    for number, row in zip(lines[1:], body):
        if len(row) != len(header):
            raise DataError(f"{path.name} line {number} has {len(row)} cells; the header has {len(header)}.",
                            path=field, hint="every row needs one value per column.")
    cells = {}
    for index, column in enumerate(header):
        cells[column] = np.empty(len(body), dtype=object)
        cells[column][:] = [row[index].strip() for row in body]
    numbers = np.arange(1, len(body) + 1) if typed else np.asarray(lines[1:])
    return Table(name, header, cells, numbers, "row" if typed else "line")


def check_target(header: list[str], target: str | None) -> None:
    """data.target must name one of the CSV's columns."""
    if target is None:
        raise DataError(f"a CSV needs `data.target`: the column holding y. Columns: {', '.join(header)}.",
                        path="data.target", hint=f"e.g. target: {header[-1]}")
    if target not in header:
        guess = difflib.get_close_matches(target, header, n=1, cutoff=0.5)
        raise DataError(f"the CSV has no column {target!r}. Columns: {', '.join(header)}.",
                        path="data.target", hint=f"did you mean {guess[0]!r}?" if guess else
                        "use one of the column names above.")


def feature_columns(data: DataConfig, header: list[str], source: str) -> list[str]:
    """The CSV's columns that make x: all but the target and data.ignore's. Raises DataError when none."""
    check_column_names(data, header, source)
    features = [name for name in header if name != data.target and name not in data.ignore]
    if not features:
        raise DataError(f"{source} has no feature columns besides the target {data.target!r}.",
                        path="data.ignore" if data.ignore else "data.source",
                        hint="x needs at least one column.")
    return features


def fills_missing_cells(data: DataConfig, features: list[str]) -> bool:
    """Whether a feature column's missing cells are filled (mean, median, most_frequent): a fill is
    learnt from the training rows, so a reader of numbers only cannot apply it."""
    return Columns([Column(name, False, data.columns[name].missing if name in data.columns and
                           data.columns[name].missing else data.missing) for name in features]).changes_anything


def read_header(path: Path) -> list[str] | None:
    """A CSV's column names from its first line (spaces stripped), or None when that line is not plain:
    quoted or not UTF-8. Names given twice, or none, are refused (check_header_names)."""
    try:
        with open(path, "rb") as stream:
            first = stream.readline(1 << 20)
        line = first.decode("utf-8-sig").rstrip("\r\n")
    except (OSError, UnicodeDecodeError):
        return None
    header = [name.strip() for name in line.split(",")]
    if '"' in line or not line.strip():
        return None
    check_header_names(header, path.name, "data.source")
    return header


def read_numbers(path: Path, header: list[str], features: list[str],
                 target: str) -> tuple[np.ndarray, np.ndarray] | str:
    """x (float32, one column per feature) and y (float64) of a CSV whose cells in those columns are all
    finite numbers, read in blocks by pyarrow's columnar reader: no Python object per cell, and x is
    float32 from the start. Returns why not instead (a cell that is not a number, a row with another
    number of cells), for the row-by-row reader to name the line.

    Each value is parsed as float64 (as the row-by-row reader does) before x keeps it as float32.
    """
    import pyarrow as pa
    from pyarrow import csv as arrow_csv

    rows = count_lines(path)  # an upper bound on the data rows, so x is allocated once
    check_fits_in_memory(rows * len(features) * 4 * COPIES_IN_MEMORY, f"{path.name} ({rows:,} rows)",
                         "data.source", "use a smaller file, or fewer columns (data.ignore).",
                         why="x as float32, its split copies and the normalised copies the model reads")
    x = np.empty((rows, len(features)), dtype=np.float32)
    y = np.empty(rows, dtype=np.float64)
    wanted = features + [target]
    convert = arrow_csv.ConvertOptions(column_types={name: pa.float64() for name in wanted},
                                       include_columns=wanted, null_values=[], strings_can_be_null=False,
                                       quoted_strings_can_be_null=False)
    # 1 MiB blocks: larger ones are read ahead and kept by the allocator, at no gain in speed
    read = arrow_csv.ReadOptions(column_names=header, skip_rows=1, block_size=1 << 20)
    done = 0
    try:
        with arrow_csv.open_csv(path, read_options=read, convert_options=convert) as reader:
            for batch in reader:
                count = batch.num_rows
                if done + count > rows:
                    return "more rows than lines"
                for index, name in enumerate(wanted):
                    values = batch.column(index).to_numpy()
                    if not np.isfinite(values).all():
                        row = done + int(np.argmin(np.isfinite(values)))
                        return f"data row {row + 1:,}, column {name!r}: {values[row - done]} is not a finite number"
                    if name == target:
                        y[done:done + count] = values
                    else:
                        x[done:done + count, index] = values
                done += count
    except (pa.ArrowException, OSError, ValueError) as error:
        return arrow_reason(str(error), wanted)
    if not done:
        return "no data rows"
    return x[:done], y[:done]


def arrow_reason(message: str, wanted: list[str]) -> str:
    """pyarrow's error in the CSV's terms: `In CSV column #3: ...` names the column."""
    first = message.splitlines()[0] if message else "unreadable"
    if first.startswith("In CSV column #"):
        number, _, rest = first.removeprefix("In CSV column #").partition(": ")
        if number.isdigit() and int(number) < len(wanted):
            first = f"column {wanted[int(number)]!r}: {rest}"
    return first if len(first) <= 200 else first[:200] + "..."


def _read_numbers_csv(path: Path, data: DataConfig, columns: Columns | None) -> Dataset | None:
    """A big CSV of numbers only, read by columns; None when the row-by-row reader is needed (a cell to
    fill, drop or one-hot encode, a saved run's fitted columns, a header it cannot read plainly)."""
    header = read_header(path)
    if header is None or columns is not None:
        return None
    check_target(header, data.target)
    features = feature_columns(data, header, path.name)
    if fills_missing_cells(data, features):
        return None
    arrays = read_numbers(path, header, features, data.target)
    if isinstance(arrays, str):
        if path.stat().st_size <= MAX_CSV_BYTES:
            return None  # the row-by-row reader names the line and the fix
        raise DataError(f"{path.name}: {arrays}.", path="data.source",
                        hint=f"a CSV over {format_bytes(MAX_CSV_BYTES)} is read only when every cell of its feature "
                             "and target columns is a number: fill in or drop the other rows first, or save "
                             "the arrays with np.savez as NPZ.")
    x, y = arrays
    return with_target(features, x, y)


def _read_csv(path: Path, data: DataConfig, seed: int, columns: Columns | None) -> Dataset:
    """Features and target of a CSV: rows with a missing cell dropped where the config says so, text
    one-hot encoded and missing cells filled with what the training split (or a saved run) gives.

    A CSV of NUMBERS_CSV_BYTES or more whose cells are all numbers is read by columns (read_numbers)."""
    try:
        size = check_regular_file(path).st_size
        dataset = _read_numbers_csv(path, data, columns) if size >= NUMBERS_CSV_BYTES else None
    except UnreadableFile as error:
        raise DataError(error.message, path="data.source", hint=error.hint) from None
    if dataset is not None:
        return dataset
    table = read_table(path, data.target)
    features = feature_columns(data, table.header, path.name)
    plans, keep = plan_columns(data, table, features)
    keep &= target_rows(data, table)
    if not keep.any():
        raise DataError(f"{path.name}: every row has a missing value in a column set to missing: drop.",
                        path="data.missing", hint="fill in the cells, or fill them with mean, median or "
                                                  "most_frequent instead of dropping the rows.")
    table = table.take(np.flatnonzero(keep))
    dataset = with_target(features, np.empty((len(table), 0)), table.cells[data.target])
    if columns is None:
        columns = Columns(plans)
        if Columns(plans).changes_anything:  # fills and categories come from the training rows only
            train, _, _ = split_indices(dataset, data, seed, stratify=dataset.kind == "classes")
            columns = Columns.fit(plans, table.take(train))
    check_fits_in_memory(len(table) * len(columns.feature_names) * 8 * COPIES_IN_MEMORY,
                         f"{path.name} ({len(table):,} rows, {len(columns.feature_names):,} features once encoded)",
                         "data.source", "leave out columns (data.ignore), or one-hot fewer text columns.",
                         why="x as float64 once text is one-hot encoded, its split copies and the normalised copies")
    dataset.x = columns.transform(table)
    dataset.feature_names = columns.feature_names
    _check_finite(dataset, lambda row: table.at(table.lines[row]), data.target)
    dataset.columns = columns if columns.changes_anything else None
    return dataset


def _check_finite(dataset: Dataset, place: Callable[[int], str], target: str | None) -> None:
    """An infinite or NaN number, named by where it is: place(row) gives a CSV's file line or an array's row."""
    bad = ~np.isfinite(dataset.x)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        raise DataError(f"{place(row)}: feature {dataset.feature_names[column]!r} is {dataset.x[row, column]} "
                        f"({int(bad.sum())} such values).", path="data.source",
                        hint="fill in or drop the rows with missing values before training.")
    if dataset.kind == "continuous":
        bad_rows = ~np.isfinite(dataset.y.reshape(len(dataset.y), -1)).all(axis=1)
        if bad_rows.any():
            row = int(np.flatnonzero(bad_rows)[0])
            value = dataset.y[row] if dataset.y.ndim == 1 else "not a finite number"
            raise DataError(f"{place(row)}: the target{f' {target!r}' if target else ''} is {value}.",
                            path="data.target", hint="drop the rows whose target is missing or infinite.")


def _read_npz(path: Path) -> Dataset:
    arrays = read_npz_arrays(path, "data.source", ("x", "y"))
    x, y = arrays["x"], arrays["y"]
    check_features(x, path.name, "data.source")
    _check_targets(y, len(x), path.name)
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
        dataset = with_target(names, flat, y.reshape(-1))
    dataset.image_shape = image_shape
    if x.ndim == 3:  # (rows, steps, channels) is a signal to conv1d; (rows, height, width) an image to conv2d
        dataset.signal_shape = x.shape[1:]
    return dataset


def _check_targets(y: np.ndarray, rows: int, source: str) -> None:
    """y: one value per row (rows,) or (rows, 1), or numeric labels (rows, labels)."""
    where = f"y in {source}"
    numeric = np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating) or y.dtype == bool
    text = y.dtype.kind in "US"
    if y.ndim == 0 or y.ndim > 2:
        raise DataError(f"{where} has shape {y.shape}; expected (rows,) with one target per row, or "
                        "(rows, labels) for multi-label data.", path="data.source",
                        hint="save y as a vector, e.g. y.reshape(-1), or one 0/1 column per label.")
    if len(y) != rows:
        raise DataError(f"x in {source} has {rows} rows but y has {len(y)}.", path="data.source",
                        hint="x and y need one row per example.")
    if not numeric and not text:
        raise DataError(f"{where} holds {y.dtype} values (shape {y.shape}); expected numbers or text "
                        "labels.", path="data.source", hint="save y as numbers (classes or values) or strings.")
    if text and y.ndim == 2 and y.shape[1] > 1:
        raise DataError(f"{where} holds text in {y.shape[1]} columns (shape {y.shape}); text labels must be "
                        "one column.", path="data.source",
                        hint="one class name per row, y.shape == (rows,); multi-label y uses 0/1 columns.")
    if y.ndim == 2 and y.shape[1] == 0:
        raise DataError(f"{where} has no columns (shape {y.shape}).", path="data.source",
                        hint="save one target per row.")


def with_target(feature_names: list[str], x: np.ndarray, labels: np.ndarray) -> Dataset:
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
    if labels.dtype.kind in "fiu":
        return labels.astype(np.float64)
    try:
        return np.asarray([float(value) for value in labels], dtype=np.float64)
    except (TypeError, ValueError):
        return None


def split_sizes(rows: int, data: DataConfig, needed: int = 2) -> tuple[int, int, int]:
    """(train, validation, test) row counts of data's split fractions; DataError when fewer than needed
    rows would be left to train on."""
    n_test = max(1, round(rows * data.test_split))
    n_validation = round(rows * data.validation_split)
    if data.validation_split > 0:
        n_validation = max(1, n_validation)
    n_train = rows - n_test - n_validation
    if n_train < needed:
        held_out = f"{n_test} for testing" + (f" and {n_validation} for validation" if n_validation else "")
        least = needed + n_test + n_validation
        raise DataError(f"the data has {rows} row{'s' if rows != 1 else ''}; holding out {held_out} "
                        f"(test_split={data.test_split}, validation_split={data.validation_split}) would "
                        f"leave {max(n_train, 0)} to train on, and at least {needed} are needed.", path="data",
                        hint=f"use more data (at least {least} rows), or smaller splits.")
    return n_train, n_validation, n_test


def split_indices(dataset: Dataset, data: DataConfig, seed: int,
                  stratify: bool) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Seeded train / validation / test row indices; stratified by class for classifiers. The same rows as
    scikit-learn's train_test_split, without importing it (see nnlearn/splits.py)."""
    rows = dataset.rows
    _, n_validation, n_test = split_sizes(rows, data, needed=max(2, dataset.n_classes if stratify else 1))
    labels = dataset.y if stratify and dataset.kind == "classes" else None
    indices = np.arange(rows)
    try:
        rest, test = train_test_split(indices, n_test, seed, labels)
        validation = None
        if n_validation:
            rest, validation = train_test_split(rest, n_validation, seed,
                                                labels[rest] if labels is not None else None)
    except ValueError as error:
        raise DataError(f"cannot split the data: {error}", path="data",
                        hint="every class needs a few rows in each split: use more data or "
                             "smaller splits.") from None
    return rest, validation, test


def split_dataset(dataset: Dataset, data: DataConfig, seed: int, stratify: bool) -> Splits:
    """Seeded train / validation / test split; stratified by class for classifiers."""
    rest, validation, test = split_indices(dataset, data, seed, stratify)

    def take(rows_index):
        if dataset.images is not None and dataset._x is None:  # decoded when the split is first read
            return Split(None, dataset.y[rows_index], lambda: dataset.images.decode(rows_index), rows_index)
        return Split(dataset.x[rows_index], dataset.y[rows_index], rows=rows_index)

    return Splits(take(rest), take(validation) if validation is not None else None, take(test))


@dataclass
class Normalizer:
    """x -> (x - offset) / scale, with offset and scale fitted on the training split only."""

    method: str
    offset: np.ndarray
    scale: np.ndarray

    @classmethod
    def for_pixels(cls, method: str, features: int) -> "Normalizer":
        """Image folders: pixels divided by their range 0..255 (none: left as they are), known without
        decoding a single image."""
        scale = 1.0 if method == "none" else PIXEL_RANGE
        return cls(method, np.zeros(features), np.full(features, scale))

    @classmethod
    def fit(cls, method: str, x_train: np.ndarray) -> "Normalizer":
        """Offset and scale in float64, summed over blocks of BLOCK_ROWS rows: a float32 x (a big CSV)
        is never copied whole as float64. Up to BLOCK_ROWS rows, the same numbers as x.mean and x.std."""
        features = x_train.shape[1]
        blocks = [x_train[start:start + BLOCK_ROWS] for start in range(0, len(x_train), BLOCK_ROWS)]
        if method == "standard":
            offset = sum(np.add.reduce(block, axis=0, dtype=np.float64) for block in blocks) / len(x_train)
            squares = sum(np.add.reduce(np.square(block - offset), axis=0) for block in blocks)
            scale = np.sqrt(squares / len(x_train))
        elif method == "minmax":
            offset, scale = x_train.min(axis=0).astype(np.float64), x_train.max(axis=0).astype(np.float64)
            scale = scale - offset
        else:
            offset, scale = np.zeros(features), np.ones(features)
        scale = np.where(scale > 0, scale, 1.0)  # a constant feature stays constant
        return cls(method, offset, scale)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """(x - offset) / scale as float32, computed in float64 a block of rows at a time."""
        x = np.asarray(x)
        out = np.empty(x.shape, dtype=np.float32)
        for start in range(0, len(x), BLOCK_ROWS):
            out[start:start + BLOCK_ROWS] = (x[start:start + BLOCK_ROWS] - self.offset) / self.scale
        return out

    def to_dict(self) -> dict:
        return {"method": self.method, "offset": [float(v) for v in self.offset],
                "scale": [float(v) for v in self.scale]}

    @classmethod
    def from_dict(cls, state: dict) -> "Normalizer":
        return cls(state["method"], np.asarray(state["offset"], dtype=np.float64),
                   np.asarray(state["scale"], dtype=np.float64))
