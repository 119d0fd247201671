"""`nnlearn explain`: what each layer computes, its parameters with the arithmetic, and what the
output layer and loss mean, all without TensorFlow."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnlearn.config.schema import Config, Conv1D, Conv2D, Dense
from nnlearn.data.dataset import Dataset
from nnlearn.errors import Problem
from nnlearn.model.baselines import expected_initial_loss
from nnlearn.model.shapes import LayerShape
from nnlearn.model.task import task_of
from nnlearn.teaching.lint import lint

ACTIVATIONS = {
    "relu": "max(0, z)",
    "linear": "z as it is",
    "sigmoid": "1/(1+e^-z), in (0, 1)",
    "softmax": "e^z_k/Σe^z_j, sums to 1",
    "tanh": "tanh(z), in (-1, 1)",
}
LAYER_ROLES = {
    "max_pooling2d": "max of each window",
    "max_pooling1d": "max of each window of steps",
    "global_average_pooling1d": "mean of each channel over all steps",
    "global_average_pooling2d": "mean of each channel over the image",
    "flatten": "image → one vector",
    "dropout": "drops inputs while training",
}


MAX_NAMES_IN_JSON = 1000
MAX_NAMES_SHOWN = 12


@dataclass
class LayerRow:
    index: int
    type: str
    output_shape: tuple[int, ...]
    params: int
    formula: str
    activation: str | None
    meaning: str

    def to_json(self) -> dict:
        return {"index": self.index, "type": self.type, "output_shape": list(self.output_shape),
                "params": self.params, "formula": self.formula, "activation": self.activation,
                "meaning": self.meaning}


@dataclass
class Explanation:
    input_shape: tuple[int, ...]
    layers: list[LayerRow]
    total_params: int
    output: str
    expected_initial_loss: float
    expected_loss_reason: str
    warnings: list[Problem] = field(default_factory=list)
    inputs: str = ""
    feature_names: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"input_shape": list(self.input_shape), "layers": [row.to_json() for row in self.layers],
                "total_params": self.total_params, "output": self.output,
                "expected_initial_loss": self.expected_initial_loss,
                "expected_loss_reason": self.expected_loss_reason,
                "inputs": self.inputs, "feature_count": len(self.feature_names),
                "feature_names": self.feature_names if len(self.feature_names) <= MAX_NAMES_IN_JSON else [],
                "warnings": [problem.as_dict() for problem in self.warnings]}


def layer_rows(config: Config, shapes: list[LayerShape]) -> list[LayerRow]:
    rows = []
    last = len(config.model.layers) - 1
    for layer, shape in zip(config.model.layers, shapes):
        activation = getattr(layer, "activation", None)
        meaning = ACTIVATIONS[activation] if activation else LAYER_ROLES.get(layer.type, "")
        if shape.index == last and activation == "linear":
            meaning += " (the prediction)" if task_of(config) == "regression" else " (logits)"
        if isinstance(layer, Dense):
            meaning = f"z = w·a + b, then {meaning}"
        elif isinstance(layer, Conv2D):
            meaning = f"windows · shared w + b, then {meaning}"
        elif isinstance(layer, Conv1D):
            meaning = f"windows of steps · shared w + b, then {meaning}"
        if getattr(layer, "kernel_regularizer", None) is not None:
            meaning += f"; adds {_penalty(layer.kernel_regularizer)} to J"
        rows.append(LayerRow(shape.index, layer.type, shape.output_shape, shape.params, shape.formula,
                             activation, meaning))
    return rows


def describe_output(config: Config, dataset: Dataset, units: int) -> str:
    from nnlearn.model.task import output_reading

    loss, reading = config.compile.loss, output_reading(config)
    if reading == "clipped":  # from_logits: false on outputs that are not probabilities (lint warns)
        return (f"{units} output{'s' if units != 1 else ''} a, read by the loss as "
                f"{'a probability' if units == 1 else 'probabilities'} "
                "(from_logits: false) and clipped into [1e-7, 1 − 1e-7]; loss = −y log a − (1 − y) log(1 − a)")
    if loss in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        values = _output_values(config, units, "one per class", "softmax", "probabilities a")
        return f"{values}; loss = −log a_y, the minus log of the probability given to the true class y"
    if loss == "binary_crossentropy" and dataset.kind == "multilabel":
        values = _output_values(config, units, "one per label", "a sigmoid per label", "a_k = P(label k)")
        return f"{values}; loss = the mean over labels of −y log a − (1 − y) log(1 − a)"
    if loss == "binary_crossentropy":
        values = _output_values(config, units, "", "sigmoid", "a = P(y = 1)")
        return f"{values}; loss = −y log a − (1 − y) log(1 − a)"
    return ("1 number a = the prediction; loss = (a − y)², averaged over examples into the cost J "
            "(the notes' J = ½(a − y)², without the ½)")


def _output_values(config: Config, units: int, each: str, squash: str, gives: str) -> str:
    """The output layer's numbers as they are: logits z, or the probabilities a its own sigmoid or softmax
    made of z (the loss then computes from the z before it, as stably: Keras does so itself)."""
    activation = next((layer.activation for layer in reversed(config.model.layers)
                       if getattr(layer, "activation", None)), "linear")
    each = f", {each}" if each else ""
    if activation in ("sigmoid", "softmax"):
        what = "probability" if units == 1 else "probabilities"
        named = "" if gives.startswith("probabilities") else f" ({gives})"
        return (f"{units} {what} a = {activation}(z){each}, computed by the output layer{named}; Keras computes "
                "the loss from the z before it, as stably")
    return f"{units} logit{'s' if units > 1 else ''} z{each}; {squash} inside the loss, computed stably, gives {gives}"


def _penalty(settings) -> str:
    terms = ([f"{settings.l1:g}·Σ|w|"] if settings.l1 else []) + ([f"{settings.l2:g}·Σw²"] if settings.l2 else [])
    return " + ".join(terms) or "nothing (l1 and l2 are 0)"


def describe_regularization(config: Config, train_rows: int) -> str:
    """The extra term in J from kernel_regularizer, in the course's words; '' when there is none."""
    regularized = [(index, layer.kernel_regularizer) for index, layer in enumerate(config.model.layers)
                   if getattr(layer, "kernel_regularizer", None) is not None]
    if not regularized:
        return ""
    terms = ", ".join(f"layer {index}: {_penalty(settings)}" for index, settings in regularized)
    text = (f"; regularization adds a penalty on the weights w (never the biases b) to the cost: J + ({terms}). "
            "It grows with the weights, so gradient descent keeps them small and the model smoother")
    l2 = regularized[0][1].l2
    if l2:
        text += (f". The course writes the L2 term as λ/2m·Σw² (m = {train_rows} training examples); Keras adds "
                 f"l2·Σw² to the mean loss, so l2 = λ/2m: l2 = {l2:g} is λ = 2m·l2 = {2 * train_rows * l2:.4g}")
    return text


