"""The live page's controls, as edits of the config's text: each changes one value where it is written
(or adds or removes one layer's line) and leaves every other character, the learner's comments
included, as it was. The file stays the one source of truth; the page shows the line each edit changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from nnlearn.config.loading import format_path, parse_path
from nnlearn.config.schema import FitConfig, OptimizerConfig
from nnlearn.config.yaml_source import parse_yaml, set_by_option
from nnlearn.errors import ConfigError, NnlearnError

HIDDEN_ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")  # softmax belongs to an output layer only
NEW_LAYER = {"units": 4, "activation": "relu"}  # a hidden layer added to a model that has none


class EditError(NnlearnError):
    """A control's edit that cannot be made on this text (the text is not valid YAML, the key is not there
    and cannot be placed, the layer is the output layer)."""


@dataclass
class Edited:
    """A config's text after one edit, the line (1-based) it changed and what it did, in words."""

    text: str
    line: int
    description: str

    def to_json(self) -> dict:
        return {"text": self.text, "line": self.line, "description": self.description}


def apply_edit(text: str, edit: dict) -> Edited:
    """One of the page's edits: {"set": KEY, "value": V}, {"add_layer": true} or {"remove_layer": INDEX}."""
    if "set" in edit:
        try:
            key = parse_path(str(edit["set"]))
        except ValueError:
            raise EditError(f"{edit['set']!r} is not a config key.", hint="e.g. fit.epochs") from None
        if not isinstance(edit.get("value"), (int, float, str, bool)):
            raise EditError("a control sets one number, word or true/false.", path=format_path(key))
        return set_value(text, key, edit["value"])
    if edit.get("add_layer"):
        return add_hidden_layer(text)
    if isinstance(edit.get("remove_layer"), int) and not isinstance(edit["remove_layer"], bool):
        return remove_layer(text, edit["remove_layer"])
    raise EditError("an edit is {\"set\": KEY, \"value\": V}, {\"add_layer\": true} or {\"remove_layer\": INDEX}.")


def _compose(text: str) -> tuple[yaml.Node, object]:
    """The text's YAML nodes (each knows where it starts and ends in the text) and its data, after the
    same checks as the file gets."""
    try:
        located = parse_yaml(text)
    except ConfigError as error:
        problem = error.problems[0]
        where = f" (line {problem.line})" if problem.line else ""
        raise EditError(f"the config cannot be read{where}: {problem.message}",
                        hint="fix the text first; the controls edit a readable config.") from None
    return yaml.compose(text, Loader=yaml.SafeLoader), located.data


def _child(node: yaml.Node, part) -> yaml.Node | None:
    if isinstance(part, int):
        return node.value[part] if isinstance(node, yaml.SequenceNode) and 0 <= part < len(node.value) else None
    if isinstance(node, yaml.MappingNode):
        return next((value for name, value in node.value if name.value == part), None)
    return None


def scalar_text(value) -> str:
    """value as a YAML scalar that reads back as the same value (1e-05 as 1.0e-05, which YAML reads as a number)."""
    return yaml.safe_dump([value], default_flow_style=True, width=10 ** 6).strip()[1:-1]


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def set_value(text: str, key: tuple, value) -> Edited:
    """text with the value at key replaced by value in place; a key that is missing is added to the
    nearest mapping above it that is written (as `name: value`, or `name: {inner: value}`)."""
    root, _ = _compose(text)
    node, depth = root, 0
    while depth < len(key) and _child(node, key[depth]) is not None:
        node, depth = _child(node, key[depth]), depth + 1
    shown = format_path(key)
    new = scalar_text(value)
    if depth == len(key):
        if not isinstance(node, yaml.ScalarNode):
            raise EditError(f"{shown} holds a list or a mapping, not one value: edit it in the text.", path=shown)
        start, end = node.start_mark.index, node.end_mark.index
        edited = text[:start] + new + text[end:]
        return Edited(edited, _line_of(text, start), f"{shown}: {node.value} → {new}")
    if isinstance(key[depth], int) or not isinstance(node, yaml.MappingNode):
        raise EditError(f"there is no {format_path(key[:depth + 1])} to set.", path=shown)
    inner = new
    for part in reversed(key[depth + 1:]):
        inner = f"{{{part}: {inner}}}"
    edited, line = _add_to_mapping(text, node, f"{key[depth]}: {inner}")
    return Edited(edited, line, f"{shown}: added, {new}")


def _add_to_mapping(text: str, mapping: yaml.MappingNode, entry: str) -> tuple[str, int]:
    """text with `entry` (name: value) added to mapping, in the mapping's own style; (text, its line)."""
    if mapping.flow_style:
        if not mapping.value:
            at = mapping.start_mark.index + 1
            return text[:at] + entry + text[at:], _line_of(text, at)
        at = mapping.value[-1][1].end_mark.index
        return text[:at] + ", " + entry + text[at:], _line_of(text, at)
    first_name, first_value = mapping.value[0]
    line_start = text.rfind("\n", 0, first_name.start_mark.index) + 1
    indent = " " * first_name.start_mark.column
    if text[line_start:first_name.start_mark.index].strip() == "":  # the first name begins its line
        return text[:line_start] + indent + entry + "\n" + text[line_start:], _line_of(text, line_start)
    if first_value.start_mark.line == first_value.end_mark.line:  # `- name: value` on one line: add the next
        line_end = text.find("\n", first_value.end_mark.index)
        if line_end < 0:
            text, line_end = text + "\n", len(text)
        at = line_end + 1
        return text[:at] + indent + entry + "\n" + text[at:], _line_of(text, at)
    raise EditError(f"cannot place `{entry}` in this mapping's layout.", hint="write it in the text yourself.")


