"""What a fix line says is what the fix is: never empty, never cut by the terminal's markup (a fix such as
`use metrics: [mae, mse, r2].` once printed as `use metrics: .`), and the mistake the data shows comes first."""

import json
import re
from io import StringIO

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rich.console import Console

from nnlearn.cli.display import print_error, print_problems
from nnlearn.errors import NnlearnError, Problem
from tests.conftest import CONFIGS, invoke


def shown(draw) -> str:
    out = StringIO()
    draw(Console(file=out, width=80, color_system=None))
    return out.getvalue()


def words(text: str) -> str:
    return " ".join(text.split())


# pieces that rich would read as markup once joined ("[mae," + "r2]"), or that escape it
PIECES = st.sampled_from(["[mae,", "r2].", "[bold]", "[/]", "\\", "[0]", "[@x]", "metrics:", "a]", "[b",
                          "`nnlearn train c.yaml --set 'model.layers[2].units=3'`"])


@settings(max_examples=60, deadline=None)
@example(["accuracy", "needs", "classes."], ["use", "metrics:", "[mae,", "mse,", "r2]."])
@given(st.lists(PIECES, min_size=1, max_size=14), st.lists(PIECES, min_size=1, max_size=14))
def test_a_problem_prints_its_message_and_fix_word_for_word(message_pieces, fix_pieces):
    message, fix = " ".join(message_pieces), " ".join(fix_pieces)
    problem = Problem("compile.metrics", message, hint=fix)
    for draw in (lambda console: print_problems(console, [problem]),
                 lambda console: print_error(console, NnlearnError(message, path="compile.metrics", hint=fix))):
        text = words(shown(draw))
        assert words(message) in text and f"fix: {words(fix)}" in text


@pytest.mark.parametrize("hint", ["", "   ", None])
def test_a_blank_fix_prints_no_fix_line(hint):
    problem = Problem("fit.epochs", "too many.", hint=hint)
    assert "fix" not in shown(lambda console: print_problems(console, [problem]))
    assert "fix" not in shown(lambda console: print_error(console, NnlearnError("too many.", hint=hint)))


@pytest.mark.parametrize("config, overrides", [
    ("mlp_regression", ["compile.metrics=[accuracy]"]),
    ("iris_softmax", ["compile.metrics=[r2]"]),
    ("iris_softmax", ["compile.loss=mean_squared_error"]),
    ("iris_softmax", ["compile.loss=binary_crossentropy", "compile.metrics=[mae]"]),
    ("moons_mlp", ["model.layers[2].activation=softmax"]),
    ("moons_mlp", ["model.layers[2].units=3"]),
    ("softmax_digits", ["fit.epoch=3", "model.layers[2].activation=sigmoid"]),
    ("softmax_digits", ["compile.loss=binary_crossentropy"]),
])
def test_every_fix_validate_prints_at_80_columns_is_its_json_fix_whole(config, overrides):
    arguments = ["validate", str(CONFIGS / f"{config}.yaml")] + [f"--set={override}" for override in overrides]
    printed = invoke(*arguments, env={"COLUMNS": "80"})
    found = json.loads(invoke(*arguments + ["--json"]).stdout)["files"][0]["errors"]
    assert printed.exit_code == 2 and found
    fixes = [problem["message"].split(" Fix: ", 1)[1] for problem in found if " Fix: " in problem["message"]]
    assert len(fixes) == len(re.findall(r"^\s+fix: \S", printed.output, re.M))  # each fix line says something
    for fix in fixes:
        assert words(fix) in words(printed.output), printed.output


@pytest.mark.parametrize("command", ["validate", "train"])
def test_the_loss_on_class_labels_is_named_not_the_metric_it_implies(command):
    """iris with mean_squared_error keeps metrics: [accuracy], which fits the data: the loss is the mistake."""
    result = invoke(command, CONFIGS / "iris_softmax.yaml", "--set", "compile.loss=mean_squared_error", "--json")
    assert result.exit_code == 2
    reply = json.loads(result.stdout)
    problems = reply["files"][0]["errors"] if command == "validate" else reply["error"]["problems"]
    assert [problem["path"] for problem in problems] == ["compile.loss"]
    assert "sparse_categorical_crossentropy" in problems[0]["message"]


def test_a_metric_that_fits_neither_comes_after_the_loss():
    result = invoke("validate", CONFIGS / "iris_softmax.yaml", "--set", "compile.loss=binary_crossentropy", "--set",
                    "compile.metrics=[mae]", "--json")
    problems = json.loads(result.stdout)["files"][0]["errors"]
    assert [problem["path"] for problem in problems] == ["compile.loss", "compile.metrics"]


def test_a_list_in_a_fix_is_written_as_the_set_it_came_from():
    result = invoke("validate", CONFIGS / "mlp_regression.yaml", "--set", "compile.metrics=[accuracy]",
                    env={"COLUMNS": "80"})
    assert "--set 'compile.metrics=[mae, mse, r2]'" in result.output