def describe_inputs(dataset: Dataset, input_shape: tuple[int, ...]) -> str:
    """What x is: its features by name (a CSV's one-hot and filled columns said), an image folder's
    images, or a signal's steps."""
    if dataset.images is not None:
        images = dataset.images
        size = "×".join(str(side) for side in images.image_shape)
        return (f"{len(images.files)} images of {size} (height×width×channels) from {images.folder.name}, "
                f"one class per folder: {', '.join(images.class_names)}; pixels ÷ 255 to 0..1")
    if len(input_shape) == 2:
        return (f"{dataset.n_features} features read as a signal of {input_shape[0]} steps × {input_shape[1]} "
                "channel(s)")
    if len(input_shape) == 3:
        return f"{dataset.n_features} features read as {'×'.join(map(str, input_shape))} images"
    names = dataset.feature_names
    shown = ", ".join(names[:MAX_NAMES_SHOWN]) + (f", … ({len(names) - MAX_NAMES_SHOWN} more)"
                                                  if len(names) > MAX_NAMES_SHOWN else "")
    text = f"{len(names)} feature{'s' if len(names) != 1 else ''}: {shown}"
    if dataset.columns is not None:
        notes = []
        for column in dataset.columns.columns:
            if column.text:
                notes.append(f"{column.name} one-hot: {len(column.categories)} categories from the training split "
                             "(an unseen one is all zeros)")
            if column.fill is not None:
                fill = f"{column.fill:.4g}" if isinstance(column.fill, float) else repr(column.fill)
                notes.append(f"missing {column.name} filled with the training {column.missing.replace('_', ' ')} "
                             f"{fill}")
        text += "; " + "; ".join(notes) if notes else ""
    return text


def explain(config: Config, dataset: Dataset, shapes: list[LayerShape], input_shape: tuple[int, ...],
            train_y: np.ndarray, warnings: list[Problem]) -> Explanation:
    rows = layer_rows(config, shapes)
    units = shapes[-1].output_shape[0] if shapes else input_shape[0]
    expected, reason = expected_initial_loss(config, dataset, train_y)
    return Explanation(tuple(input_shape), rows, sum(row.params for row in rows),
                       describe_output(config, dataset, units) + describe_regularization(config, len(train_y)),
                       expected, reason, warnings, describe_inputs(dataset, tuple(input_shape)),
                       list(dataset.feature_names))


def explain_prepared(prepared) -> Explanation:
    """The explanation of a prepared config: layers, output, expected initial loss and warnings."""
    explanation = explain(prepared.config, prepared.dataset, prepared.layers, prepared.input_shape,
                          prepared.splits.train.y, lint(prepared))
    if prepared.feed.streamed:  # data.stream: say how the rows will reach the model
        explanation.inputs += ("; streamed from disk a block at a time (data.stream): only the target and "
                               "each row's split stay in memory, and the split is seeded but not stratified")
    return explanation