def _layers(text: str) -> tuple[yaml.SequenceNode, list[dict]]:
    """model.layers: its node, and each layer's data ({} for an item that is not a mapping)."""
    root, data = _compose(text)
    model = _child(root, "model")
    layers = _child(model, "layers") if model is not None else None
    if not isinstance(layers, yaml.SequenceNode) or not layers.value:
        raise EditError("the config has no model.layers list to edit.", path="model.layers")
    return layers, [layer if isinstance(layer, dict) else {} for layer in data["model"]["layers"]]


def hidden_layers(layers: list[dict]) -> list[int]:
    """Indices of the hidden Dense layers: every dense layer but the last layer (the output)."""
    return [index for index, layer in enumerate(layers[:-1]) if layer.get("type") == "dense"]


def add_hidden_layer(text: str) -> Edited:
    """text with one more hidden Dense layer, like the last one (units and activation), just before the
    output layer; a model with none gets {units: 4, activation: relu}."""
    sequence, layers = _layers(text)
    hidden = hidden_layers(layers)
    model = {**NEW_LAYER, **{name: layers[hidden[-1]][name] for name in ("units", "activation")
                             if hidden and name in layers[hidden[-1]]}}
    new = f"{{type: dense, units: {scalar_text(model['units'])}, activation: {scalar_text(model['activation'])}}}"
    output = sequence.value[-1]
    shown = f"model.layers[{len(layers) - 1}]"
    if sequence.flow_style:
        at = output.start_mark.index
        return Edited(text[:at] + new + ", " + text[at:], _line_of(text, at), f"{shown}: a hidden layer added")
    line_start = text.rfind("\n", 0, output.start_mark.index) + 1
    prefix = text[line_start:output.start_mark.index]
    if prefix.strip() != "-":
        raise EditError("cannot add a layer in this list's layout.", path="model.layers",
                        hint="write the new layer in the text yourself.")
    edited = text[:line_start] + prefix + new + "\n" + text[line_start:]
    return Edited(edited, _line_of(text, line_start), f"{shown}: a hidden layer added")


def _last_line(node: yaml.Node) -> int:
    """The last line (0-based) holding a value of node: a block mapping's own end is the next token's start."""
    if isinstance(node, yaml.ScalarNode) or node.flow_style:
        return node.end_mark.line
    children = [value for pair in node.value for value in pair] if isinstance(node, yaml.MappingNode) else node.value
    return max((_last_line(child) for child in children), default=node.start_mark.line)


def remove_layer(text: str, index: int) -> Edited:
    """text without model.layers[index], which must be a hidden Dense layer (never the output layer)."""
    sequence, layers = _layers(text)
    shown = f"model.layers[{index}]"
    if index not in hidden_layers(layers):
        raise EditError(f"{shown} is not a hidden dense layer, so the controls do not remove it.", path=shown,
                        hint="the output layer's units are fixed by the task; edit other layers in the text.")
    item = sequence.value[index]
    if sequence.flow_style:  # from the item to the next one (a hidden layer is never the last)
        start, end = item.start_mark.index, sequence.value[index + 1].start_mark.index
        return Edited(text[:start] + text[end:], _line_of(text, start), f"{shown}: removed")
    first = text.rfind("\n", 0, item.start_mark.index) + 1
    last_line = _last_line(item)
    end = first
    for _ in range(last_line - item.start_mark.line + 1):
        found = text.find("\n", end)
        end = len(text) if found < 0 else found + 1
    return Edited(text[:first] + text[end:], _line_of(text, first), f"{shown}: removed")


def given_by_option(key: str, overridden: list[str] | tuple) -> bool:
    """Whether --set gives the value at key (or a value above it): the file's value is then not used."""
    try:
        return set_by_option(parse_path(key), {parse_path(given) for given in overridden})
    except ValueError:
        return False


def controls_of(text: str, overridden: list[str] = ()) -> dict | None:
    """What the page's controls show for this text: the learning rate, the epochs and each layer (the
    hidden Dense ones editable), each with the line it is written on (None where a default applies); None
    when the text cannot be read."""
    try:
        located = parse_yaml(text)
    except ConfigError:
        return None
    data = located.data

    def value(key: tuple, default):
        node = data
        for part in key:
            node = node.get(part) if isinstance(node, dict) else None
        present = node is not None and not isinstance(node, (dict, list))
        return {"key": format_path(key), "value": node if present else default,
                "line": located.where(key)[0] if present else None,
                "set_by_option": given_by_option(format_path(key), overridden)}

    model = data.get("model") if isinstance(data.get("model"), dict) else {}
    layers = model.get("layers") if isinstance(model.get("layers"), list) else []
    layers = [layer if isinstance(layer, dict) else {} for layer in layers]
    hidden = hidden_layers(layers)
    return {"learning_rate": value(("compile", "optimizer", "learning_rate"),
                                   OptimizerConfig.model_fields["learning_rate"].default),
            "epochs": value(("fit", "epochs"), FitConfig.model_fields["epochs"].default),
            "activations": list(HIDDEN_ACTIVATIONS),
            "layers": [{"index": index, "type": layer.get("type"), "units": layer.get("units"),
                        "activation": layer.get("activation", "linear"), "hidden": index in hidden,
                        "line": located.where(("model", "layers", index))[0]}
                       for index, layer in enumerate(layers)]}
