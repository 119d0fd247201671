"""The task a config sets, derived once: regression, binary, multi-class or multi-label; and the one
place that turns the model's outputs into probabilities and classes, read the way the compiled loss
reads them.

How Keras 3's loss reads the output layer (measured by tests/model/test_output_truth.py):
- mean_squared_error: the outputs are the predictions themselves ("values")
- an output layer that applies sigmoid or softmax: the cross-entropy takes the values before it as the
  logits, whatever from_logits says, so the outputs are the probabilities ("probabilities")
- from_logits: true: the outputs are logits z; P = sigmoid(z) per unit, or softmax(z) across the units
  ("logits")
- from_logits: false: the outputs are taken as probabilities, clipped into [1e-7, 1 - 1e-7] ("clipped")
The class is P > 0.5 (binary, and each label of a multi-label task) or the largest P (multi-class).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Task = Literal["regression", "binary", "multiclass", "multilabel"]
Reading = Literal["values", "logits", "probabilities", "clipped"]

SQUASHES = ("sigmoid", "softmax")  # the activations a cross-entropy loss looks behind, to the logits
# Keras' epsilon, as float32 rounds it: the loss clips a probability into [CLIP_LOW, CLIP_HIGH]
CLIP_LOW, CLIP_HIGH = float(np.float32(1e-7)), float(np.float32(1 - 1e-7))


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


def output_layer_index(config) -> int:
    """The index of the last layer with an activation (the output layer: dense or conv)."""
    return max(index for index, layer in enumerate(config.model.layers) if hasattr(layer, "activation"))


def output_reading(config) -> Reading:
    """How the compiled loss reads the model's outputs (see the module's docstring)."""
    if config.compile.loss == "mean_squared_error":
        return "values"
    layers = [layer for layer in config.model.layers if layer.type != "dropout"]  # dropout: none at inference
    if getattr(layers[-1], "activation", None) in SQUASHES:
        return "probabilities"
    return "logits" if config.compile.from_logits else "clipped"


def decision_threshold(reading: Reading) -> float:
    """The output above which a binary (or multi-label) output says yes: P > 0.5 is z > 0 for logits."""
    return 0.0 if reading == "logits" else 0.5


def probabilities(outputs: np.ndarray, task: Task, reading: Reading) -> np.ndarray:
    """Outputs (rows × units) as the loss's probabilities: sigmoid per unit, or softmax across the units,
    for logits; clipped (and, across K classes, made to sum to 1) for outputs read as probabilities."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if task == "regression" or reading in ("values", "probabilities"):
        return outputs
    if reading == "clipped":
        clipped = np.clip(outputs, CLIP_LOW, CLIP_HIGH)
        return clipped / clipped.sum(axis=1, keepdims=True) if task == "multiclass" else clipped
    if task == "multiclass":
        shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    return 0.5 * (1 + np.tanh(0.5 * outputs))  # sigmoid, without overflow for large |z|


def classes(outputs: np.ndarray, task: Task, reading: Reading) -> np.ndarray:
    """The predicted class per row (binary: 0 or 1; multi-class: the index of the largest probability);
    multi-label: a 0/1 column per label."""
    outputs = np.asarray(outputs)
    threshold = decision_threshold(reading)
    if task == "binary":
        return (outputs.reshape(len(outputs), -1)[:, 0] > threshold).astype(np.int64)
    if task == "multilabel":
        return (outputs > threshold).astype(np.int64)
    if task == "multiclass":  # softmax keeps the order of the logits; clipping can tie them
        return np.argmax(probabilities(outputs, task, reading) if reading == "clipped" else outputs, axis=1)
    raise ValueError("a regression has no classes")
