import pytest

from nnlearn.config_file import config_from_text
from nnlearn.errors import ConfigError, NnlearnError
from nnlearn.gates import check_gates, gates_for, parse_gate
from tests.conftest import TINY, edited

METRICS = {"train": {"loss": 0.2, "accuracy": 0.97}, "validation": {"loss": 0.3, "accuracy": 0.9},
           "test": {"loss": 0.25, "accuracy": 0.95}}


@pytest.mark.parametrize("text, split, metric, comparison, bound", [
    ("accuracy>=0.95", "test", "accuracy", ">=", 0.95),
    ("validation_loss <= 0.3", "validation", "loss", "<=", 0.3),
    ("train.accuracy>0.5", "train", "accuracy", ">", 0.5),
    ("test_r2 < 1e-1", "test", "r2", "<", 0.1),
])
def test_parse(text, split, metric, comparison, bound):
    gate = parse_gate(text)
    assert (gate.split, gate.metric, gate.comparison, gate.bound) == (split, metric, comparison, bound)


@pytest.mark.parametrize("text", ["accuracy", "accuracy=>0.9", ">=0.9", "accuracy>=high", ""])
def test_malformed_gates_are_user_mistakes(text):
    with pytest.raises(NnlearnError) as caught:
        parse_gate(text)
    assert caught.value.exit_code == 2


def test_gates_pass_and_fail():
    results = check_gates([parse_gate("accuracy>=0.95"), parse_gate("loss<=0.2"),
                           parse_gate("validation_accuracy>0.9")], METRICS)
    assert [result.passed for result in results] == [True, False, False]
    assert results[1].measured == 0.25


def test_nan_never_passes():
    assert not check_gates([parse_gate("loss<=1")], {"test": {"loss": float("nan")}})[0].passed


def test_unknown_metric_lists_the_metrics_that_exist():
    with pytest.raises(NnlearnError) as caught:
        check_gates([parse_gate("f1>=0.9")], METRICS)
    assert "test_loss, test_accuracy" in caught.value.message and caught.value.exit_code == 2


def test_config_expect_section_and_planned_names():
    config = config_from_text(TINY + "expect:\n  test_accuracy: '>=0.9'\n")
    gates = gates_for(config, ["validation_loss<=1"])
    assert [gate.text for gate in gates] == ["test_accuracy >= 0.9", "validation_loss <= 1"]
    with pytest.raises(NnlearnError, match="unknown metric 'r2'"):
        gates_for(config, ["r2>=0.5"])  # caught before any training
    no_validation = config_from_text(edited(TINY, ("validation_split: 0.1", "validation_split: 0")))
    with pytest.raises(NnlearnError, match="validation split"):
        gates_for(no_validation, ["validation_loss<=1"])


@pytest.mark.parametrize("section", ["expect: {accuracy: '>=0.9'}", "expect: {test_accuracy: high}",
                                     "expect: {test_accuracy: 0.9}"])
def test_bad_expect_sections(section):
    with pytest.raises(ConfigError) as caught:
        config_from_text(TINY + section + "\n")
    assert caught.value.problems[0].path == "expect"
