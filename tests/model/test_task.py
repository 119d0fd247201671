"""One notion of the task, and one rule from outputs to probabilities and classes, checked against
SciPy's softmax and expit."""

import numpy as np
import pytest
from scipy.special import expit, softmax

from nnlearn.config.loading import config_from_text
from nnlearn.model.task import classes, output_reading, probabilities, task_of
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
    assert probabilities(LOGITS, "multiclass", "logits") == pytest.approx(softmax(LOGITS, axis=1))
    assert probabilities(LOGITS, "multilabel", "logits") == pytest.approx(expit(LOGITS))
    assert np.all(np.isfinite(probabilities(LOGITS * 100, "binary", "logits")))  # no overflow at |z| = 4000
    assert np.array_equal(probabilities(LOGITS, "regression", "values"), LOGITS)


def test_outputs_read_as_probabilities_are_clipped_as_keras_clips_them():
    low, high = np.float32(1e-7), np.float32(1 - 1e-7)  # Keras' epsilon, and 1 - epsilon as float32 rounds it
    assert probabilities(LOGITS, "binary", "clipped") == pytest.approx(np.clip(LOGITS, low, high), abs=0)
    clipped = np.clip(LOGITS, low, high)  # sparse categorical cross-entropy: clip, then make rows sum to 1
    assert probabilities(LOGITS, "multiclass", "clipped") == pytest.approx(clipped / clipped.sum(1, keepdims=True))
    squashed = softmax(LOGITS, axis=1)  # a softmax output layer: its outputs are the probabilities
    assert np.array_equal(probabilities(squashed, "multiclass", "probabilities"), squashed)


def test_classes_follow_the_probabilities_however_the_outputs_are_read():
    assert classes(LOGITS, "multiclass", "logits").tolist() == softmax(LOGITS, axis=1).argmax(axis=1).tolist()
    assert classes(LOGITS[:, :1], "binary", "logits").tolist() == (expit(LOGITS[:, 0]) > 0.5).astype(int).tolist()
    probabilities_given = expit(LOGITS[:, :1])
    assert classes(probabilities_given, "binary", "probabilities").tolist() == \
        classes(LOGITS[:, :1], "binary", "logits").tolist()
    assert classes(LOGITS, "multilabel", "logits").tolist() == (LOGITS > 0).astype(int).tolist()
    assert classes(LOGITS[:, :1], "binary", "clipped").tolist() == (LOGITS[:, 0] > 0.5).astype(int).tolist()
    # [2, -1, 0.5] clipped: [1 - 1e-7, 1e-7, 0.5]; [-30, 40, 0]: [1e-7, 1 - 1e-7, 1e-7]; all 0: a tie, the first
    assert classes(LOGITS, "multiclass", "clipped").tolist() == [0, 1, 0]
    with pytest.raises(ValueError):
        classes(LOGITS, "regression", "values")


OUTPUT = "- {type: dense, units: 3, activation: linear}"


@pytest.mark.parametrize("activation, from_logits, loss, reading", [
    ("linear", True, "sparse_categorical_crossentropy", "logits"),
    ("relu", True, "sparse_categorical_crossentropy", "logits"),
    ("tanh", True, "sparse_categorical_crossentropy", "logits"),
    ("softmax", False, "sparse_categorical_crossentropy", "probabilities"),
    ("softmax", True, "sparse_categorical_crossentropy", "probabilities"),  # Keras looks behind the softmax
    ("linear", False, "sparse_categorical_crossentropy", "clipped"),
    ("sigmoid", False, "mean_squared_error", "values"),
    ("linear", True, "mean_squared_error", "values"),
])
def test_output_reading_of_each_output_layer(activation, from_logits, loss, reading):
    text = edited(TINY, (OUTPUT, f"- {{type: dense, units: 3, activation: {activation}}}"),
                  ("loss: sparse_categorical_crossentropy", f"loss: {loss}\n  from_logits: {str(from_logits).lower()}"))
    assert output_reading(config_from_text(text)) == reading


def test_a_dropout_after_the_output_layer_does_not_hide_its_softmax():
    text = edited(TINY, (OUTPUT, "- {type: dense, units: 3, activation: softmax}\n    - {type: dropout, rate: 0.1}"),
                  ("sparse_categorical_crossentropy", "sparse_categorical_crossentropy\n  from_logits: false"))
    assert output_reading(config_from_text(text)) == "probabilities"
