"""Step 1 and Step 2 in TensorFlow: the Sequential model, its loss, optimizer and metrics.

Import this module only where a model is built or loaded: it imports TensorFlow (~5 s).
"""

from __future__ import annotations

import numpy as np

from nnlearn.config.schema import Config
from nnlearn.model.keras_calls import layer_calls, loss_call, metric_calls, optimizer_call
from nnlearn.tensorflow_import import keras, tf


def build_model(config: Config, input_shape: tuple[int, ...]) -> "keras.Sequential":
    """The layer list as a keras.Sequential with an Input of the data's shape; seeds the weights."""
    keras.utils.set_random_seed(config.seed)
    layers = [keras.Input(shape=input_shape, name="x")] + [call.make(keras) for call in layer_calls(config)]
    return keras.Sequential(layers, name=config.name.replace(".", "_"))


def make_loss(config: Config):
    """The loss of Step 2; from_logits lets TensorFlow apply sigmoid/softmax stably inside it."""
    return loss_call(config).make(keras)


def make_metrics(config: Config) -> list:
    """Keras metric objects for the configured metric names; accuracy matches the loss and logits."""
    return [call.make(keras) for call in metric_calls(config)]


def make_optimizer(config: Config):
    return optimizer_call(config).make(keras)


def compile_model(model, config: Config) -> None:
    """Step 2: model.compile(loss=..., optimizer=..., metrics=...)."""
    model.compile(loss=make_loss(config), optimizer=make_optimizer(config), metrics=make_metrics(config))


def enable_determinism(seed: int) -> None:
    """Same seed, same machine → bit-identical numbers: seeds Python, NumPy, TensorFlow, and makes
    TensorFlow's ops deterministic."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def snapshot(model) -> dict[str, np.ndarray]:
    """Every variable of the model (weights, dropout seed state) and of its optimizer, as arrays."""
    arrays = {f"model_{index}": variable.numpy() for index, variable in enumerate(model.variables)}
    arrays.update({f"optimizer_{index}": variable.numpy()
                   for index, variable in enumerate(model.optimizer.variables)})
    return arrays


def restore(model, arrays: dict[str, np.ndarray]) -> None:
    """Put a snapshot back into a freshly built and compiled model of the same config."""
    model.optimizer.build(model.trainable_variables)
    for prefix, variables in (("model", model.variables), ("optimizer", model.optimizer.variables)):
        saved = sorted((key for key in arrays if key.startswith(prefix + "_")),
                       key=lambda key: int(key.rsplit("_", 1)[1]))
        if len(saved) != len(variables):
            raise ValueError(f"the checkpoint has {len(saved)} {prefix} variables; the model has "
                             f"{len(variables)}")
        for key, variable in zip(saved, variables):
            variable.assign(arrays[key])


def versions() -> dict[str, str]:
    return {"tensorflow": tf.__version__, "keras": keras.__version__}
