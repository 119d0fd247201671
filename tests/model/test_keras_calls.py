"""One mapping from the config to Keras: what model builds and what eject writes are the same calls."""

import pytest

from nnlearn.config.loading import config_from_text
from nnlearn.model.keras_calls import layer_calls, loss_call, metric_calls, optimizer_call
from tests.conftest import edited

EVERY_LAYER = """\
name: every
data: {source: digits}
model:
  layers:
    - {type: conv2d, filters: 4, kernel_size: 3, padding: same, activation: relu, kernel_regularizer: {l2: 0.01}}
    - {type: max_pooling2d, pool_size: 2}
    - {type: global_average_pooling2d}
    - {type: dropout, rate: 0.25}
    - {type: dense, units: 10}
compile: {loss: sparse_categorical_crossentropy, optimizer: {type: sgd, learning_rate: 0.1, momentum: 0.9}}
"""
SIGNALS = """\
name: waves
data: {source: signals}
model:
  layers:
    - {type: conv1d, filters: 8, kernel_size: 5, activation: relu}
    - {type: max_pooling1d, pool_size: 2}
    - {type: flatten}
    - {type: dense, units: 3}
compile: {loss: sparse_categorical_crossentropy}
"""


def test_the_written_code_says_what_the_calls_hold():
    config = config_from_text(EVERY_LAYER)
    assert [call.code() for call in layer_calls(config)] == [
        "keras.layers.Conv2D(4, 3, strides=1, padding='same', activation='relu', "
        "kernel_regularizer=keras.regularizers.L1L2(l1=0.0, l2=0.01))",
        "keras.layers.MaxPooling2D(2, padding='valid')",
        "keras.layers.GlobalAveragePooling2D()",
        "keras.layers.Dropout(0.25)",
        "keras.layers.Dense(10, activation='linear')"]
    assert loss_call(config).code() == "keras.losses.SparseCategoricalCrossentropy(from_logits=True)"
    assert optimizer_call(config).code() == "keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)"
    assert [call.code() for call in metric_calls(config)] == [
        "keras.metrics.SparseCategoricalAccuracy(name='accuracy')"]


@pytest.mark.tensorflow
@pytest.mark.parametrize("text", [EVERY_LAYER, SIGNALS, edited(EVERY_LAYER, ("type: sgd", "type: adam"),
                                                                ("momentum: 0.9", "beta_1: 0.9"))])
def test_built_and_ejected_objects_are_the_same(text):
    from nnlearn.model.build import keras

    if "beta_1" in text:  # Adam takes no momentum: the schema refuses it, with its fix
        from nnlearn.errors import ConfigError

        with pytest.raises(ConfigError):
            config_from_text(text)
        return
    config = config_from_text(text)
    for call in layer_calls(config) + [loss_call(config), optimizer_call(config)] + metric_calls(config):
        built, written = call.make(keras), eval(call.code(), {"keras": keras})
        assert type(built) is type(written)
        settings, again = built.get_config(), written.get_config()
        for key in ("name", "seed"):  # what the script leaves to Keras
            settings.pop(key, None)
            again.pop(key, None)
        assert settings == again, call.code()
