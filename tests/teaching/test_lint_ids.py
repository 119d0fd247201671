"""Every config warning has a stable id; `lint: {ignore: [...]}` leaves out the ones a config chose on
purpose, and validate refuses an id it does not know, with the one meant."""

import json
import typing

import pytest
import yaml

from nnlearn.config.loading import config_from_text, load_config
from nnlearn.config.schema import LintWarning
from nnlearn.model.prepare import prepare
from nnlearn.teaching.lint import lint
from tests.conftest import CONFIGS, MOONS, TINY, edited, invoke

REGRESSION = ("data: {source: linear, n_samples: 100}\ncompile: {loss: mean_squared_error}\n"
              "model: {layers: [{type: dense, units: 4, activation: relu}, {type: dense, units: 1, "
              "activation: ACT}]}\n")
# a binary classifier: a relu or tanh output as a logit, or outputs read as probabilities (from_logits: false)
MOONS_LOGITS = MOONS
# one config that makes each warning happen
MADE_TO_HAPPEN = {
    "linear_hidden": edited(TINY, ("units: 8, activation: relu", "units: 8, activation: linear")),
    "sigmoid_hidden": edited(TINY, ("units: 8, activation: relu", "units: 8, activation: sigmoid")),
    "softmax_hidden": edited(TINY, ("units: 8, activation: relu", "units: 8, activation: softmax")),
    "logits_as_probabilities": edited(MOONS_LOGITS, ("optimizer:", "from_logits: false, optimizer:")),
    "relu_logits": edited(MOONS_LOGITS, ("{type: dense, units: 1}", "{type: dense, units: 1, activation: relu}")),
    "tanh_logits": edited(MOONS_LOGITS, ("{type: dense, units: 1}", "{type: dense, units: 1, activation: tanh}")),
    "output_cannot_reach_targets": edited(REGRESSION, ("ACT", "relu")),
    "adam_learning_rate": edited(TINY, ("learning_rate: 0.05", "learning_rate: 5")),
    "tiny_gradient_steps": edited(TINY, ("{type: adam, learning_rate: 0.05}", "{type: sgd, learning_rate: 1e-5}")),
    "large_penalty": edited(TINY, ("units: 8, activation: relu",
                                   "units: 8, activation: relu, kernel_regularizer: {l2: 0.5}")),
    "many_parameters": edited(TINY, ("units: 8, activation: relu", "units: 4000, activation: relu")),
    "batch_larger_than_data": edited(TINY, ("batch_size: 32", "batch_size: 500")),
}


def ids_of(text: str) -> list[str]:
    return [warning.id for warning in lint(prepare(config_from_text(text)))]


def test_every_warning_id_is_made_to_happen_here():
    assert sorted(MADE_TO_HAPPEN) == sorted(typing.get_args(LintWarning))


@pytest.mark.parametrize("warning_id", sorted(MADE_TO_HAPPEN))
def test_each_warning_has_its_id_and_ignoring_it_leaves_out_that_one_only(warning_id):
    text = MADE_TO_HAPPEN[warning_id]
    given = ids_of(text)
    assert warning_id in given and set(given) <= set(typing.get_args(LintWarning))
    quiet = ids_of(text + f"lint: {{ignore: [{warning_id}]}}\n")
    assert warning_id not in quiet and sorted(quiet) == sorted(i for i in given if i != warning_id)


def test_the_coffee_config_says_its_sigmoid_units_are_on_purpose():
    config = load_config(CONFIGS / "coffee_roasting.yaml")
    assert config.lint.ignore == ["sigmoid_hidden"] and lint(prepare(config, CONFIGS)) == []
    text = (CONFIGS / "coffee_roasting.yaml").read_text()
    without = yaml.safe_load(text)
    without.pop("lint")
    plain = config_from_text(yaml.safe_dump(without))
    warnings = lint(prepare(plain, CONFIGS))
    assert [warning.id for warning in warnings] == ["sigmoid_hidden"]
    assert "lint: {ignore: [sigmoid_hidden]}" in warnings[0].hint  # how to say it is on purpose


def test_validate_refuses_an_unknown_id_with_the_one_meant(write_config):
    path = write_config(TINY + "lint: {ignore: [sigmoid_hiden]}\n")
    result = invoke("validate", path)
    assert result.exit_code == 2
    assert "lint.ignore[0]" in result.output and "did you mean 'sigmoid_hidden'?" in result.output


def test_warnings_in_json_carry_their_id_and_an_empty_ignore_is_not_saved(write_config):
    noisy = write_config(MADE_TO_HAPPEN["linear_hidden"])
    data = json.loads(invoke("validate", noisy, "--json").stdout)
    assert [warning["id"] for warning in data["files"][0]["warnings"]] == ["linear_hidden"]
    assert "lint" not in config_from_text(TINY).applying()  # a run's config.yaml stays as written
    kept = config_from_text(TINY + "lint: {ignore: [linear_hidden]}\n").applying()
    assert kept["lint"] == {"ignore": ["linear_hidden"]}
    assert config_from_text(yaml.safe_dump(kept)).lint.ignore == ["linear_hidden"]
