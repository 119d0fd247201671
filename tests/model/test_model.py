import numpy as np
import pytest

from nnlearn.config.loading import load_config
from nnlearn.model.prepare import prepare
from nnlearn.model.shapes import total_params
from tests.conftest import CONFIGS

pytestmark = pytest.mark.tensorflow


@pytest.fixture(scope="module")
def tf_model():
    import nnlearn.model.build

    return nnlearn.model.build


@pytest.mark.parametrize("name", ["softmax_digits", "cnn_digits", "mlp_regression", "logistic_regression"])
def test_keras_parameter_count_equals_hand_count(name, tf_model):
    prepared = prepare(load_config(CONFIGS / f"{name}.yaml"), CONFIGS)
    model = tf_model.build_model(prepared.config, prepared.input_shape)
    assert model.count_params() == total_params(prepared.layers)
    assert [tuple(layer.output.shape[1:]) for layer in model.layers] == \
        [layer.output_shape for layer in prepared.layers]


def test_same_seed_same_initial_weights(tf_model):
    prepared = prepare(load_config(CONFIGS / "softmax_digits.yaml"), CONFIGS)
    first = tf_model.build_model(prepared.config, prepared.input_shape).get_weights()
    again = tf_model.build_model(prepared.config, prepared.input_shape).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, again))


def test_binary_accuracy_thresholds_logits_at_zero(tf_model):
    prepared = prepare(load_config(CONFIGS / "logistic_regression.yaml"), CONFIGS)
    metric = tf_model.make_metrics(prepared.config)[0]
    metric.update_state(np.array([[1.0], [0.0]]), np.array([[0.3], [-0.2]]))  # logits, not probabilities
    assert float(metric.result()) == 1.0
