"""Warnings that name the concept behind a likely mistake. Never fatal; silenced with --quiet.

Each effect a warning claims is made to happen, and measured, by tests/teaching/test_lint_claims.py.
"""

from __future__ import annotations

import math

import numpy as np

from nnlearn.config.learning_rates import accepted_range, usual_rate
from nnlearn.config.schema import Config, Conv1D, Conv2D, Dense
from nnlearn.errors import Problem
from nnlearn.model.task import output_reading, task_of

WEIGHTED = (Dense, Conv2D, Conv1D)
LARGE_PENALTY = 0.1  # l1 or l2 from here on: ten times the usual 0.001 to 0.01


def lint(prepared) -> list[Problem]:
    """Every warning for a prepared config (one whose model already fits its data), less those its
    `lint.ignore` names: choices the config makes on purpose. Each warning has a stable id."""
    config, train_y = prepared.config, prepared.splits.train.y
    rows = len(train_y)
    task = task_of(config, prepared.dataset.kind)
    warnings = (_hidden_activations(config) + _output(config, task, prepared.dataset.n_classes, train_y)
                + _learning_rate(config) + _penalties(config, rows)
                + _size(sum(layer.params for layer in prepared.layers), rows, config.fit.batch_size))
    ignored = set(config.lint.ignore)
    return [warning for warning in warnings if warning.id not in ignored]


def _output_index(config: Config) -> int:
    return max(index for index, layer in enumerate(config.model.layers) if isinstance(layer, WEIGHTED))


def _hidden_activations(config: Config) -> list[Problem]:
    warnings = []
    last = _output_index(config)
    for index, layer in enumerate(config.model.layers[:last]):
        if not isinstance(layer, WEIGHTED):
            continue
        path = f"model.layers[{index}].activation"
        if layer.activation == "linear":
            warnings.append(Problem(path, "a hidden layer with a linear activation: stacked linear layers "
                                          "collapse into one linear model (a2 = w·(w·x + b) + b is still "
                                          "w'·x + b'), so this layer adds no power.",
                                    hint="use activation: relu in hidden layers.", id="linear_hidden"))
        elif layer.activation == "sigmoid":  # tanh, centred on 0 with a slope of 1, learns about as fast as relu
            warnings.append(Problem(path, "sigmoid in a hidden layer: its gradient is at most 0.25, and "
                                          "nearly 0 for large |z| on both sides, so gradient descent slows "
                                          "down; ReLU's gradient is 1 for every z > 0, and it learns faster.",
                                    hint="try activation: relu; or, when sigmoid is chosen on purpose (as in the "
                                         "course's coffee-roasting lab), say so with "
                                         "lint: {ignore: [sigmoid_hidden]}.", id="sigmoid_hidden"))
        elif layer.activation == "softmax":
            warnings.append(Problem(path, "softmax in a hidden layer forces its outputs to sum to 1, "
                                          "throwing information away.", hint="use activation: relu.",
                                    id="softmax_hidden"))
    return warnings


def _output(config: Config, task: str, classes: int, train_y: np.ndarray) -> list[Problem]:
    """Outputs whose values the loss reads differently from what they can be (K classes read as
    probabilities without a softmax are an error instead: nnlearn.model.shapes)."""
    output = config.model.layers[_output_index(config)]
    path = f"model.layers[{_output_index(config)}].activation"
    reading = output_reading(config)
    if task == "regression":
        return _regression_output(output.activation, path, train_y)
    if reading == "clipped" and output.activation not in ("sigmoid", "softmax"):
        return [Problem("compile.from_logits", f"from_logits: false says the outputs are probabilities, but "
                                               f"a {output.activation} output does not keep them within (0, "
                                               "1). Keras clips each into [1e-7, 1 - 1e-7], and an output "
                                               "outside gets no gradient: the model learns only from the "
                                               "examples whose outputs are inside.",
                        hint="set from_logits: true (the outputs are logits; the loss applies sigmoid).",
                        id="logits_as_probabilities")]
    if reading == "logits" and output.activation == "relu" and task != "multiclass":
        return [Problem(path, "a relu output is never negative, so as a logit it never gives a probability "
                              "below 0.5: the model can say no only with an output of exactly 0, which is "
                              "P = 0.5.", hint="use activation: linear in the output layer (logits can be "
                                               "any number).", id="relu_logits")]
    if reading == "logits" and output.activation == "tanh":
        e = math.e
        highest = 1 / (1 + 1 / e) if task != "multiclass" else e * e / (e * e + classes - 1)
        return [Problem(path, f"a tanh output keeps each logit within (-1, 1), so no probability can exceed "
                              f"{highest:.2f}: the model can never be confident.",
                        hint="use activation: linear in the output layer (logits can be any number).",
                        id="tanh_logits")]
    return []


