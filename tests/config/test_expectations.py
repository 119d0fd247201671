import pytest

from nnlearn.config.expectations import check_expectations, expectations_for, parse_expectation
from nnlearn.config.loading import config_from_text
from nnlearn.errors import ConfigError, NnlearnError
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
    found = parse_expectation(text)
    assert (found.split, found.metric, found.comparison, found.bound) == (split, metric, comparison, bound)


@pytest.mark.parametrize("text", ["accuracy", "accuracy=>0.9", ">=0.9", "accuracy>=high", ""])
def test_malformed_expectations_are_user_mistakes(text):
    with pytest.raises(NnlearnError) as caught:
        parse_expectation(text)
    assert caught.value.exit_code == 2


def test_expectations_pass_and_fail():
    results = check_expectations([parse_expectation("accuracy>=0.95"), parse_expectation("loss<=0.2"),
                           parse_expectation("validation_accuracy>0.9")], METRICS)
    assert [result.passed for result in results] == [True, False, False]
    assert results[1].measured == 0.25


def test_nan_never_passes():
    assert not check_expectations([parse_expectation("loss<=1")], {"test": {"loss": float("nan")}})[0].passed


def test_unknown_metric_lists_the_metrics_that_exist():
    with pytest.raises(NnlearnError) as caught:
        check_expectations([parse_expectation("f1>=0.9")], METRICS)
    assert "test_loss, test_accuracy" in caught.value.message and caught.value.exit_code == 2


def test_config_expect_section_and_planned_names():
    config = config_from_text(TINY + "expect: ['test_accuracy >= 0.9']\n")
    expectations = expectations_for(config, ["validation_loss<=1"])
    assert [e.text for e in expectations] == ["test_accuracy >= 0.9", "validation_loss <= 1"]
    with pytest.raises(NnlearnError, match="unknown metric 'r2'"):
        expectations_for(config, ["r2>=0.5"])  # caught before any training
    no_validation = config_from_text(edited(TINY, ("validation_split: 0.1", "validation_split: 0")))
    with pytest.raises(NnlearnError, match="validation split"):
        expectations_for(no_validation, ["validation_loss<=1"])


@pytest.mark.parametrize("section", ["expect: ['accuracy>=0.9']", "expect: ['test_accuracy >= 0.9']",
                                     "expect: {test_accuracy: '>=0.9'}", "expect: {accuracy: '>=0.9'}"])
def test_one_grammar_in_the_config_and_on_the_command_line(section):
    # the list form is --expect's text; the older mapping form is the same text in two parts
    config = config_from_text(TINY + section + "\n")
    assert [e.text for e in expectations_for(config)] == ["test_accuracy >= 0.9"]
    assert expectations_for(config)[0] == parse_expectation("accuracy>=0.9")


@pytest.mark.parametrize("section", ["expect: {test_accuracy: high}", "expect: {test_accuracy: 0.9}",
                                     "expect: ['accuracy']", "expect: [accuracy=>0.9]"])
def test_bad_expect_sections(section):
    with pytest.raises(ConfigError) as caught:
        config_from_text(TINY + section + "\n")
    assert caught.value.problems[0].path.startswith("expect")
    assert "cannot read the expectation" in caught.value.problems[0].message
