"""The one mapping from a config to Keras: which layer, loss, metric and optimizer each setting becomes,
written as data (a `Call`). `model` builds the objects from it; `eject` writes the same calls as code,
so a new layer type is added here once and builds and ejects alike. No TensorFlow is imported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
from nnlearn.model.task import decision_threshold, output_reading

# what an ejected layer leaves out: its name, and its seed (the script seeds Keras once; eject writes a
# Dropout's own seed itself)
LAYER_ONLY = ("name", "seed")


@dataclass
class Call:
    """keras.<module>.<name>(*args, **kwargs); a keyword's value may itself be a Call."""

    module: str
    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    build_only: tuple = ()  # keywords the built object gets but the written code leaves out

    def make(self, keras):
        """The Keras object (keras: the imported module)."""
        kwargs = {key: value.make(keras) if isinstance(value, Call) else value
                  for key, value in self.kwargs.items() if value is not None}
        return getattr(getattr(keras, self.module), self.name)(*self.args, **kwargs)

    def code(self) -> str:
        """The same call as Python source, for a standalone script."""
        words = [repr(arg) for arg in self.args]
        words += [f"{key}={value.code() if isinstance(value, Call) else repr(value)}"
                  for key, value in self.kwargs.items() if value is not None and key not in self.build_only]
        return f"keras.{self.module}.{self.name}({', '.join(words)})"


def _regularizer(layer) -> Call | None:
    settings = layer.kernel_regularizer
    return None if settings is None else Call("regularizers", "L1L2", kwargs={"l1": settings.l1, "l2": settings.l2})


def layer_call(layer, index: int, seed: int) -> Call:
    """One config layer as a Keras layer call (named `<type>_<index>`)."""
    name = f"{layer.type}_{index}"
    if isinstance(layer, Dense):
        return Call("layers", "Dense", (layer.units,), {"activation": layer.activation,
                                                        "kernel_regularizer": _regularizer(layer), "name": name})
    if isinstance(layer, (Conv2D, Conv1D)):
        return Call("layers", "Conv2D" if isinstance(layer, Conv2D) else "Conv1D", (layer.filters, layer.kernel_size),
                    {"strides": layer.strides, "padding": layer.padding, "activation": layer.activation,
                     "kernel_regularizer": _regularizer(layer), "name": name})
    if isinstance(layer, (MaxPooling2D, MaxPooling1D)):
        return Call("layers", "MaxPooling2D" if isinstance(layer, MaxPooling2D) else "MaxPooling1D",
                    (layer.pool_size,), {"strides": layer.strides, "padding": layer.padding, "name": name})
    if isinstance(layer, Dropout):
        return Call("layers", "Dropout", (layer.rate,), {"seed": seed + index, "name": name})
    kinds = {Flatten: "Flatten", GlobalAveragePooling1D: "GlobalAveragePooling1D",
             GlobalAveragePooling2D: "GlobalAveragePooling2D"}
    return Call("layers", kinds[type(layer)], kwargs={"name": name})


def layer_calls(config: Config) -> list[Call]:
    calls = [layer_call(layer, index, config.seed) for index, layer in enumerate(config.model.layers)]
    for call in calls:
        call.build_only = LAYER_ONLY
    return calls


LOSSES = {"binary_crossentropy": "BinaryCrossentropy", "sparse_categorical_crossentropy":
          "SparseCategoricalCrossentropy", "categorical_crossentropy": "CategoricalCrossentropy",
          "mean_squared_error": "MeanSquaredError"}


def loss_call(config: Config) -> Call:
    """Step 2's loss; from_logits lets TensorFlow apply sigmoid/softmax stably inside it."""
    loss = config.compile.loss
    if loss == "mean_squared_error":
        return Call("losses", LOSSES[loss])
    return Call("losses", LOSSES[loss], kwargs={"from_logits": config.compile.from_logits})


def metric_calls(config: Config) -> list[Call]:
    """The configured metrics; accuracy reads the outputs as the loss does (nnlearn.model.task: a logit of
    0 is a probability of 0.5)."""
    loss, calls = config.compile.loss, []
    for name in config.compile.resolved_metrics():
        if name == "accuracy":
            if loss == "binary_crossentropy":
                threshold = decision_threshold(output_reading(config))
                calls.append(Call("metrics", "BinaryAccuracy", kwargs={"name": "accuracy", "threshold": threshold}))
            else:
                kind = "SparseCategoricalAccuracy" if loss == "sparse_categorical_crossentropy" else \
                    "CategoricalAccuracy"
                calls.append(Call("metrics", kind, kwargs={"name": "accuracy"}))
        else:
            kind = {"mae": "MeanAbsoluteError", "mse": "MeanSquaredError", "r2": "R2Score"}[name]
            calls.append(Call("metrics", kind, kwargs={"name": name}))
    return calls


def optimizer_call(config: Config) -> Call:
    optimizer = config.compile.optimizer
    if optimizer.type == "sgd":
        return Call("optimizers", "SGD", kwargs={"learning_rate": optimizer.learning_rate,
                                                 "momentum": optimizer.momentum})
    return Call("optimizers", "Adam", kwargs={"learning_rate": optimizer.learning_rate})
