"""Data bigger than memory: a CSV of numbers read from disk a block at a time, never held whole.

When data.stream applies (`streamed`), `prepare_streamed` keeps in memory only the target column and one
byte per row naming its split. The features are read again, one block of pyarrow's CSV reader at a time:
once for the normalising statistics (of the training rows), once per epoch for the batches, once per
epoch for the validation metrics, and once for the final metrics of all three splits (each row belongs to
one split). The loss before training, a sanity check, is measured on the first INITIAL_LOSS_ROWS training
rows only. TensorFlow is imported only by the functions that train or evaluate.

How a streamed run differs from one whose data is held in memory:
- the split is seeded but not stratified: each split's share of a class is not kept exactly, because a
  row's split is decided before any pass over the file;
- each epoch's order is a seeded shuffle (of seed and epoch) within windows of about WINDOW_BYTES of
  training rows, not of all rows: rows far apart in the file never share a batch, so a file sorted by its
  target should be shuffled once first;
- `eval`, `inspect`, `predict` and the pictures rebuild the split from the file; what needs a split's
  features at once (the pictures of the inside, `inspect`, `--mistakes`) reads that split into memory.
Same config, seed and file give the same run, and a resumed run continues from its last complete epoch
exactly as an uninterrupted one would.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from nnlearn.config.schema import Config
from nnlearn.data.dataset import (
    COPIES_IN_MEMORY,
    NUMBERS_CSV_BYTES,
    Dataset,
    Normalizer,
    Split,
    Splits,
    arrow_reason,
    check_fits_in_memory,
    check_target,
    feature_columns,
    fills_missing_cells,
    path_exists,
    read_header,
    split_sizes,
    with_target,
)
from nnlearn.data.sources import Source
from nnlearn.data.tabular import MISSING_MARKERS
from nnlearn.errors import DataError
from nnlearn.files import UnreadableFile, available_memory, check_regular_file, count_lines, sha256_of_file

# auto streams when x, its split copies and its normalised copies would take more than this share of
# the memory free when the run starts
STREAM_MEMORY_FRACTION = 0.25
BLOCK_BYTES = 1 << 20  # CSV bytes parsed at a time
WINDOW_BYTES = 32 * 1024**2  # training rows (as float32 features) shuffled together in an epoch
EVAL_CHUNK_BATCHES = 64  # evaluation batches handed to TensorFlow in one call (one call per batch costs more)
TRAIN, VALIDATION, TEST = 0, 1, 2
SPLIT_CODES = {"train": TRAIN, "validation": VALIDATION, "test": TEST}


def streamed(config: Config, source: Source) -> bool:
    """Whether this config's data is read from disk a block at a time (data.stream; auto: when holding it
    would take more than STREAM_MEMORY_FRACTION of the free memory). Raises DataError for data.stream:
    true on data that cannot stream."""
    data, setting = config.data, config.data.stream
    if setting is False:
        return False
    path = source.path
    if source.kind != "csv":
        if setting is True:
            raise DataError(f"data.stream: true reads a CSV file from disk; data.source {data.source!r} is not "
                            "a CSV file.", path="data.stream", hint="remove data.stream (auto), or set it to false.")
        return False
    if setting == "auto":
        try:
            size = check_regular_file(path).st_size if path_exists(path, "data.source") else 0
            if size < NUMBERS_CSV_BYTES:
                return False
            header = read_header(path)
            needed = count_lines(path) * max(len(header or []) - 1, 1) * 4 * COPIES_IN_MEMORY
        except UnreadableFile:
            return False  # the in-memory reader says why
        free = available_memory()
        if free is None or needed <= STREAM_MEMORY_FRACTION * free:
            return False
    if config.fit.distribute != "none":
        raise DataError(f"streamed data (data.stream: {setting}) trains on one device; fit.distribute is "
                        f"{config.fit.distribute}.", path="data.stream",
                        hint="set fit.distribute: none, or data.stream: false for data that fits in memory.")
    return True


@dataclass
class Stream:
    """A CSV of numbers on disk: its feature columns, read a block at a time, and each row's split."""

    path: Path
    header: list[str]
    features: list[str]
    split: np.ndarray  # uint8 per data row: TRAIN, VALIDATION or TEST
    # after the first complete pass: the float32 features on disk, and the rows of each block
    _cache: object = field(default=None, init=False, repr=False, compare=False)
    _block_rows: list[int] = field(default_factory=list, init=False, repr=False, compare=False)
    _sha256: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def rows(self) -> int:
        return len(self.split)

    def blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, features as float32 (rows, features)) of each block, in file order. Every cell is
        checked: a cell that is not a finite number, or a row of another length, is a DataError.

        The first complete pass also writes the float32 features to an unnamed temporary file (freed when
        the process ends, however it ends); later passes read that, with the same blocks, instead of
        parsing the CSV again."""
        if self._cache is not None:
            yield from self._cached_blocks()
            return
        writer = _temporary_file()
        sizes = []
        for start, x in self._parsed_blocks():
            if writer is not None:
                try:
                    writer.write(x.tobytes())
                except OSError:  # a full disk: this pass and the next ones parse the CSV
                    writer = None
            sizes.append(len(x))
            yield start, x
        if writer is not None:
            writer.flush()
            self._cache, self._block_rows = writer, sizes

    def _cached_blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        start, offset, width = 0, 0, 4 * len(self.features)
        for count in self._block_rows:
            data = os.pread(self._cache.fileno(), count * width, offset)
            yield start, np.frombuffer(data, dtype=np.float32).reshape(count, len(self.features))
            start, offset = start + count, offset + count * width

    def _parsed_blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        import pyarrow as pa
        from pyarrow import csv as arrow_csv

        convert = arrow_csv.ConvertOptions(column_types={name: pa.float64() for name in self.features},
                                           include_columns=self.features, null_values=[],
                                           strings_can_be_null=False, quoted_strings_can_be_null=False)
        read = arrow_csv.ReadOptions(column_names=self.header, skip_rows=1, block_size=BLOCK_BYTES)
        done = 0
        try:
            with arrow_csv.open_csv(self.path, read_options=read, convert_options=convert) as reader:
                for batch in reader:
                    x = np.empty((batch.num_rows, len(self.features)), dtype=np.float32)
                    for index in range(len(self.features)):
                        x[:, index] = batch.column(index).to_numpy()
                    _check_finite(x, done, self.features, self.path.name)
                    if done + len(x) > self.rows:
                        break
                    yield done, x
                    done += len(x)
        except (pa.ArrowException, OSError, ValueError) as error:
            raise _unreadable(self.path.name, arrow_reason(str(error), self.features)) from None
        if done != self.rows:
            raise DataError(f"{self.path.name} changed while it was being read: it held {self.rows:,} data rows "
                            "when the run started.", path="data.source",
                            hint="leave the data file alone while a run reads it, or start a new run.")

    def read(self, rows: np.ndarray) -> np.ndarray:
        """The features of the given rows (ascending), in memory: for what needs a whole split at once."""
        check_fits_in_memory(len(rows) * len(self.features) * 4 * COPIES_IN_MEMORY,
                             f"{len(rows):,} rows of {self.path.name}", "data.stream",
                             "train with --no-plots, or use fewer rows.",
                             why="one split of streamed data, read into memory for a picture or an inspection")
        x = np.empty((len(rows), len(self.features)), dtype=np.float32)
        filled = 0
        for start, block in self.blocks():
            wanted = rows[filled:np.searchsorted(rows, start + len(block))]
            x[filled:filled + len(wanted)] = block[wanted - start]
            filled += len(wanted)
        return x

    def sha256(self) -> str:
        """The file's sha256, read once however often it is asked for."""
        if self._sha256 is None:
            self._sha256 = sha256_of_file(self.path)
        return self._sha256


