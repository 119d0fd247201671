import pytest

from nnlearn.config.loading import apply_overrides, config_from_text, format_path, load_config, parse_path
from nnlearn.config.yaml_source import parse_yaml
from nnlearn.errors import ConfigError
from tests.conftest import TINY, edited


def problems_of(text):
    with pytest.raises(ConfigError) as caught:
        config_from_text(text)
    return {problem.path: problem for problem in caught.value.problems}


def test_tiny_config_fills_defaults():
    config = config_from_text(TINY)
    assert config.compile.from_logits is True
    assert config.compile.optimizer.type == "adam"
    assert config.compile.resolved_metrics() == ["accuracy"]
    assert config.data.normalize == "standard"
    assert config.model.layers[0].units == 8


def test_learning_rate_written_1e_minus_3_is_a_float():
    config = config_from_text(edited(TINY, ("learning_rate: 0.05", "learning_rate: 1e-3")))
    assert config.compile.optimizer.learning_rate == pytest.approx(0.001)


def test_every_problem_is_reported_with_path_line_and_fix():
    text = edited(TINY, ("units: 8, activation: relu", "units: -3, activation: rellu"))
    text = edited(text, ("  epochs: 3", "  epoch: 3"))
    problems = problems_of(text)
    assert set(problems) == {"model.layers[0].units", "model.layers[0].activation", "fit.epoch"}
    assert problems["model.layers[0].units"].line == 9
    assert "-3" in problems["model.layers[0].units"].message
    assert "relu" in problems["model.layers[0].activation"].hint
    assert problems["fit.epoch"].hint == "did you mean 'epochs'?"
    assert problems["fit.epoch"].line == 15


def test_unknown_layer_type_and_missing_type():
    text = edited(TINY, ("{type: dense, units: 8, activation: relu}", "{type: dens, units: 8}"))
    text = edited(text, ("{type: dense, units: 3, activation: linear}", "{units: 3}"))
    problems = problems_of(text)
    assert "did you mean 'dense'" in problems["model.layers[0]"].hint
    assert "no `type`" in problems["model.layers[1]"].message


def test_yaml_boolean_quirk_is_explained():
    text = edited(TINY, ("activation: relu", "activation: no"))
    problem = problems_of(text)["model.layers[0].activation"]
    assert "boolean" in problem.message and "'no'" in problem.message


@pytest.mark.parametrize("change, path", [
    (("test_split: 0.2", "test_split: 0.95"), "data"),
    (("loss: sparse_categorical_crossentropy", "loss: hinge"), "compile.loss"),
    (("learning_rate: 0.05", "learning_rate: 0"), "compile.optimizer.learning_rate"),
    (("learning_rate: 0.05", "learning_rate: 0.05, momentum: 0.9"), "compile.optimizer"),
    (("name: tiny", "name: ../escape"), "name"),
    (("  source: iris\n", ""), "data.source"),
])
def test_schema_rejects(change, path):
    assert path in problems_of(edited(TINY, change))


@pytest.mark.parametrize("name, fitting", [("...", "run"), ("my run (v2)", "my-run-v2"), ("../escape", "escape")])
def test_a_name_that_cannot_name_a_folder_says_why_and_offers_one_that_can(name, fitting):
    problem = problems_of(edited(TINY, ("name: tiny", f"name: {name!r}")))["name"]
    assert "starts with a letter or a digit" in problem.message and problem.hint == f"e.g. name: {fitting}"
    assert config_from_text(edited(TINY, ("name: tiny", f"name: {fitting}"))).name == fitting  # the fix is valid


def test_regression_metric_with_classification_loss_is_rejected():
    text = edited(TINY, ("loss: sparse_categorical_crossentropy",
                        "loss: sparse_categorical_crossentropy\n  metrics: [r2]"))
    assert "regression metric" in problems_of(text)["compile.metrics"].message


def test_paths_round_trip():
    key = ("model", "layers", 2, "units")
    assert format_path(key) == "model.layers[2].units"
    assert parse_path("model.layers[2].units") == key
    with pytest.raises(ValueError):
        parse_path("model..layers")


def test_overrides_set_nested_values_and_are_validated(write_config):
    path = write_config()
    config = load_config(path, ["fit.epochs=7", "model.layers[0].units=32",
                                "compile.optimizer.learning_rate=1e-2"])
    assert config.fit.epochs == 7
    assert config.model.layers[0].units == 32
    assert config.compile.optimizer.learning_rate == pytest.approx(0.01)


@pytest.mark.parametrize("override, path", [
    ("fit.epoch=3", "fit.epoch"), ("fit.epochs=abc", "fit.epochs"),
    ("model.layers[5].units=3", "model.layers[5].units"), ("nonsense", "--set nonsense"),
])
def test_bad_overrides_are_errors(write_config, override, path):
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(), [override])
    assert caught.value.problems[0].path == path


def test_apply_overrides_creates_missing_sections():
    located = parse_yaml("compile: {loss: mean_squared_error}\n")
    apply_overrides(located, ["compile.optimizer.type=sgd"])
    assert located.data["compile"]["optimizer"] == {"type": "sgd"}


def test_an_unknown_key_is_pointed_at_by_its_name_and_a_misspelt_required_key_is_one_problem():
    text = edited(TINY, ("{type: dense, units: 3, activation: linear}",
                         "type: dense\n      units: 3\n      activaton: linear"))
    problem = problems_of(text)["model.layers[1].activaton"]
    line = text.splitlines()[problem.line - 1]
    assert line.index("activaton") + 1 == problem.column and problem.hint == "did you mean 'activation'?"
    problems = problems_of(edited(TINY, ("  epochs: 3", "  epoch: 3"),
                                  ("{type: dense, units: 8, activation: relu}", "{type: dense, unitz: 8}")))
    assert set(problems) == {"fit.epoch", "model.layers[0].unitz"}  # no "the required key 'units' is missing"
    assert problems["model.layers[0].unitz"].hint == "did you mean 'units'? The required key 'units' is missing."
    assert problems_of(edited(TINY, ("units: 8, ", "")))["model.layers[0].units"].message == \
        "the required key 'units' is missing."
