"""Warnings that name the concept behind a likely mistake. Never fatal; silenced with --quiet."""

from __future__ import annotations

import math

import numpy as np

from nnlearn.config.learning_rates import usual_range, usual_rate
from nnlearn.config.schema import Config, Conv1D, Conv2D, Dense
from nnlearn.data.dataset import Dataset
from nnlearn.errors import Problem
from nnlearn.model.task import output_reading, task_of

COLLAPSING_PENALTY = 0.1  # l1 or l2 from here on outweighs a loss of order 1: the weights shrink to about 0


def lint(prepared) -> list[Problem]:
    """Every warning for a prepared config (one whose model already fits its data)."""
    train_y = prepared.splits.train.y
    warnings = _lint(prepared.config, prepared.dataset, sum(layer.params for layer in prepared.layers),
                     len(train_y), train_y)
    rows, batch = len(train_y), prepared.config.fit.batch_size
    if batch > rows:
        warnings.append(Problem("fit.batch_size", f"batch_size {batch} is larger than the {rows} training rows: "
                                "every step sees the whole training set (batch gradient descent), so there "
                                "is one step per epoch.", hint=f"use a batch_size below {rows}, e.g. 32, or "
                                                               "more epochs."))
    return warnings


def _bounded_logits(activation: str, path: str, task: str, classes: int) -> Problem:
    """A relu or tanh output layer squeezes the logits, so the probabilities cannot cover their range."""
    if activation == "relu":
        return Problem(path, "a relu output is never negative, so as a logit it never gives a probability "
                             "below 0.5: the model can say no only with an output of exactly 0, which is "
                             "P = 0.5.",
                       hint="use activation: linear in the output layer (logits can be any number).")
    e = math.e
    highest = 1 / (1 + 1 / e) if task != "multiclass" else e * e / (e * e + classes - 1)
    return Problem(path, f"a tanh output keeps each logit within (-1, 1), so no probability can exceed "
                         f"{highest:.2f}: the model can never be confident.",
                   hint="use activation: linear in the output layer (logits can be any number).")


def _lint(config: Config, dataset: Dataset, total_params: int, train_rows: int,
          train_y: np.ndarray | None = None) -> list[Problem]:
    warnings: list[Problem] = []
    layers = config.model.layers
    weighted = (Dense, Conv2D, Conv1D)
    last = max(index for index, layer in enumerate(layers) if isinstance(layer, weighted))
    for index, layer in enumerate(layers):
        if not isinstance(layer, weighted) or index == last:
            continue
        path = f"model.layers[{index}].activation"
        if layer.activation == "linear":
            warnings.append(Problem(path, "a hidden layer with a linear activation: stacked linear layers "
                                          "collapse into one linear model (a2 = w·(w·x + b) + b is still "
                                          "w'·x + b'), so this layer adds no power.",
                                    hint="use activation: relu in hidden layers."))
        elif layer.activation in ("sigmoid", "tanh"):
            warnings.append(Problem(path, f"{layer.activation} in a hidden layer: its gradient is nearly "
                                          "flat for large |z| on both sides, so gradient descent slows "
                                          "down; ReLU is flat on one side only and usually learns faster.",
                                    hint="try activation: relu."))
        elif layer.activation == "softmax":
            warnings.append(Problem(path, "softmax in a hidden layer forces its outputs to sum to 1, "
                                          "throwing information away.", hint="use activation: relu."))
    output = layers[last]
    output_path = f"model.layers[{last}].activation"
    task = task_of(config, dataset.kind)
    regression = task == "regression"
    reading = output_reading(config)
    if not regression and reading == "clipped" and output.activation not in ("sigmoid", "softmax"):
        # the same with K classes is an error (nnlearn.model.shapes)
        warnings.append(Problem("compile.from_logits", f"from_logits: false says the outputs are "
                                                      f"probabilities, but a {output.activation} output "
                                                      "does not keep them within (0, 1). Keras clips each "
                                                      "into [1e-7, 1 - 1e-7], and an output outside gets "
                                                      "no gradient: the model learns only from the "
                                                      "examples whose outputs are inside.",
                                hint="set from_logits: true (the outputs are logits; the loss applies "
                                     "sigmoid)."))
    if not regression and reading == "logits" and (output.activation == "tanh" or (
            output.activation == "relu" and task != "multiclass")):  # softmax of relu outputs can be sure
        warnings.append(_bounded_logits(output.activation, output_path, task, dataset.n_classes))
    if regression and train_y is not None and len(train_y):
        if output.activation == "relu" and float(np.min(train_y)) < 0:
            warnings.append(Problem(output_path, "a relu output can never be negative, but some targets "
                                                 f"are (the smallest is {float(np.min(train_y)):.4g}).",
                                    hint="use activation: linear for regression."))
        elif output.activation in ("sigmoid", "softmax", "tanh"):
            low, high = (0, 1) if output.activation != "tanh" else (-1, 1)
            if float(np.min(train_y)) < low or float(np.max(train_y)) > high:
                warnings.append(Problem(output_path, f"a {output.activation} output stays within "
                                                     f"({low}, {high}), but the targets range from "
                                                     f"{float(np.min(train_y)):.4g} to "
                                                     f"{float(np.max(train_y)):.4g}.",
                                        hint="use activation: linear for regression."))
    optimizer = config.compile.optimizer
    low, high = usual_range("adam")
    if optimizer.type == "adam" and not low <= optimizer.learning_rate <= high:
        warnings.append(Problem("compile.optimizer.learning_rate",
                                f"Adam with learning_rate {optimizer.learning_rate:g} is far outside the "
                                f"usual {low:g} to {high:g}: too large diverges, too "
                                "small barely moves.", hint=f"start from {usual_rate('adam'):g}."))
    if optimizer.type == "sgd" and optimizer.learning_rate < usual_rate("sgd") / 10 and config.fit.epochs < 100:
        warnings.append(Problem("compile.optimizer.learning_rate",
                                f"plain gradient descent with learning_rate {optimizer.learning_rate:g} "
                                f"for only {config.fit.epochs} epochs: each step is tiny, so the cost will "
                                "hardly go down.",
                                hint=f"raise the learning rate (e.g. {usual_rate('sgd'):g}), train longer, "
                                     "or use type: adam."))
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
                                             f"kernel_regularizer.{name}=0,0.001,0.01,0.1`."))
    if total_params > 100 * train_rows:
        warnings.append(Problem("model.layers", f"{total_params:,} parameters for {train_rows:,} training "
                                                "examples: a model this large can memorise the training "
                                                "set instead of learning from it (overfitting).",
                                hint="use fewer units or layers, dropout, or more data."))
    return warnings