def _temporary_file():
    """An unnamed file on disk (deleted by the system when closed or when the process dies), or None."""
    import tempfile

    try:
        return tempfile.TemporaryFile(prefix="nnlearn-stream-")
    except OSError:
        return None


def _unreadable(name: str, reason: str) -> DataError:
    return DataError(f"{name}: {reason}.", path="data.source",
                     hint="streamed data must hold one finite number in every feature and target cell of "
                          "every row: fix or remove that row, or leave the column out (data.ignore).")


def _check_finite(x: np.ndarray, first_row: int, features: list[str], name: str) -> None:
    finite = np.isfinite(x)
    if not finite.all():
        row, column = (int(i) for i in np.argwhere(~finite)[0])
        raise _unreadable(name, f"data row {first_row + row + 1:,}, column {features[column]!r}: "
                                f"{x[row, column]} is not a finite number")


@dataclass
class StreamedDataset(Dataset):
    """A Dataset whose features stay on disk: y is in memory, x is read by `stream`."""

    stream: Stream | None = None

    @property
    def x(self) -> np.ndarray:
        return self.stream.read(np.arange(self.rows))

    def saved_state(self) -> dict:
        return {"streamed": True}

    def fingerprint(self) -> str:
        """sha256 of the file's bytes and of y (the features are never held)."""
        digest = hashlib.sha256(self.stream.sha256().encode("ascii"))
        digest.update(np.ascontiguousarray(self.y))
        return digest.hexdigest()


