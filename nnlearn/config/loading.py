"""Load a config file, apply `--set KEY=VALUE` overrides, and explain every schema problem.

Each problem names its YAML path (`model.layers[2].units`), its line and column in the file, what
was received, what is expected and how to fix it.
"""

from __future__ import annotations

import difflib
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, NamedTuple, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from nnlearn.config.schema import LAYER_TYPES, Config
from nnlearn.config.yaml_source import Key, Located, parse_value, parse_yaml, read_yaml_file, set_by_option
from nnlearn.errors import ConfigError, Problem, one_setting

_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")
YAML11_BOOLEANS = {"yes", "no", "on", "off", "y", "n", "true", "false"}


def format_path(key: Key) -> str:
    """("model", "layers", 2, "units") -> "model.layers[2].units"."""
    text = ""
    for part in key:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def parse_path(text: str) -> Key:
    """"model.layers[2].units" -> ("model", "layers", 2, "units"); ValueError if malformed."""
    parts: list = []
    for segment in text.split("."):
        matches = list(_TOKEN.finditer(segment))
        if not matches or matches[0].start() != 0 or matches[0].group(1) is None \
                or "".join(m.group(0) for m in matches) != segment:
            raise ValueError(f"cannot read the key {text!r}")
        for match in matches:
            parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
    return tuple(parts)


def apply_overrides(located: Located, overrides: list[str]) -> set[Key]:
    """Apply `KEY=VALUE` strings in place; returns the keys they set. Raises ConfigError."""
    problems: list[Problem] = []
    touched: set[Key] = set()
    for item in overrides:
        key_text, sep, value_text = item.partition("=")
        key_text = key_text.strip()
        if not sep or not key_text:
            problems.append(Problem(f"--set {item}", "an override must look like KEY=VALUE.",
                                    hint="e.g. --set fit.epochs=3 or --set 'model.layers[0].units=32'"))
            continue
        try:
            key = parse_path(key_text)
        except ValueError:
            problems.append(Problem(f"--set {item}", f"cannot read the key {key_text!r}.",
                                    hint="use dotted names with list indexes in brackets, e.g. "
                                         "model.layers[0].units."))
            continue
        try:
            value = parse_value(value_text) if value_text.strip() else ""
        except ConfigError as error:
            problem = Problem(format_path(key), error.problems[0].message, hint=error.problems[0].hint)
            problem.origin = "--set"
            problems.append(problem)
            continue
        except yaml.YAMLError:
            value = value_text
        error = _set_value(located.data, key, value)
        if error:
            problem = Problem(format_path(key), error)
            problem.origin = "--set"
            problems.append(problem)
            continue
        touched.add(key)
        located.raw[key] = value_text
    if problems:
        raise ConfigError(problems, source="--set")
    return touched


