"""Warnings that name the concept behind a likely mistake. Never fatal; silenced with --quiet."""

from __future__ import annotations

import numpy as np

from nnlearn.config.learning_rates import usual_range, usual_rate
from nnlearn.config.schema import Config, Conv1D, Conv2D, Dense
from nnlearn.data.dataset import Dataset
from nnlearn.errors import Problem
from nnlearn.model.task import task_of

COLLAPSING_PENALTY = 0.1  # l1 or l2 from here on outweighs a loss of order 1: the weights shrink to about 0


def lint(prepared) -> list[Problem]:
    """Every warning for a prepared config (one whose model already fits its data), less those its
    `lint.ignore` names: choices the config makes on purpose."""
    train_y = prepared.splits.train.y
    warnings = _lint(prepared.config, prepared.dataset, sum(layer.params for layer in prepared.layers),
                     len(train_y), train_y)
    rows, batch = len(train_y), prepared.config.fit.batch_size
    if batch > rows:
        warnings.append(Problem("fit.batch_size", f"batch_size {batch} is larger than the {rows} training rows: "
                                "every step sees the whole training set (batch gradient descent), so there "
                                "is one step per epoch.", hint=f"use a batch_size below {rows}, e.g. 32, or "
                                                               "more epochs.", id="batch_larger_than_data"))
    ignored = set(prepared.config.lint.ignore)
    return [warning for warning in warnings if warning.id not in ignored]


def _lint(config: Config, dataset: Dataset, total_params: int, train_rows: int,
          train_y: np.ndarray | None = None) -> list[Problem]:
    layers = config.model.layers
    weighted = (Dense, Conv2D, Conv1D)
    last = max(index for index, layer in enumerate(layers) if isinstance(layer, weighted))
    return (_hidden_layer_warnings(layers, last, weighted) + _output_warnings(config, layers[last], last, train_y)
            + _optimizer_warnings(config) + _size_warnings(layers, total_params, train_rows))


def _hidden_layer_warnings(layers: list, last: int, weighted: tuple) -> list[Problem]:
    """Activations that make a hidden layer weaker than it could be."""
    warnings: list[Problem] = []
    for index, layer in enumerate(layers):
        if not isinstance(layer, weighted) or index == last:
            continue
        path = f"model.layers[{index}].activation"
        if layer.activation == "linear":
            warnings.append(Problem(path, "a hidden layer with a linear activation: stacked linear layers "
                                          "collapse into one linear model (a2 = w·(w·x + b) + b is still "
                                          "w'·x + b'), so this layer adds no power.",
                                    hint="use activation: relu in hidden layers.", id="linear_hidden"))
        elif layer.activation in ("sigmoid", "tanh"):
            warnings.append(Problem(path, f"{layer.activation} in a hidden layer: its gradient is nearly "
                                          "flat for large |z| on both sides, so gradient descent slows "
                                          "down; ReLU is flat on one side only and usually learns faster.",
                                    hint=f"try activation: relu; or, when {layer.activation} is chosen on "
                                         "purpose (as in the course's coffee-roasting lab), say so with "
                                         f"lint: {{ignore: [{layer.activation}_hidden]}}.",
                                    id=f"{layer.activation}_hidden"))
        elif layer.activation == "softmax":
            warnings.append(Problem(path, "softmax in a hidden layer forces its outputs to sum to 1, "
                                          "throwing information away.", hint="use activation: relu.",
                                    id="softmax_hidden"))
    return warnings