def split_of_rows(rows: int, config: Config) -> np.ndarray:
    """Each row's split, seeded and not stratified; the same sizes as an in-memory split."""
    _, n_validation, n_test = split_sizes(rows, config.data)
    order = np.random.default_rng(config.seed).permutation(rows)
    split = np.full(rows, TRAIN, dtype=np.uint8)
    split[order[:n_test]] = TEST
    split[order[n_test:n_test + n_validation]] = VALIDATION
    return split


def read_target(path: Path, header: list[str], target: str) -> np.ndarray:
    """The target column: float64 when every cell is a number, else its text. A missing target is an error."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv as arrow_csv

    convert = arrow_csv.ConvertOptions(column_types={target: pa.string()}, include_columns=[target],
                                       strings_can_be_null=False, quoted_strings_can_be_null=False)
    read = arrow_csv.ReadOptions(column_names=header, skip_rows=1, block_size=BLOCK_BYTES)
    try:
        with arrow_csv.open_csv(path, read_options=read, convert_options=convert) as reader:
            cells = pc.utf8_trim_whitespace(pa.chunked_array([batch.column(0) for batch in reader], pa.string()))
    except (pa.ArrowException, OSError, ValueError) as error:
        raise _unreadable(path.name, arrow_reason(str(error), [target])) from None
    if len(cells) == 0:
        raise DataError(f"{path.name} has no data rows.", path="data.source",
                        hint="the first line names the columns; each later line is one example.")
    missing = pc.is_in(cells, value_set=pa.array(sorted(MISSING_MARKERS)))
    if pc.any(missing).as_py():
        row = int(pc.index(missing, True).as_py())
        raise DataError(f"{path.name} data row {row + 1:,}: the target {target!r} is missing "
                        f"({cells[row].as_py()!r}).", path="data.target",
                        hint="streamed data must have every target: drop those rows first, or read the file in "
                             "memory (data.stream: false) with data.columns.<target>.missing: drop.")
    try:
        return pc.cast(cells, pa.float64()).to_numpy()
    except pa.ArrowException:
        return np.asarray(cells.to_pylist(), dtype=object)


def streamed_dataset(config: Config, source: Source) -> tuple["StreamedDataset", Splits]:
    """The dataset of a streamed CSV: the target and each row's split in memory, the features left on disk;
    and its splits, whose features are read when asked for."""
    data, path = config.data, source.path
    if not path_exists(path, "data.source"):
        raise DataError(f"the data file {data.source!r} does not exist (looked for {path}).", path="data.source",
                        hint="check the path; it is read relative to the config's folder, then to the current "
                             "folder.")
    try:
        check_regular_file(path)
    except UnreadableFile as error:
        raise DataError(error.message, path="data.source", hint=error.hint) from None
    header = read_header(path)
    if header is None:
        raise DataError(f"the first line of {path.name} is not a plain header: streamed data needs the column "
                        "names unquoted, once each, in UTF-8.", path="data.source",
                        hint="rename the columns, or read the file in memory: data.stream: false.")
    check_target(header, data.target)
    features = feature_columns(data, header, path.name)
    text = [name for name, column in data.columns.items() if column.text == "one_hot"]
    if fills_missing_cells(data, features) or text or data.text == "one_hot":
        raise DataError("streamed data is read as numbers only: filling missing cells (missing: mean, median, "
                        "most_frequent) and one_hot text need the whole training split in memory.",
                        path="data.stream", hint="set data.stream: false, or fill and encode the file first.")
    labels = read_target(path, header, data.target)
    dataset = with_target(features, None, labels)
    if dataset.kind == "continuous" and not np.isfinite(dataset.y).all():
        row = int(np.argmin(np.isfinite(dataset.y)))
        raise DataError(f"{path.name} data row {row + 1:,}: the target {data.target!r} is {dataset.y[row]}.",
                        path="data.target", hint="drop the rows whose target is missing.")
    stream = Stream(path, header, features, split_of_rows(len(dataset.y), config))
    dataset = StreamedDataset(None, dataset.y, features, dataset.kind, dataset.class_names, stream=stream)

    def split(name: str) -> Split | None:
        rows = np.flatnonzero(stream.split == SPLIT_CODES[name])
        return Split(None, dataset.y[rows], lambda: stream.read(rows)) if len(rows) else None

    return dataset, Splits(split("train"), split("validation"), split("test"))


def release_parsing_memory() -> None:
    """Hand back what pyarrow's memory pool kept from parsing (tens of MB it would hold through training)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def training_statistics(stream: Stream) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(rows, mean, sum of squared deviations, min, max) of the training rows' features, in float64, in one
    pass (blocks merged as Chan et al.); reading every block also checks every cell of the file."""
    features = len(stream.features)
    count, mean, squares = 0, np.zeros(features), np.zeros(features)
    low, high = np.full(features, np.inf), np.full(features, -np.inf)
    for start, x in stream.blocks():
        x = x[stream.split[start:start + len(x)] == TRAIN]
        if not len(x):
            continue
        block_mean = np.add.reduce(x, axis=0, dtype=np.float64) / len(x)
        block_squares = np.add.reduce(np.square(x - block_mean), axis=0)
        total = count + len(x)
        delta = block_mean - mean
        mean = mean + delta * len(x) / total
        squares = squares + block_squares + np.square(delta) * count * len(x) / total
        count = total
        low, high = np.minimum(low, x.min(axis=0)), np.maximum(high, x.max(axis=0))
    return count, mean, squares, low, high


def fit_normalizer(method: str, stream: Stream) -> Normalizer:
    """The normaliser of the training rows, from one streaming pass."""
    count, mean, squares, low, high = training_statistics(stream)
    if method == "standard":
        offset, scale = mean, np.sqrt(squares / count)
    elif method == "minmax":
        offset, scale = low, high - low
    else:
        offset, scale = np.zeros(len(mean)), np.ones(len(mean))
    return Normalizer(method, offset, np.where(scale > 0, scale, 1.0))


def training_range(prepared) -> tuple[np.ndarray, np.ndarray]:
    """Each feature's smallest and largest value in the training rows, from one pass."""
    _, _, _, low, high = training_statistics(prepared.stream)
    return low, high


