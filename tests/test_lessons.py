"""Every lesson runs, and its measured numbers show the relation it teaches."""

import json

import pytest
from typer.testing import CliRunner

from nnlearn.cli import app
from nnlearn.lessons import LESSONS

runner = CliRunner()


@pytest.fixture(scope="module")
def numbers():
    """Run each lesson once through the CLI with --json."""
    results = {}
    for lesson in LESSONS:
        result = runner.invoke(app, ["lesson", lesson.name, "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["seconds"] < 60 and data["explanation"]
        results[lesson.name] = data["numbers"]
    return results


def test_the_list():
    result = runner.invoke(app, ["lesson", "--json"])
    assert [item["name"] for item in json.loads(result.stdout)["lessons"]] == [lesson.name for lesson in LESSONS]
    assert len(LESSONS) == 10
    assert runner.invoke(app, ["lesson", "sofmax"]).exit_code == 2


def test_logistic_regression_by_hand_equals_keras(numbers):
    n = numbers["logistic-regression"]
    assert n["max_abs_w_difference"] < 1e-4 and abs(n["numpy_b"] - n["keras_b"]) < 1e-4
    assert n["numpy_accuracy"] == n["keras_accuracy"] > 0.95


def test_linear_collapse(numbers):
    n = numbers["linear-collapse"]
    assert n["max_abs_output_difference"] < 1e-4
    assert n["xor_linear_accuracy"] < 0.7 < 0.9 < n["xor_relu_accuracy"]
    assert n["moons_relu_accuracy"] > n["moons_linear_accuracy"]


def epochs(value):
    return float("inf") if value is None else value


def test_relu_no_slower_than_sigmoid(numbers):
    n = numbers["relu-vs-sigmoid"]
    assert n["relu_epochs_to_target"] is not None
    assert epochs(n["relu_epochs_to_target"]) <= epochs(n["sigmoid_epochs_to_target"])


def test_softmax(numbers):
    n = numbers["softmax"]
    assert n["sum"] == pytest.approx(1.0) and n["max_abs_difference"] < 1e-12
    assert n["keras_loss"] == pytest.approx(n["minus_log_a_y"], rel=1e-6)


def test_from_logits_is_finite_where_the_naive_loss_is_not(numbers):
    n = numbers["from-logits"]
    assert n["moderate_y0_naive_loss"] == pytest.approx(n["moderate_y0_exact_loss"], rel=1e-5)
    for y in ("y0", "y2"):
        assert n[f"extreme_{y}_from_logits_loss"] == pytest.approx(n[f"extreme_{y}_exact_loss"], abs=1e-3)
        assert n[f"extreme_{y}_from_logits_gradient_finite"] is True
    assert n["extreme_y0_naive_loss"] in ("nan", "inf") or n["extreme_y2_naive_loss"] in ("nan", "inf")
    assert not (n["extreme_y0_naive_gradient_finite"] and n["extreme_y2_naive_gradient_finite"])


def test_multiclass_sums_to_one_multilabel_does_not(numbers):
    n = numbers["multiclass-vs-multilabel"]
    assert n["multiclass_output_sums_first3"] == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)
    assert any(abs(total - 1) > 0.05 for total in n["multilabel_output_sums_first3"])
    assert n["multiclass_accuracy"] > 0.9 and n["multilabel_per_label_accuracy"] > 0.7


def test_adam_reaches_the_target_sooner(numbers):
    n = numbers["adam-vs-gd"]
    assert n["adam_epochs_to_target"] is not None
    assert epochs(n["adam_epochs_to_target"]) < epochs(n["sgd_epochs_to_target"])


def test_dense_vs_conv(numbers):
    n = numbers["dense-vs-conv"]
    assert n["conv_params"] < n["dense_params"]
    assert n["conv_test_accuracy"] > 0.93 and n["dense_test_accuracy"] > 0.93


def test_derivative(numbers):
    n = numbers["derivative"]
    assert n["relative_difference"] < 1e-2
    assert n["change_in_J"] == pytest.approx(n["k_times_epsilon"], rel=1e-2)


def test_backprop_cost(numbers):
    n = numbers["backprop-cost"]
    assert n["finite_difference_forward_passes"] == 2 * n["params_P"]
    assert n["backprop_steps_N_plus_P"] == n["nodes_N"] + n["params_P"]
    assert n["finite_difference_steps_N_times_P"] == n["nodes_N"] * n["params_P"]
    assert n["finite_difference_seconds"] > n["backward_seconds"]
