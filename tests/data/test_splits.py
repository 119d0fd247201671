"""The seeded splits choose the rows scikit-learn's train_test_split chooses, and refuse where it refuses."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import train_test_split as sklearns_split

import nnlearn.data.dataset
from nnlearn.config.loading import load_config
from nnlearn.data.dataset import load_dataset, split_indices
from nnlearn.data.splits import train_test_split
from nnlearn.model.task import is_classifier, task_of
from tests.conftest import CONFIGS


def sklearns(rows, n_test, seed, labels=None):
    """The reference: scikit-learn's own train_test_split, called as nnlearn called it before."""
    return tuple(sklearns_split(rows, test_size=n_test, random_state=seed, stratify=labels))


def outcome(split, *arguments):
    """The split's (train, test), or the kind of error it raised."""
    try:
        return split(*arguments)
    except ValueError:
        return ValueError


@st.composite
def split_cases(draw):
    """Rows (not in order, as the second split's are), 2-10 classes of 2-40 rows (sometimes one class of a
    single row, or of 100-300: imbalanced), labels with gaps or not, a number of held-out rows (sometimes
    one out of range) and a seed."""
    n_classes = draw(st.integers(2, 10))
    counts = draw(st.lists(st.integers(2, 40), min_size=n_classes, max_size=n_classes))
    if draw(st.integers(0, 2)) == 0:
        counts[draw(st.integers(0, n_classes - 1))] = draw(st.integers(100, 300))
    if draw(st.integers(0, 4)) == 0:
        counts[draw(st.integers(0, n_classes - 1))] = 1
    label_values = np.arange(n_classes) * draw(st.sampled_from([1, 3]))
    order = np.random.RandomState(draw(st.integers(0, 1000)))
    labels = order.permutation(np.repeat(label_values, counts))
    rows = order.permutation(len(labels) + 50)[:len(labels)]
    if draw(st.integers(0, 9)) == 0:
        n_test = draw(st.sampled_from([0, len(labels), len(labels) + 1]))
    else:
        n_test = draw(st.integers(1, len(labels) - 1))
    seed = draw(st.integers(0, 2**31 - 1))
    return rows, n_test, seed, labels


@settings(max_examples=400, deadline=None)
@given(case=split_cases(), stratify=st.booleans())
def test_same_rows_and_same_refusals_as_scikit_learn(case, stratify):
    rows, n_test, seed, labels = case
    arguments = (rows, n_test, seed, labels if stratify else None)
    ours, reference = outcome(train_test_split, *arguments), outcome(sklearns, *arguments)
    if reference is ValueError:
        assert ours is ValueError
    else:
        assert ours is not ValueError
        for part, expected in zip(ours, reference):
            assert part.dtype == expected.dtype and np.array_equal(part, expected)


@pytest.mark.parametrize("labels, n_test, says", [
    ([0, 0, 1, 1, 2], 2, "class 2 has a single row"),
    ([0, 0, 0, 1, 1, 1, 2, 2, 2], 2, "held-out part would hold 2 rows for 3 classes"),
    ([0, 0, 0, 1, 1, 1, 2, 2, 2], 7, "training part would hold 2 rows for 3 classes"),
    ([0, 1, 0, 1], 4, "cannot hold out 4 of 4 rows"),
])
def test_refusals_say_why(labels, n_test, says):
    with pytest.raises(ValueError, match=says):
        train_test_split(np.arange(len(labels)), n_test, 0, np.asarray(labels))
    with pytest.raises(ValueError):
        sklearns(np.arange(len(labels)), n_test, 0, np.asarray(labels))


def as_lists(parts):
    return [None if part is None else part.tolist() for part in parts]


@pytest.mark.parametrize("name", sorted(path.stem for path in CONFIGS.glob("*.yaml")))
def test_shipped_configs_split_as_before(name, monkeypatch):
    config = load_config(CONFIGS / f"{name}.yaml")
    dataset = load_dataset(config.data, config.seed, CONFIGS)
    stratify = is_classifier(task_of(config))
    ours = split_indices(dataset, config.data, config.seed, stratify)
    monkeypatch.setattr(nnlearn.data.dataset, "train_test_split", sklearns)
    before = split_indices(dataset, config.data, config.seed, stratify)
    assert as_lists(ours) == as_lists(before)