def window_rows(prepared) -> int:
    """Training rows shuffled together: WINDOW_BYTES of float32 features, and at least 4 batches."""
    return max(WINDOW_BYTES // (4 * len(prepared.stream.features)), 4 * prepared.config.fit.batch_size)


def model_input(prepared, x: np.ndarray) -> np.ndarray:
    return prepared.normalizer.apply(x).reshape((len(x),) + prepared.input_shape)


def epoch_batches(prepared, epoch: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The training batches of one epoch, normalised: a function of (seed, epoch) and the file only.

    Training rows are gathered in file order into windows of window_rows(); each window (with the rows
    left over from the one before) is shuffled with a generator seeded by (seed, epoch, window), and cut
    into batches. Every batch but the last is full, so an epoch has ceil(rows / batch_size) batches.
    """
    config = prepared.config
    seed = (config.seed, epoch) if config.fit.shuffle else None
    return _batches(prepared, TRAIN, config.fit.batch_size, window_rows(prepared), seed)


def split_batches(prepared, split_name: str, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One split's rows in file order, normalised, in batches of batch_size."""
    return _batches(prepared, SPLIT_CODES[split_name], batch_size, batch_size, None)


def _batches(prepared, code: int, batch_size: int, window: int, seed: tuple | None):
    stream = prepared.stream
    parts, rows_of_parts, held, number = [], [], 0, 0

    def cut(last: bool):
        nonlocal parts, rows_of_parts, held, number
        x, rows = np.concatenate(parts), np.concatenate(rows_of_parts)
        parts, rows_of_parts = [], []  # the window is held once, not twice, while its batches are made
        order = np.arange(len(rows))
        if seed is not None:
            order = np.random.default_rng([*seed, number]).permutation(len(rows))
        number += 1
        end = len(rows) if last else len(rows) // batch_size * batch_size
        for first in range(0, end, batch_size):
            batch = order[first:first + batch_size]  # gathered batch by batch: no shuffled copy of the window
            yield model_input(prepared, x[batch]), prepared.targets(prepared.dataset.y[rows[batch]])
        parts, rows_of_parts, held = [x[order[end:]]], [rows[order[end:]]], len(rows) - end

    for start, x in stream.blocks():
        keep = stream.split[start:start + len(x)] == code
        parts.append(x[keep])
        rows_of_parts.append(np.flatnonzero(keep) + start)
        held += int(keep.sum())
        if held >= window:
            yield from cut(last=False)
    if held:
        yield from cut(last=True)


def first_rows(prepared, split_name: str, count: int) -> np.ndarray:
    """The first count rows of a split, normalised, for a quick look at the model's outputs."""
    for x, _ in split_batches(prepared, split_name, count):
        return x
    return np.empty((0,) + prepared.input_shape, dtype=np.float32)


def chunks(prepared, codes: list[int], chunk_rows: int, limit: int | None = None):
    """(split code, x normalised, targets) of the given splits in one pass over the file: each split's rows
    in file order, in chunks of chunk_rows (its last one shorter). limit: only each split's first `limit`
    rows, and the reading stops once every split has them."""
    stream = prepared.stream
    parts = {code: [] for code in codes}  # (features, row numbers) read but not yet handed out
    held, taken = dict.fromkeys(codes, 0), dict.fromkeys(codes, 0)

    def cut(code: int, count: int):
        x, rows = (np.concatenate(part) for part in zip(*parts[code]))
        parts[code] = [(x[count:], rows[count:])]
        held[code] -= count
        return code, model_input(prepared, x[:count]), prepared.targets(prepared.dataset.y[rows[:count]])

    for start, x in stream.blocks():
        split = stream.split[start:start + len(x)]
        for code in codes:
            rows = np.flatnonzero(split == code)
            if limit is not None:
                rows = rows[:limit - taken[code]]
            if not len(rows):
                continue
            parts[code].append((x[rows], rows + start))
            held[code] += len(rows)
            taken[code] += len(rows)
            while held[code] >= chunk_rows:
                yield cut(code, chunk_rows)
        if limit is not None and all(count >= limit for count in taken.values()):
            break
    for code in codes:
        if held[code]:
            yield cut(code, held[code])