def _output_warnings(config: Config, output, last: int, train_y: np.ndarray | None) -> list[Problem]:
    """An output layer that squashes twice, too early, or cannot reach the targets."""
    warnings: list[Problem] = []
    output_path = f"model.layers[{last}].activation"
    regression, from_logits = task_of(config) == "regression", config.compile.from_logits
    if output.activation in ("softmax", "sigmoid") and not regression:
        if from_logits:
            warnings.append(Problem(output_path, f"the output layer applies {output.activation} and the "
                                                 "loss has from_logits: true, which applies it again: the "
                                                 "outputs are squashed twice and learning stalls.",
                                    hint="use activation: linear in the output layer (logits).",
                                    id="squashed_twice"))
        else:
            warnings.append(Problem(output_path, f"{output.activation} in the output layer with "
                                                 "from_logits: false works, but the log of a rounded "
                                                 "probability is numerically unstable (log 0 = -inf).",
                                    hint="prefer activation: linear with from_logits: true.",
                                    id="probabilities_from_output"))
    elif output.activation == "linear" and not regression and not from_logits:
        warnings.append(Problem("compile.from_logits", "the output layer emits logits (linear) but the loss "
                                                      "expects probabilities (from_logits: false).",
                                hint="set from_logits: true.", id="logits_as_probabilities"))
    if regression and train_y is not None and len(train_y):
        if output.activation == "relu" and float(np.min(train_y)) < 0:
            warnings.append(Problem(output_path, "a relu output can never be negative, but some targets "
                                                 f"are (the smallest is {float(np.min(train_y)):.4g}).",
                                    hint="use activation: linear for regression.",
                                    id="output_cannot_reach_targets"))
        elif output.activation in ("sigmoid", "softmax", "tanh"):
            low, high = (0, 1) if output.activation != "tanh" else (-1, 1)
            if float(np.min(train_y)) < low or float(np.max(train_y)) > high:
                warnings.append(Problem(output_path, f"a {output.activation} output stays within "
                                                     f"({low}, {high}), but the targets range from "
                                                     f"{float(np.min(train_y)):.4g} to "
                                                     f"{float(np.max(train_y)):.4g}.",
                                        hint="use activation: linear for regression.",
                                        id="output_cannot_reach_targets"))
    return warnings


def _optimizer_warnings(config: Config) -> list[Problem]:
    """A learning rate far from what the optimizer needs."""
    warnings: list[Problem] = []
    optimizer = config.compile.optimizer
    low, high = usual_range("adam")
    if optimizer.type == "adam" and not low <= optimizer.learning_rate <= high:
        warnings.append(Problem("compile.optimizer.learning_rate",
                                f"Adam with learning_rate {optimizer.learning_rate:g} is far outside the "
                                f"usual {low:g} to {high:g}: too large diverges, too small barely moves.",
                                hint=f"start from {usual_rate('adam'):g}.", id="adam_learning_rate"))
    if optimizer.type == "sgd" and optimizer.learning_rate < usual_rate("sgd") / 10 and config.fit.epochs < 100:
        warnings.append(Problem("compile.optimizer.learning_rate",
                                f"plain gradient descent with learning_rate {optimizer.learning_rate:g} "
                                f"for only {config.fit.epochs} epochs: each step is tiny, so the cost will "
                                "hardly go down.", id="tiny_gradient_steps",
                                hint=f"raise the learning rate (e.g. {usual_rate('sgd'):g}), train longer, "
                                     "or use type: adam."))
    return warnings


def _size_warnings(layers: list, total_params: int, train_rows: int) -> list[Problem]:
    """A penalty that outweighs the loss; far more parameters than examples."""
    warnings: list[Problem] = []
    for index, layer in enumerate(layers):
        settings = getattr(layer, "kernel_regularizer", None)
        if settings is None:
            continue
        for name in ("l1", "l2"):
            value = getattr(settings, name)
            if value >= COLLAPSING_PENALTY:
                warnings.append(Problem(f"model.layers[{index}].kernel_regularizer.{name}",
                                        f"{name} = {value:g} is so large that the penalty outweighs the loss "
                                        f"itself (λ = 2m·l2 = {2 * train_rows * value:.4g} in the course's λ/2m·Σw²"
                                        f" with m = {train_rows}): gradient descent shrinks the weights to "
                                        "about 0, and the model predicts nearly the same for every x "
                                        "(underfitting, high bias)." if name == "l2" else
                                        f"{name} = {value:g} is so large that the penalty outweighs the loss "
                                        "itself: gradient descent drives the weights to 0, and the model "
                                        "predicts nearly the same for every x (underfitting, high bias).",
                                        hint=f"start from {name}: 0.001 to 0.01, or compare values with "
                                             f"`nnlearn sweep CONFIG --grid model.layers[{index}]."
                                             f"kernel_regularizer.{name}=0,0.001,0.01,0.1`.",
                                        id="collapsing_penalty"))
    if total_params > 100 * train_rows:
        warnings.append(Problem("model.layers", f"{total_params:,} parameters for {train_rows:,} training "
                                                "examples: a model this large can memorise the training "
                                                "set instead of learning from it (overfitting).",
                                hint="use fewer units or layers, dropout, or more data.", id="many_parameters"))
    return warnings


