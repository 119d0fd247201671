"""The task a config sets, derived once: regression, binary, multi-class or multi-label; and the one
place that turns the model's outputs into probabilities and classes.

The output layer emits logits z unless `compile.from_logits` is false (then it emits probabilities):
- binary and multi-label: P = sigmoid(z), one per output unit; the class (or label) is P > 0.5 (z > 0)
- multi-class: P = softmax(z) over the K units; the class is the largest
- regression: the outputs are the predictions themselves
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Task = Literal["regression", "binary", "multiclass", "multilabel"]


def task_of(config, data_kind: str | None = None) -> Task:
    """The task of a config's loss and data (data_kind: the dataset's "classes", "multilabel" or
    "continuous", when known; a multi-label source or data makes binary cross-entropy multi-label)."""
    loss = config.compile.loss
    if loss == "mean_squared_error":
        return "regression"
    if loss == "binary_crossentropy":
        multilabel = data_kind == "multilabel" or (data_kind is None and config.data.source == "multilabel")
        return "multilabel" if multilabel else "binary"
    return "multiclass"


def is_classifier(task: Task) -> bool:
    return task != "regression"


def probabilities(outputs: np.ndarray, task: Task, from_logits: bool) -> np.ndarray:
    """Outputs (rows × units) as probabilities: sigmoid per unit, or softmax across the units."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if task == "regression" or not from_logits:
        return outputs
    if task == "multiclass":
        shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    return 0.5 * (1 + np.tanh(0.5 * outputs))  # sigmoid, without overflow for large |z|


def classes(outputs: np.ndarray, task: Task, from_logits: bool) -> np.ndarray:
    """The predicted class per row (binary: 0 or 1; multi-class: the index of the largest output);
    multi-label: a 0/1 column per label."""
    outputs = np.asarray(outputs)
    threshold = 0.0 if from_logits else 0.5
    if task == "binary":
        return (outputs.reshape(len(outputs), -1)[:, 0] > threshold).astype(np.int64)
    if task == "multilabel":
        return (outputs > threshold).astype(np.int64)
    if task == "multiclass":
        return np.argmax(outputs, axis=1)
    raise ValueError("a regression has no classes")
