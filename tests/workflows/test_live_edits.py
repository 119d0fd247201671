"""The live page's controls edit the config's text: one value in place (every other character, comments
included, as it was), or one hidden layer's line added or removed; each reports the line it changed."""

import difflib

import pytest
import yaml

from nnlearn.workflows.live.edits import EditError, apply_edit, controls_of, scalar_text
from tests.conftest import CONFIGS, MOONS

SHIPPED = (CONFIGS / "moons_mlp.yaml").read_text()

BLOCK = """\
model:
  layers:
    # the hidden layer
    - type: dense
      units: 8          # eight units
      activation: relu
    - type: dense
      units: 1
compile:
  loss: binary_crossentropy
"""

FLOW_LIST = "model: {layers: [{type: dense, units: 8, activation: tanh}, {type: dense, units: 1}]}\n"


def changed_lines(before: str, after: str) -> list[str]:
    """The removed (-) and added (+) lines: what a diff shows, without its context."""
    return [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]


@pytest.mark.parametrize("edit, line, old, new", [
    ({"set": "compile.optimizer.learning_rate", "value": 0.03}, 23,
     "  optimizer: {type: adam, learning_rate: 0.01}", "  optimizer: {type: adam, learning_rate: 0.03}"),
    ({"set": "fit.epochs", "value": 80}, 27, "  epochs: 50", "  epochs: 80"),
    ({"set": "model.layers[1].units", "value": 17}, 17, "    - {type: dense, units: 16, activation: relu}",
     "    - {type: dense, units: 17, activation: relu}"),
    ({"set": "model.layers[0].activation", "value": "tanh"}, 16,
     "    - {type: dense, units: 16, activation: relu}", "    - {type: dense, units: 16, activation: tanh}"),
])
def test_a_value_is_replaced_where_it_is_written_and_nothing_else_changes(edit, line, old, new):
    edited = apply_edit(SHIPPED, edit)
    assert SHIPPED.splitlines()[line - 1] == old
    assert changed_lines(SHIPPED, edited.text) == [f"- {old}", f"+ {new}"]
    assert edited.line == line
    assert edited.description.startswith(edit["set"])


def test_comments_on_the_edited_line_are_kept():
    edited = apply_edit(BLOCK, {"set": "model.layers[0].units", "value": 12})
    assert changed_lines(BLOCK, edited.text) == ["-       units: 8          # eight units",
                                                 "+       units: 12          # eight units"]
    assert edited.line == 5 and edited.description == "model.layers[0].units: 8 → 12"


def test_a_value_not_in_the_file_is_added_to_the_mapping_above_it_in_its_style():
    flow = apply_edit(MOONS, {"set": "model.layers[2].activation", "value": "linear"})
    assert "    - {type: dense, units: 1, activation: linear}" in flow.text.splitlines()
    block = apply_edit(BLOCK, {"set": "model.layers[1].activation", "value": "sigmoid"})
    assert changed_lines(BLOCK, block.text) == ["+       activation: sigmoid"]
    assert block.text.splitlines()[block.line - 1] == "      activation: sigmoid"
    assert yaml.safe_load(block.text)["model"]["layers"][1] == {"type": "dense", "units": 1, "activation": "sigmoid"}
    nested = apply_edit(BLOCK, {"set": "compile.optimizer.learning_rate", "value": 0.5})
    assert yaml.safe_load(nested.text)["compile"] == {"optimizer": {"learning_rate": 0.5},
                                                     "loss": "binary_crossentropy"}


def test_a_small_learning_rate_is_written_so_that_yaml_reads_a_number():
    assert scalar_text(1e-05) == "1.0e-05" and yaml.safe_load(scalar_text(1e-05)) == 1e-05
    edited = apply_edit(SHIPPED, {"set": "compile.optimizer.learning_rate", "value": 1e-05})
    assert yaml.safe_load(edited.text)["compile"]["optimizer"]["learning_rate"] == 1e-05


def test_a_hidden_layer_is_added_before_the_output_like_the_last_hidden_one():
    edited = apply_edit(SHIPPED, {"add_layer": True})
    assert changed_lines(SHIPPED, edited.text) == ["+     - {type: dense, units: 16, activation: relu}"]
    assert edited.line == 18 and [layer["units"] for layer in yaml.safe_load(edited.text)["model"]["layers"]] == \
        [16, 16, 16, 1]
    in_a_flow_list = yaml.safe_load(apply_edit(FLOW_LIST, {"add_layer": True}).text)["model"]["layers"]
    assert in_a_flow_list == [{"type": "dense", "units": 8, "activation": "tanh"}] * 2 + [{"type": "dense", "units": 1}]
    block = apply_edit(BLOCK, {"add_layer": True})
    assert [layer["units"] for layer in yaml.safe_load(block.text)["model"]["layers"]] == [8, 8, 1]
    alone = "model:\n  layers:\n    - {type: dense, units: 1}\n"
    assert yaml.safe_load(apply_edit(alone, {"add_layer": True}).text)["model"]["layers"][0] == \
        {"type": "dense", "units": 4, "activation": "relu"}


def test_a_hidden_layer_is_removed_and_the_output_layer_never():
    edited = apply_edit(SHIPPED, {"remove_layer": 0})
    assert changed_lines(SHIPPED, edited.text) == ["-     - {type: dense, units: 16, activation: relu}"]
    assert edited.line == 16
    block = apply_edit(BLOCK, {"remove_layer": 0})
    assert block.text == BLOCK.replace("    - type: dense\n      units: 8          # eight units\n"
                                       "      activation: relu\n", "")
    assert yaml.safe_load(apply_edit(FLOW_LIST, {"remove_layer": 0}).text)["model"]["layers"] == \
        [{"type": "dense", "units": 1}]
    with pytest.raises(EditError, match="not a hidden dense layer"):
        apply_edit(SHIPPED, {"remove_layer": 2})
    with pytest.raises(EditError, match="not a hidden dense layer"):
        apply_edit(MOONS, {"remove_layer": 1})  # the dropout layer


def test_an_unreadable_text_or_an_unknown_edit_is_refused_with_its_line():
    with pytest.raises(EditError, match=r"cannot be read \(line 2\)"):
        apply_edit("model:\n  layers: [}\n", {"set": "fit.epochs", "value": 3})
    with pytest.raises(EditError, match="there is no model.layers\\[5\\]"):
        apply_edit(SHIPPED, {"set": "model.layers[5].units", "value": 3})
    with pytest.raises(EditError, match="holds a list or a mapping"):
        apply_edit(SHIPPED, {"set": "model.layers", "value": 3})
    with pytest.raises(EditError, match="an edit is"):
        apply_edit(SHIPPED, {"rename": "x"})


def test_the_controls_show_each_value_with_its_line_or_the_default():
    controls = controls_of(SHIPPED, ["fit.epochs"])
    assert controls["learning_rate"] == {"key": "compile.optimizer.learning_rate", "value": 0.01, "line": 23,
                                         "set_by_option": False}
    assert controls["epochs"]["set_by_option"] and controls["epochs"]["line"] == 27
    assert [(layer["index"], layer["units"], layer["hidden"], layer["line"]) for layer in controls["layers"]] == \
        [(0, 16, True, 16), (1, 16, True, 17), (2, 1, False, 18)]
    defaults = controls_of("model: {layers: [{type: dense, units: 1}]}\n")
    assert defaults["learning_rate"]["value"] == 0.001 and defaults["learning_rate"]["line"] is None
    assert controls_of("model: [\n") is None
