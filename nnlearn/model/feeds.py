"""How a split's rows reach the model: held in memory, or read from disk a block at a time (data.stream).

Both feeds have the same methods, and prepare chooses one once (Prepared.feed): the code that trains,
measures, predicts, explains or ejects asks the feed, never which kind it is. Rows come normalised and
shaped for the model's input; targets as the loss expects them.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from nnlearn.data import streaming
from nnlearn.files import sha256_of_file

SPLIT_NAMES = ("train", "validation", "test")


class MemoryFeed:
    """Every split held in memory as arrays."""

    streamed = False

    def __init__(self, prepared):
        self.prepared = prepared

    def chunks(self, split_names, chunk_rows: int, limit: int | None = None
               ) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """(split name, x, y) of each named split in turn, in chunks of chunk_rows rows; limit: only each
        split's first `limit` rows."""
        for name in split_names:
            x, y = self.prepared.x(name)[:limit], self.prepared.y(name)[:limit]
            for first in range(0, len(x), chunk_rows):
                yield name, x[first:first + chunk_rows], y[first:first + chunk_rows]

    def first_rows(self, split_name: str, count: int) -> np.ndarray:
        """The first count rows of a split, for a quick look at the model's outputs."""
        return self.prepared.x(split_name)[:count]

    def training_range(self) -> tuple[np.ndarray, np.ndarray]:
        """Each feature's smallest and largest value in the training rows (before normalising)."""
        seen = self.prepared.splits.train.x
        seen = seen.reshape(len(seen), -1)
        return seen.min(axis=0), seen.max(axis=0)

    def sha256(self) -> str | None:
        """The data file's sha256 (None for a dataset nnlearn makes, or a folder of images)."""
        path = self.prepared.source.path
        return sha256_of_file(path) if path is not None and path.is_file() else None


class StreamedFeed:
    """The features read from disk a block at a time (nnlearn.data.streaming); only the target and each row's
    split are in memory."""

    streamed = True

    def __init__(self, prepared):
        self.prepared = prepared

    def chunks(self, split_names, chunk_rows: int, limit: int | None = None
               ) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """(split name, x, y) chunks of the named splits, all read in one pass over the file, each split's rows
        in file order."""
        codes = [streaming.SPLIT_CODES[name] for name in split_names]
        for code, x, y in streaming.chunks(self.prepared, codes, chunk_rows, limit):
            yield SPLIT_NAMES[code], x, y

    def first_rows(self, split_name: str, count: int) -> np.ndarray:
        return streaming.first_rows(self.prepared, split_name, count)

    def training_range(self) -> tuple[np.ndarray, np.ndarray]:
        """Each feature's smallest and largest value in the training rows, from one pass over the file."""
        return streaming.training_range(self.prepared)

    def sha256(self) -> str:
        """The file's sha256, read once however often it is asked for."""
        return self.prepared.stream.sha256()
