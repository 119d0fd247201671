"""One notion of the task, and one rule from outputs to probabilities and classes, checked against
SciPy's softmax and expit."""

import numpy as np
import pytest
from scipy.special import expit, softmax

from nnlearn.config.loading import config_from_text
from nnlearn.model.task import classes, probabilities, task_of
from tests.conftest import LINEAR_REGRESSION, MOONS, TINY, edited

LOGITS = np.array([[2.0, -1.0, 0.5], [-30.0, 40.0, 0.0], [0.0, 0.0, 0.0]])


@pytest.mark.parametrize("text, kind, task", [
    (TINY, "classes", "multiclass"), (MOONS, "classes", "binary"), (LINEAR_REGRESSION, "continuous", "regression"),
    (MOONS, "multilabel", "multilabel"),
])
def test_task_of_config_and_data(text, kind, task):
    assert task_of(config_from_text(text), kind) == task


def test_multilabel_source_is_known_without_its_data():
    config = config_from_text(edited(MOONS, ("source: moons", "source: multilabel")))
    assert task_of(config) == "multilabel" and task_of(config_from_text(MOONS)) == "binary"


def test_probabilities_from_logits_equal_scipy():
    assert probabilities(LOGITS, "multiclass", True) == pytest.approx(softmax(LOGITS, axis=1))
    assert probabilities(LOGITS, "multilabel", True) == pytest.approx(expit(LOGITS))
    assert np.all(np.isfinite(probabilities(LOGITS * 100, "binary", True)))  # no overflow at |z| = 4000
    assert np.array_equal(probabilities(LOGITS, "regression", True), LOGITS)


def test_classes_follow_the_probabilities_whether_outputs_are_logits_or_not():
    assert classes(LOGITS, "multiclass", True).tolist() == softmax(LOGITS, axis=1).argmax(axis=1).tolist()
    assert classes(LOGITS[:, :1], "binary", True).tolist() == (expit(LOGITS[:, 0]) > 0.5).astype(int).tolist()
    probabilities_given = expit(LOGITS[:, :1])
    assert classes(probabilities_given, "binary", False).tolist() == classes(LOGITS[:, :1], "binary", True).tolist()
    assert classes(LOGITS, "multilabel", True).tolist() == (LOGITS > 0).astype(int).tolist()
    with pytest.raises(ValueError):
        classes(LOGITS, "regression", True)
