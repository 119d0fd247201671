import json
import math

import pytest

from nnlearn.config.loading import config_from_text, load_config
from nnlearn.model.baselines import initial_loss_gap
from nnlearn.model.prepare import prepare
from nnlearn.teaching.explain import explain_prepared
from nnlearn.teaching.lint import lint
from tests.conftest import CONFIGS, MOONS, TINY, edited, invoke


def explained(name):
    return explain_prepared(prepare(load_config(CONFIGS / f"{name}.yaml"), CONFIGS))


def test_softmax_digits_by_hand():
    explanation = explained("softmax_digits")
    assert [row.formula for row in explanation.layers] == ["64×25 + 25 = 1625", "25×15 + 15 = 390",
                                                           "15×10 + 10 = 160"]
    assert explanation.total_params == 1625 + 390 + 160
    assert "10 logits" in explanation.output and "−log a_y" in explanation.output
    assert explanation.expected_initial_loss == pytest.approx(math.log(10))
    assert explanation.warnings == []


@pytest.mark.tensorflow
@pytest.mark.parametrize("name", sorted(path.stem for path in CONFIGS.glob("*.yaml")))
def test_total_equals_keras_count_params_and_shipped_configs_warn_only_on_purpose(name):
    from nnlearn.model.build import build_model

    explanation = explained(name)
    prepared = prepare(load_config(CONFIGS / f"{name}.yaml"), CONFIGS)
    assert explanation.total_params == build_model(prepared.config, prepared.input_shape).count_params()
    # the course's coffee-roasting network keeps its sigmoid units on purpose, and its config says so
    # (lint.ignore: tests/teaching/test_lint_ids.py checks the warning comes back without it)
    assert [warning.path for warning in explanation.warnings] == [], [str(w) for w in explanation.warnings]


def test_binary_expected_loss_is_ln2():
    assert explained("logistic_regression").expected_initial_loss == pytest.approx(math.log(2))


def lint_of(text):
    prepared = prepare(config_from_text(text))
    return {w.path: w for w in lint(prepared)}


@pytest.mark.parametrize("change, path, fragment", [
    (("units: 8, activation: relu", "units: 8, activation: linear"), "model.layers[0].activation", "collapse"),
    (("units: 8, activation: relu", "units: 8, activation: sigmoid"), "model.layers[0].activation", "slows down"),
    (("learning_rate: 0.05", "learning_rate: 5"), "compile.optimizer.learning_rate", "overshoot"),
    (("units: 8, activation: relu", "units: 4000, activation: relu"), "model.layers", "memorise"),
])
def test_lint_names_the_concept(change, path, fragment):
    warnings = lint_of(edited(TINY, change))
    assert path in warnings and fragment in warnings[path].message


def test_lint_softmax_output_without_from_logits_and_sgd_tiny_steps():
    text = edited(TINY, ("units: 3, activation: linear", "units: 3, activation: softmax"))
    text = edited(text, ("optimizer: {type: adam, learning_rate: 0.05}",
                        "from_logits: false\n  optimizer: {type: sgd, learning_rate: 0.00001}"))
    warnings = lint_of(text)
    # Keras 3 computes this loss from the values before the softmax: as stable as from_logits: true
    # (tests/model/test_output_truth.py), so the softmax output is not warned about
    assert "model.layers[1].activation" not in warnings
    assert "less far than 1 epoch at 0.01" in warnings["compile.optimizer.learning_rate"].message


def test_lint_regression_outputs_that_cannot_reach_the_targets():
    base = ("data: {source: linear, n_samples: 100}\ncompile: {loss: mean_squared_error}\n"
            "model: {layers: [{type: dense, units: 4, activation: relu}, {type: dense, units: 1, "
            "activation: ACT}]}\n")
    assert "never be negative" in lint_of(edited(base, ("ACT", "relu")))["model.layers[1].activation"].message
    assert "stays within" in lint_of(edited(base, ("ACT", "sigmoid")))["model.layers[1].activation"].message


def test_initial_loss_gap():
    assert not initial_loss_gap(2.4, math.log(10))
    assert not initial_loss_gap(1.72, math.log(3))
    assert initial_loss_gap(9.0, math.log(10))
    assert initial_loss_gap(float("nan"), math.log(2))


def test_explain_command_json_and_quiet(write_config):
    result = invoke("explain", CONFIGS / "cnn_digits.yaml", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["layers"][0]["formula"] == "3×3×1×32 + 32 = 320"
    noisy = write_config(edited(TINY, ("activation: relu", "activation: linear")))
    loud = invoke("explain", noisy)
    assert "collapse" in loud.output
    assert "collapse" not in invoke("explain", noisy, "--quiet").output
    assert "collapse" in invoke("validate", noisy).output
    assert invoke("validate", noisy).exit_code == 0  # warnings never fail


@pytest.mark.tensorflow
def test_train_reports_the_initial_loss_and_a_setup_mistake(write_config):
    fine = invoke("train", str(write_config()), "--no-plots", "--set", "fit.epochs=1")
    assert "Loss before training" in fine.output
    logits_as_probabilities = write_config(edited(MOONS, ("loss: binary_crossentropy,",
                                                          "loss: binary_crossentropy, from_logits: false,")),
                                           "mistake.yaml")
    result = invoke("train", logits_as_probabilities, "--no-plots", "--set", "fit.epochs=1")
    assert result.exit_code == 0
    assert "from_logits: false says the outputs are probabilities" in result.output  # the lint warning
    assert "far from the expected ln 2" in result.output  # the measured initial loss (2.43 > 2·ln 2 + 1)


def test_validate_explain_and_train_show_the_same_warnings(write_config):
    """One prepared object, one lint: the batch-size warning is no longer validate's alone."""
    from nnlearn.workflows.validate import validate_file

    path = write_config()
    validated = {problem.path for problem in validate_file(path, ["fit.batch_size=500"]).warnings}
    explained = invoke("explain", path, "--set", "fit.batch_size=500", "--json")
    assert validated == {warning["path"] for warning in json.loads(explained.stdout)["warnings"]}
    assert "fit.batch_size" in validated


@pytest.mark.parametrize("activation, from_logits, says, never", [
    ("linear", "true", "3 logits z, one per class; softmax inside the loss", "probabilities a = softmax"),
    ("softmax", "false", "3 probabilities a = softmax(z), one per class, computed by the output layer", "logit"),
])
def test_explain_calls_the_outputs_what_they_are(activation, from_logits, says, never):
    """A softmax or sigmoid output layer emits probabilities, not logits: explain says which it is (a softmax
    told it gives logits, or K linear outputs read as probabilities, are validate errors instead)."""
    text = edited(TINY, ("units: 3, activation: linear", f"units: 3, activation: {activation}"))
    text = edited(text, ("optimizer:", f"from_logits: {from_logits}\n  optimizer:"))
    output = explain_prepared(prepare(config_from_text(text))).output
    assert says in output and never not in output


def test_explain_a_sigmoid_output_per_label_is_probabilities_not_logits():
    text = ("data: {source: multilabel, n_samples: 100, n_labels: 2}\ncompile: {loss: binary_crossentropy, "
            "from_logits: false}\nmodel: {layers: [{type: dense, units: 4, activation: relu}, "
            "{type: dense, units: 2, activation: sigmoid}]}\n")
    output = explain_prepared(prepare(config_from_text(text))).output
    assert output.startswith("2 probabilities a = sigmoid(z), one per label") and "logit" not in output
    binary = explained("moons_mlp").output
    assert binary.startswith("1 logit z; sigmoid inside the loss")