def _set_value(data: dict, key: Key, value) -> str | None:
    node = data
    for depth, part in enumerate(key[:-1]):
        following = key[depth + 1]
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                size = len(node) if isinstance(node, list) else 0
                return f"there is no item [{part}] here (the list has {size})."
            if not isinstance(node[part], (dict, list)):
                node[part] = {} if isinstance(following, str) else []
            node = node[part]
        else:
            if not isinstance(node, dict):
                return f"{part!r} is set inside a value that is not a mapping."
            if not isinstance(node.get(part), (dict, list)):
                node[part] = {} if isinstance(following, str) else []
            node = node[part]
    last = key[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            size = len(node) if isinstance(node, list) else 0
            return f"there is no item [{last}] to set (the list has {size})."
    elif not isinstance(node, dict):
        return "this key is inside a value that is not a mapping."
    node[last] = value
    return None


def load_config(path: str | Path, overrides: list[str] | tuple = ()) -> Config:
    """Read, override and validate a config file; raises ConfigError listing every problem."""
    located = read_located(path, overrides)
    return validate_located(located, str(path)).given_by_set(located.overridden)


def read_located(path: str | Path, overrides: list[str] | tuple = ()) -> Located:
    located = read_yaml_file(Path(path))
    if overrides:
        located.overridden = apply_overrides(located, list(overrides))
    return located


def config_from_text(text: str, source: str = "<config>") -> Config:
    return validate_located(parse_yaml(text, source), source)


def validate_located(located: Located, source: str) -> Config:
    try:
        return Config.model_validate(located.data)
    except ValidationError as error:
        raise ConfigError(explain_validation_error(error, located), source=source) from None


def explain_validation_error(error: ValidationError, located: Located) -> list[Problem]:
    """Turn pydantic's errors into Problems with clean paths, positions and fixes."""
    merged: dict[Key, list[dict]] = {}
    for item in error.errors(include_url=False):
        key = _clean_loc(item["loc"], located.data)
        merged.setdefault(key, []).append(item)
    # A misspelt required key is one mistake: its unknown key says so, and no second problem says it is missing
    misspelt = {}
    for key, items in merged.items():
        guess = _guess_key(key, located) if items[0]["type"] == "extra_forbidden" else None
        if guess and merged.get(key[:-1] + (guess,), [{}])[0].get("type") == "missing":
            misspelt[key] = guess
    explained = {typo[:-1] + (guess,) for typo, guess in misspelt.items()}
    problems = []
    for key, items in merged.items():
        if key in explained:
            continue
        line, column = located.where(key, name=items[0]["type"] == "extra_forbidden")
        said = _describe(key, items, located)
        hint, setting = said.hint, said.setting
        if key in misspelt:
            hint = f"did you mean {misspelt[key]!r}? The required key {misspelt[key]!r} is missing."
            setting = None
        received = items[0].get("input")
        problem = Problem(format_path(key), said.message, line=line, column=column, hint=hint, setting=setting,
                          expected=said.expected,
                          received=received if isinstance(received, (str, int, float, bool)) else None)
        problems.append(from_set(problem, located.overridden, key))
    problems.sort(key=lambda problem: (problem.line or 10**9, problem.column or 0))
    return problems


def _clean_loc(loc: tuple, data) -> Key:
    """Drop pydantic's internal union tags from a loc, keeping the user's YAML path."""
    key: list = []
    node = data
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(node, dict):
            if part in node:
                key.append(part)
                node = node[part]
            elif last and isinstance(part, str) and part not in LAYER_TYPES:
                key.append(part)  # a missing field
            continue
        if isinstance(node, list) and isinstance(part, int) and part < len(node):
            key.append(part)
            node = node[part]
            continue
        break  # the rest names union members ("int", "tuple[int, int]"), not YAML keys
    return tuple(key)


def from_set(problem: Problem, overridden: set[Key], key: Key | None = None) -> Problem:
    """problem itself, said to come from --set, with its fix written as a --set, when its key (or a key
    above it) was given by --set: the file does not hold that value, so "set units: 1" would mislead.
    key: the problem's key when known (else read from its path)."""
    if key is None:
        try:
            key = parse_path(problem.path) if problem.path else ()
        except ValueError:
            return problem
    if key and set_by_option(key, overridden) and problem.option_path is None:
        problem.as_option(format_path(key))
    return problem


@contextmanager
def problems_from_set(config: Config):
    """Problems found after loading (the model against the data) at keys --set gave: said so (from_set)."""
    try:
        yield
    except ConfigError as error:
        raise ConfigError([from_set(problem, config.set_keys) for problem in error.problems], error.source) from None


def _guess_key(key: Key, located: Located) -> str | None:
    """The allowed key that an unknown key most likely misspells."""
    guess = difflib.get_close_matches(str(key[-1]), _allowed_keys(key[:-1], located.data), n=1, cutoff=0.6)
    return guess[0] if guess else None


class Said(NamedTuple):
    """What a schema problem says: its message, its fix, the value the fix suggests (Problem.setting) and
    what was expected."""

    message: str
    hint: str | None = None
    setting: tuple[str, dict[str, str]] | None = None
    expected: str | None = None


BOUNDS = {"greater_than": "above", "greater_than_equal": "at least", "less_than": "below",
          "less_than_equal": "at most"}


def _describe(key: Key, items: list[dict], located: Located) -> Said:
    first = items[0]
    kind = first["type"]
    received = first.get("input")
    raw = located.raw.get(key)
    name = key[-1] if key else "config"
    if kind == "nnlearn":  # a mistake the schema's own checks found, carried whole (config.schema.mistake)
        return Said(first["ctx"]["message"], first["ctx"].get("fix"), first["ctx"].get("setting"))
    if kind == "extra_forbidden":
        guess = _guess_key(key, located)
        listing = ", ".join(_allowed_keys(key[:-1], located.data))
        return Said(f"unknown key {name!r}; expected one of: {listing}.",
                    f"did you mean {guess!r}?" if guess else "remove it: nnlearn never ignores a key it does not know.",
                    expected=listing)
    if kind == "missing":
        return Said(f"the required key {name!r} is missing.", _missing_hint(key))
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return _layer_type(kind, first, received)
    if kind == "literal_error":
        return _not_a_choice(key, received, raw, located)
    mistake = _type_mistake(kind, received, raw, str(name))
    if mistake:
        return mistake
    message = " or ".join(dict.fromkeys(item["msg"].removeprefix("Value error, ") for item in items))
    shown = raw if raw is not None else received
    if kind not in ("value_error", "assertion_error") and not isinstance(received, (dict, list)):
        message = f"received {shown!r}: {message[0].lower()}{message[1:]}"
    if kind in BOUNDS:  # a number out of its range: say which values are allowed
        limit = next(iter(first.get("ctx", {}).values()), None)
        return Said(message, f"write a value {BOUNDS[kind]} {limit}, e.g. {{setting}}.",
                    one_setting(str(name), _example_within(kind, limit)), f"a value {BOUNDS[kind]} {limit}")
    return Said(message)


def _layer_type(kind: str, first: dict, received) -> Said:
    tags = list(LAYER_TYPES)
    if kind == "union_tag_not_found":
        return Said("this layer has no `type`.", f"add `type:` with one of: {', '.join(tags)}.",
                    expected=", ".join(tags))
    tag = first.get("ctx", {}).get("tag", received)
    guess = difflib.get_close_matches(str(tag), tags, n=1)
    return Said(f"unknown layer type {tag!r}; expected one of: {', '.join(tags)}.",
                f"did you mean {guess[0]!r}?" if guess else None, expected=", ".join(tags))


def _not_a_choice(key: Key, received, raw: str | None, located: Located) -> Said:
    choices = _choices(key, located.data)
    listing = ", ".join(choices)
    if isinstance(received, bool) and raw is not None and raw.lower() in YAML11_BOOLEANS:
        return Said(f"received {raw!r}, which YAML reads as the boolean {received}, not as text; expected one of: "
                    f"{listing}.", f"quote it (\"{raw}\") or use one of the choices; `no`, `yes`, `on` and `off` "
                    "are booleans in YAML 1.1.", expected=listing)
    guess = difflib.get_close_matches(str(received), choices, n=1, cutoff=0.5)
    return Said(f"received {received!r}; expected one of: {listing}.",
                f"did you mean {guess[0]!r}?" if guess else None, expected=listing)


def _choices(key: Key, data) -> list[str]:
    """The values a Literal field allows (or each item of a list field: lint.ignore[0]), read from the schema."""
    if key and isinstance(key[-1], int):
        key = key[:-1]
    section = _section_at(key[:-1], data)
    field = section.model_fields.get(key[-1]) if section is not None and key else None
    if field is None:
        return []
    members = [field.annotation] + list(get_args(field.annotation))
    for member in members:
        if get_origin(member) is Literal:
            return [str(choice) for choice in get_args(member)]
        for inner in get_args(member):  # list[Literal[...]]: metrics
            if get_origin(inner) is Literal:
                return [str(choice) for choice in get_args(inner)]
    return []


def _example_within(kind: str, limit) -> str:
    """A value that satisfies a bound, for a fix line."""
    if not isinstance(limit, (int, float)):
        return "…"
    if kind == "greater_than":
        return str(limit + 1) if isinstance(limit, int) else f"{limit + 0.001:g}" if limit else "0.001"
    if kind == "less_than":
        return str(limit - 1) if isinstance(limit, int) else f"{limit / 2:g}"
    return str(limit)


def _type_mistake(kind: str, received, raw: str | None, name: str) -> Said | None:
    """Strict types: a bool is not a number, a number is not a bool, text is not a number."""
    if kind in ("int_type", "float_type"):
        return _not_a_number(kind, received, raw, name)
    if kind == "string_type" and isinstance(received, bool) and raw is not None \
            and raw.lower() in YAML11_BOOLEANS:
        return Said(f"received {raw!r}, which YAML reads as the boolean {received}, not as text.",
                    "quote it: {setting}.", one_setting(name, f'"{raw}"'), "text")
    if kind == "string_type" and isinstance(received, (int, float)):
        shown = raw if raw is not None else received
        return Said(f"received the number {shown}; {name} is text.", "quote it: {setting}.",
                    one_setting(name, f'"{shown}"'), "text")
    if kind == "bool_type" and not isinstance(received, (dict, list)):
        shown = raw if raw is not None else received
        return Said(f"received {shown!r}; {name} is true or false, not "
                    f"{'text' if isinstance(received, str) else 'a number'}.",
                    "write {true} or {false}, without quotes.", (name, {"true": "true", "false": "false"}),
                    "true or false")
    return None


def _not_a_number(kind: str, received, raw: str | None, name: str) -> Said | None:
    shown = raw if raw is not None else received
    expected = "a whole number" if kind == "int_type" else "a number"
    example = one_setting(name, 8 if kind == "int_type" else 0.1)
    if isinstance(received, bool):
        said = (f"received {raw!r}, which YAML reads as the boolean {received}, not a number"
                if raw is not None and raw.lower() in YAML11_BOOLEANS else f"received the boolean {received}")
        return Said(f"{said}; expected {expected}.", f"write {expected}, e.g. {{setting}}.", example, expected)
    if isinstance(received, str) and re.fullmatch(r"\s*[-+]?\d+(\.\d*)?\s*", received):  # the learner's value
        return Said(f"received the text {received!r}; expected {expected}, not text.",
                    "write {setting} without quotes.", one_setting(name, received.strip()), expected)
    if isinstance(received, float) and kind == "int_type":
        if received.is_integer():
            return Said(f"received {shown!r}; expected a whole number, not a decimal.", "write {setting}.",
                        one_setting(name, f"{received:.0f}"), expected)
        return Said(f"received {shown!r}; expected a whole number, not a decimal.",
                    "write a whole number, e.g. {setting}.", example, expected)
    if not isinstance(received, (dict, list)):
        return Said(f"received {shown!r}; expected {expected}.", f"write {expected}, e.g. {{setting}}.", example,
                    expected)
    return None


def _missing_hint(key: Key) -> str:
    examples = {"source": "e.g. `source: digits` under data.", "loss":
                "e.g. `loss: sparse_categorical_crossentropy` under compile.",
                "layers": "list the layers under model, ending with the output layer.",
                "units": "give the number of units, e.g. `units: 10`.",
                "filters": "give the number of filters, e.g. `filters: 16`."}
    return examples.get(str(key[-1]), f"add `{key[-1]}:` here.") if key else "add it."


def _allowed_keys(parent: Key, data) -> list[str]:
    section = _section_at(parent, data)
    return list(section.model_fields) if section else []


def _section_at(key: Key, data) -> type[BaseModel] | None:
    section: type[BaseModel] = Config
    node = data
    index = 0
    while index < len(key):
        part = key[index]
        field = section.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return None
        node = node.get(part) if isinstance(node, dict) else None
        if part == "layers":
            if index + 1 >= len(key):
                return None
            layer = node[key[index + 1]] if isinstance(node, list) and key[index + 1] < len(node) else {}
            section = LAYER_TYPES.get(layer.get("type")) if isinstance(layer, dict) else None
            if section is None:
                return None
            node = layer
            index += 2
            continue
        annotation = field.annotation
        # an optional section (`EarlyStoppingConfig | None`) names its model among the union's members
        members = getattr(annotation, "__args__", None) or (annotation,)
        section = next((member for member in members if isinstance(member, type)
                        and getattr(member, "__origin__", None) is None and issubclass(member, BaseModel)), None)
        if section is None:
            return None
        index += 1
    return section
