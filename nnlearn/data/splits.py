"""Seeded splits: the same rows scikit-learn's train_test_split chooses, without importing it.

`train_test_split(rows, n_test, seed, labels)` returns what
`sklearn.model_selection.train_test_split(rows, test_size=n_test, random_state=seed, stratify=labels)` does
(ShuffleSplit, StratifiedShuffleSplit and _approximate_mode in scikit-learn 1.x), drawing from
`np.random.RandomState(seed)` in the same order; tests compare the two on random labels, sizes and seeds.
Importing scikit-learn costs most of a second, and a train only needs these few lines of it.
"""

from __future__ import annotations

import numpy as np


def train_test_split(rows: np.ndarray, n_test: int, seed: int,
                     labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, test rows): n_test of `rows` drawn at random for testing, the others for training, each
    in a shuffled order. With labels (one per row), each class keeps its share of rows in both parts.

    Raises ValueError where scikit-learn does: n_test not between 1 and len(rows) - 1; with labels, a class
    with a single row, or fewer train or test rows than there are classes.
    """
    n_samples = len(rows)
    if not 0 < n_test < n_samples:
        raise ValueError(f"cannot hold out {n_test} of {n_samples} rows; expected between 1 and "
                         f"{n_samples - 1}.")
    n_train = n_samples - n_test
    if labels is None:
        permutation = np.random.RandomState(seed).permutation(n_samples)
        return rows[permutation[n_test:]], rows[permutation[:n_test]]
    labels = np.asarray(labels)
    if len(labels) != n_samples:
        raise ValueError(f"got {len(labels)} labels for {n_samples} rows; expected one label per row.")
    train, test = _stratified(labels, n_train, n_test, np.random.RandomState(seed))
    return rows[train], rows[test]


def _stratified(labels: np.ndarray, n_train: int, n_test: int,
                rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """StratifiedShuffleSplit's first split: how many rows of each class go to each part, then which."""
    classes, class_of_row, class_counts = np.unique(labels, return_inverse=True, return_counts=True)
    if class_counts.min() < 2:
        lonely = classes[class_counts < 2].tolist()
        raise ValueError(f"class{'es' if len(lonely) > 1 else ''} {', '.join(map(str, lonely))} "
                         f"{'have' if len(lonely) > 1 else 'has'} a single row; a stratified split needs at "
                         "least 2 rows of each class.")
    for part, size in (("training", n_train), ("held-out", n_test)):
        if size < len(classes):
            raise ValueError(f"the {part} part would hold {size} row{'s' if size != 1 else ''} for "
                             f"{len(classes)} classes; a stratified split needs at least one row of each "
                             "class in each part.")
    rows_of_class = np.split(np.argsort(class_of_row, kind="stable"), np.cumsum(class_counts)[:-1])
    train_counts = _approximate_mode(class_counts, n_train, rng)
    test_counts = _approximate_mode(class_counts - train_counts, n_test, rng)
    train, test = [], []
    for class_rows, count, n_train_class, n_test_class in zip(rows_of_class, class_counts, train_counts,
                                                              test_counts):
        shuffled = class_rows[rng.permutation(count)]
        train.append(shuffled[:n_train_class])
        test.append(shuffled[n_train_class:n_train_class + n_test_class])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _approximate_mode(class_counts: np.ndarray, n_draws: int, rng: np.random.RandomState) -> np.ndarray:
    """Rows per class when drawing n_draws: each class's share rounded down, the rows left over going to
    the largest remainders, ties broken at random."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (tied,) = np.where(remainder == value)
            add_now = min(len(tied), need_to_add)
            # drawn even when all of them are taken: the draw moves the generator as scikit-learn's does
            floored[rng.choice(tied, size=add_now, replace=False)] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)
