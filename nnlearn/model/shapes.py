"""The shape of x through every layer, and each layer's parameter count, without TensorFlow.

Also checks that the output layer and loss fit the task and the labels in the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nnlearn.config.schema import (
    Config,
    Conv1D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    MaxPooling1D,
    MaxPooling2D,
)
from nnlearn.errors import Problem, one_setting
from nnlearn.model.task import output_layer_index

Shape = tuple[int, ...]


@dataclass
class LayerShape:
    """One layer: what comes out of it, and how many parameters it has (with the arithmetic)."""

    index: int
    type: str
    output_shape: Shape
    params: int
    formula: str


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def _spatial(size: int, window: int, stride: int, padding: str) -> int:
    if padding == "same":
        return math.ceil(size / stride)
    return (size - window) // stride + 1


IMAGE_LAYERS = (Conv2D, MaxPooling2D, GlobalAveragePooling2D)
SIGNAL_LAYERS = (Conv1D, MaxPooling1D, GlobalAveragePooling1D)


def _first_shaped_layer(config: Config):
    return next((layer for layer in config.model.layers if not isinstance(layer, Dropout)), None)


def uses_image_input(config: Config) -> bool:
    """True when the first layer that cares about shape is a conv2d or 2-D pooling layer."""
    return isinstance(_first_shaped_layer(config), IMAGE_LAYERS)


def uses_signal_input(config: Config) -> bool:
    """True when the first layer that cares about shape is a conv1d or 1-D pooling layer: x is read as a
    sequence (steps, channels)."""
    return isinstance(_first_shaped_layer(config), SIGNAL_LAYERS)


NO_WEIGHTS = "0 (no weights)"


def infer_shapes(config: Config, input_shape: Shape) -> tuple[list[LayerShape], list[Problem]]:
    """Walk the layers from the input shape; stops at the first layer whose input does not fit."""
    shapes: list[LayerShape] = []
    shape = tuple(input_shape)
    for index, layer in enumerate(config.model.layers):
        walked = _through(layer, shape, f"model.layers[{index}]", config.model.layers[:index])
        if isinstance(walked, Problem):
            return shapes, [walked]
        shape, params, formula = walked
        shapes.append(LayerShape(index, layer.type, shape, params, formula))
    return shapes, []


def _through(layer, shape: Shape, path: str, earlier: list) -> tuple[Shape, int, str] | Problem:
    """(the layer's output shape, its parameters, their formula), or the Problem with its input shape."""
    if isinstance(layer, Dense):
        if len(shape) != 1:
            return Problem(path, f"dense needs a flat vector, but its input has shape {_show(shape)}.",
                           hint="add `- {type: flatten}` before this dense layer.")
        params = shape[0] * layer.units + layer.units
        return (layer.units,), params, f"{shape[0]}×{layer.units} + {layer.units} = {params}"
    if isinstance(layer, (Conv2D, MaxPooling2D)):
        return _image_layer(layer, shape, path, earlier)
    if isinstance(layer, (Conv1D, MaxPooling1D)):
        return _sequence_layer(layer, shape, path)
    if isinstance(layer, (GlobalAveragePooling1D, GlobalAveragePooling2D)):
        rank = 2 if isinstance(layer, GlobalAveragePooling1D) else 3
        if len(shape) != rank:
            expected = "a sequence (steps, channels)" if rank == 2 else "an image (height, width, channels)"
            return Problem(path, f"{layer.type} needs {expected}, but its input has shape {_show(shape)}.",
                           hint=f"use global_average_pooling{4 - rank}d" if len(shape) == 5 - rank
                           else "put it after the conv layers.")
        return (shape[-1],), 0, NO_WEIGHTS
    if isinstance(layer, Flatten):
        return (math.prod(shape),), 0, NO_WEIGHTS
    return shape, 0, NO_WEIGHTS


def _image_layer(layer, shape: Shape, path: str, earlier: list) -> tuple[Shape, int, str] | Problem:
    """conv2d and max_pooling2d: windows over (height, width), each output channel a filter's response."""
    if len(shape) != 3:
        flattened = any(isinstance(before, (Flatten, Dense)) for before in earlier)
        hint = ("put conv2d and pooling layers before flatten and dense layers." if flattened
                else "conv2d and pooling need images: use an image dataset such as digits, or dense layers for "
                     "tabular data.")
        return Problem(path, f"{layer.type} needs an image input (height, width, channels), but its input has "
                             f"shape {_show(shape)}.", hint=hint)
    height, width, channels = shape
    if isinstance(layer, Conv2D):
        window, strides, field = _pair(layer.kernel_size), _pair(layer.strides), "kernel_size"
    else:
        window, field = _pair(layer.pool_size), "pool_size"
        strides = _pair(layer.strides) if layer.strides is not None else window
    if layer.padding == "valid" and (window[0] > height or window[1] > width):
        return Problem(f"{path}.{field}", f"the window {window[0]}×{window[1]} is larger than its input "
                                          f"{height}×{width}.",
                       hint=f"use a smaller {field}, padding: same, or fewer layers before it.")
    out_h = _spatial(height, window[0], strides[0], layer.padding)
    out_w = _spatial(width, window[1], strides[1], layer.padding)
    if not isinstance(layer, Conv2D):
        return (out_h, out_w, channels), 0, NO_WEIGHTS
    params = window[0] * window[1] * channels * layer.filters + layer.filters
    return ((out_h, out_w, layer.filters), params,
            f"{window[0]}×{window[1]}×{channels}×{layer.filters} + {layer.filters} = {params}")


def _sequence_layer(layer, shape: Shape, path: str) -> tuple[Shape, int, str] | Problem:
    """conv1d and max_pooling1d: windows over the steps of a sequence (steps, channels)."""
    if len(shape) != 2:
        return Problem(path, f"{layer.type} needs a sequence input (steps, channels), but its input has shape "
                             f"{_show(shape)}.", hint=_sequence_hint(shape))
    steps, channels = shape
    if isinstance(layer, Conv1D):
        window, stride, field = layer.kernel_size, layer.strides, "kernel_size"
    else:
        window, stride, field = layer.pool_size, layer.strides or layer.pool_size, "pool_size"
    if layer.padding == "valid" and window > steps:
        return Problem(f"{path}.{field}", f"the window of {window} steps is longer than its input of {steps} steps.",
                       hint=f"use a smaller {field}, padding: same, or fewer layers before it.")
    out = _spatial(steps, window, stride, layer.padding)
    if not isinstance(layer, Conv1D):
        return (out, channels), 0, NO_WEIGHTS
    params = window * channels * layer.filters + layer.filters
    return (out, layer.filters), params, f"{window}×{channels}×{layer.filters} + {layer.filters} = {params}"


def _sequence_hint(shape: Shape) -> str:
    if len(shape) == 3:
        return "conv1d and max_pooling1d read sequences; for images use conv2d and max_pooling2d."
    if len(shape) == 1:
        return "put conv1d and pooling layers before flatten and dense layers; the data must be a signal."
    return "conv1d needs (steps, channels)."


def _show(shape: Shape) -> str:
    return f"({shape[0]},)" if len(shape) == 1 else "(" + ", ".join(str(s) for s in shape) + ")"


def output_problems(config: Config, output_shape: Shape, kind: str, n_classes: int,
                    sample_target: object = None) -> list[Problem]:
    """Does the last layer and the loss fit the labels in the data, and does the output layer's
    activation agree with the loss? Each mismatch says how to fix it."""
    problems = _units_and_loss_problems(config, output_shape, kind, n_classes, sample_target)
    return problems or activation_problems(config, output_shape[-1])


def _units_and_loss_problems(config: Config, output_shape: Shape, kind: str, n_classes: int,
                             sample_target: object) -> list[Problem]:
    last = len(config.model.layers) - 1
    units_path = f"model.layers[{last}].units"
    loss = config.compile.loss
    if len(output_shape) != 1:
        return [Problem(f"model.layers[{last}]", f"the output has shape {_show(output_shape)}; it must be "
                                                 "a flat vector of outputs.",
                        hint="end with `- {type: flatten}` and a dense output layer.")]
    units = output_shape[0]
    if loss in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        if kind == "continuous":
            return [Problem("compile.loss", f"{loss} needs class labels, but y is continuous (e.g. "
                                            f"{sample_target}).",
                            hint="for regression use loss: mean_squared_error and 1 output unit.")]
        if kind == "multilabel":
            return [Problem("compile.loss", f"{loss} picks one class of K, but each example here has "
                                            f"{n_classes} yes/no labels (multi-label).",
                            hint=f"use loss: binary_crossentropy with {n_classes} output units "
                                 "(one sigmoid per label).")]
        if units != n_classes:
            return [Problem(units_path, f"the data has {n_classes} classes but the output layer has "
                                        f"{units} units.",
                            hint="{set}: one logit per class.", setting=one_setting("units", n_classes, "set"))]
    elif loss == "binary_crossentropy":
        if kind == "continuous":
            return [Problem("compile.loss", f"binary_crossentropy needs 0/1 labels, but y is continuous "
                                            f"(e.g. {sample_target}).",
                            hint="for regression use loss: mean_squared_error.")]
        if kind == "classes" and n_classes > 2:
            return [Problem("compile.loss", f"binary_crossentropy is for 2 classes, but the data has "
                                            f"{n_classes}.",
                            hint=f"use loss: sparse_categorical_crossentropy with {n_classes} output "
                                 "units.")]
        expected = n_classes if kind == "multilabel" else 1
        if units != expected:
            what = (f"{n_classes} labels: one logit per label" if kind == "multilabel"
                    else "two classes: a single logit z, with P(y=1) = sigmoid(z)")
            hint = "{set}."
            if kind == "multilabel" and config.data.source == "multilabel":  # the label count is a setting
                hint = f"{{set}}, or make the dataset have {units} labels: data.n_labels: {units}."
            return [Problem(units_path, f"binary_crossentropy here needs {expected} output unit"
                                        f"{'s' if expected != 1 else ''} ({what}), but the output "
                                        f"layer has {units}.", hint=hint,
                            setting=one_setting("units", expected, "set"))]
    else:  # mean_squared_error
        if kind in ("classes", "multilabel"):
            better = ("binary_crossentropy" if kind == "multilabel" or n_classes <= 2
                      else "sparse_categorical_crossentropy")
            return [Problem("compile.loss", f"mean_squared_error treats y as a quantity, but y holds "
                                            f"{n_classes} classes.",
                            hint=f"use loss: {better} for classification.")]
        if units != 1:
            return [Problem(units_path, f"regression predicts one number per example, but the output "
                                        f"layer has {units} units.", hint="{set}.",
                            setting=one_setting("units", 1, "set"))]
    return []


SQUASH_OF_LOSS = {"binary_crossentropy": "sigmoid", "sparse_categorical_crossentropy": "softmax",
                  "categorical_crossentropy": "softmax"}
WHAT_SQUASH_DOES = {"sigmoid": "scores each output on its own", "softmax": "picks one class of K"}


def activation_problems(config: Config, units: int) -> list[Problem]:
    """An output activation that contradicts the loss: a softmax over one unit (always 1), a squash the
    loss does not use, a squash the loss is told is not there (from_logits: true), or K outputs read as
    probabilities that cannot be. Keras 3 trains all of these somehow (its cross-entropy looks behind a
    sigmoid or softmax to the values before it, whatever from_logits says), but never as written."""
    index = output_layer_index(config)
    activation, loss = config.model.layers[index].activation, config.compile.loss
    path, squash = f"model.layers[{index}].activation", SQUASH_OF_LOSS.get(loss)
    logits = "one logit" if units == 1 else "one logit per " + ("label" if squash == "sigmoid" else "class")
    usual = (f"use {{setting}} with from_logits: true ({logits}; the loss applies {squash} itself, "
             f"stably), or activation: {squash} with from_logits: false.")
    linear = one_setting("activation", "linear")
    if activation == "softmax" and units == 1:
        return [Problem(path, "a softmax over one unit is always 1 (e^z / e^z), whatever x is, so the model "
                              "cannot tell one example from another.",
                        hint=usual if squash else "use {setting} for regression.", setting=linear)]
    if squash is None or activation not in SQUASH_OF_LOSS.values():
        return _unsquashed_problems(config, index, units)
    if activation != squash:
        return [Problem(path, f"{activation} in the output layer {WHAT_SQUASH_DOES[activation]}, but {loss} "
                              f"{WHAT_SQUASH_DOES[squash]} with a {squash}. Keras would train a {squash} of "
                              f"the values before the {activation}, so the outputs would not be the "
                              "probabilities it trained.", hint=usual, setting=linear)]
    if config.compile.from_logits:
        return [Problem(path, f"{activation} in the output layer and from_logits: true contradict each "
                              f"other: the layer outputs probabilities, and the loss is told they are "
                              f"logits; Keras 3 quietly uses the values before the {activation}, so the loss "
                              "falls anyway.",
                        hint=f"use {{setting}} (the loss applies {activation} itself, stably), or "
                             "set from_logits: false.", setting=linear)]
    return []


def _unsquashed_problems(config: Config, index: int, units: int) -> list[Problem]:
    """from_logits: false with K > 1 classes and an output that is not a softmax: Keras reads the outputs
    as probabilities, clipped into [1e-7, 1 - 1e-7], so every output outside (0, 1) gets no gradient
    (measured: learning stalls at the no-learning loss, ln K)."""
    activation = config.model.layers[index].activation
    if config.compile.from_logits or SQUASH_OF_LOSS.get(config.compile.loss) != "softmax":
        return []
    return [Problem("compile.from_logits", f"from_logits: false says the {units} outputs are probabilities, "
                                           f"but a {activation} output layer does not make them sum to 1. "
                                           "Keras would clip each into [1e-7, 1 - 1e-7], and an output "
                                           "outside (0, 1) gets no gradient.",
                    hint="set from_logits: true (the outputs are logits; the loss applies softmax).")]


def total_params(shapes: list[LayerShape]) -> int:
    return sum(layer.params for layer in shapes)