def _regression_output(activation: str, path: str, train_y: np.ndarray) -> list[Problem]:
    if not len(train_y):
        return []
    smallest, largest = float(np.min(train_y)), float(np.max(train_y))
    if activation == "relu" and smallest < 0:
        return [Problem(path, f"a relu output can never be negative, but some targets are (the smallest is "
                              f"{smallest:.4g}).", hint="use activation: linear for regression.",
                        id="output_cannot_reach_targets")]
    if activation in ("sigmoid", "tanh"):
        low, high = (0, 1) if activation == "sigmoid" else (-1, 1)
        if smallest < low or largest > high:
            return [Problem(path, f"a {activation} output stays within ({low}, {high}), but the targets range "
                                  f"from {smallest:.4g} to {largest:.4g}.",
                            hint="use activation: linear for regression.", id="output_cannot_reach_targets")]
    return []


def _learning_rate(config: Config) -> list[Problem]:
    optimizer, epochs = config.compile.optimizer, config.fit.epochs
    rate, path = optimizer.learning_rate, "compile.optimizer.learning_rate"
    low, high = accepted_range(optimizer.type, epochs)
    if optimizer.type == "adam" and rate > high:
        return [Problem(path, f"Adam with learning_rate {rate:g} is above the usual {low:g} to {high:g}: "
                              "steps this large overshoot, so the training loss goes up between epochs as "
                              "well as down.", hint=f"start from {usual_rate('adam'):g}, or find one with "
                                                    "`nnlearn lr-find CONFIG`.", id="adam_learning_rate")]
    if optimizer.type == "adam" and rate < low:
        return [Problem(path, f"Adam with learning_rate {rate:g} is below the usual {low:g} to {high:g}: "
                              "steps this small barely move the weights, so the loss barely falls.",
                        hint=f"start from {usual_rate('adam'):g}.", id="adam_learning_rate")]
    usual = usual_rate("sgd")
    if optimizer.type == "sgd" and rate < low:
        # gradient descent with small steps follows the same path at any rate: rate × steps is what counts
        same = epochs * rate / usual
        as_far = (f"about as far as {same:.2g} epochs at {usual:g}" if same >= 1 else
                  f"less far than 1 epoch at {usual:g}")
        return [Problem(path, f"plain gradient descent with learning_rate {rate:g} for only {epochs} epochs: "
                              f"each step is under a tenth of the usual {usual:g}, so these {epochs} epochs go "
                              f"{as_far}.",
                        hint=f"raise the learning rate (e.g. {usual:g}), train longer, or use type: adam.",
                        id="tiny_gradient_steps")]
    return []


def _penalties(config: Config, train_rows: int) -> list[Problem]:
    warnings = []
    for index, layer in enumerate(config.model.layers):
        settings = getattr(layer, "kernel_regularizer", None)
        for name in ("l1", "l2"):
            value = getattr(settings, name, 0)
            if value < LARGE_PENALTY:
                continue
            course = (f" (λ = 2m·l2 = {2 * train_rows * value:.4g} in the course's λ/2m·Σw² with m = "
                      f"{train_rows})" if name == "l2" else "")
            warnings.append(Problem(f"model.layers[{index}].kernel_regularizer.{name}",
                                    f"{name} = {value:g} is at least ten times the usual 0.001 to 0.01{course}: "
                                    "gradient descent shrinks the penalised weights towards 0, the outputs vary "
                                    "less with x, and the model underfits (high bias).",
                                    hint=f"start from {name}: 0.001 to 0.01, or compare values with "
                                         f"`nnlearn sweep CONFIG --grid model.layers[{index}]."
                                         f"kernel_regularizer.{name}=0,0.001,0.01,0.1`.", id="large_penalty"))
    return warnings


def _size(total_params: int, train_rows: int, batch_size: int) -> list[Problem]:
    warnings = []
    if total_params > 100 * train_rows:
        warnings.append(Problem("model.layers", f"{total_params:,} parameters for {train_rows:,} training "
                                                "examples: a model this large can memorise the training "
                                                "set instead of learning from it (overfitting).",
                                hint="use fewer units or layers, dropout, or more data.", id="many_parameters"))
    if batch_size > train_rows:
        warnings.append(Problem("fit.batch_size", f"batch_size {batch_size} is larger than the {train_rows} "
                                                  "training rows: every step sees the whole training set "
                                                  "(batch gradient descent), so there is one step per epoch.",
                                hint=f"use a batch_size below {train_rows}, e.g. 32, or more epochs.",
                                id="batch_larger_than_data"))
    return warnings
