"""Read YAML safely and remember where every value came from (line and column).

Only plain YAML is accepted: no `!!python/...` or custom tags, no duplicate keys (PyYAML would
silently keep the last one), bounded size, nesting and alias expansion, UTF-8 only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from nnlearn.errors import ConfigError, Problem
from nnlearn.files import UnreadableFile, read_bounded

MAX_BYTES = 1_000_000
MAX_NODES = 20_000
MAX_DEPTH = 50  # a config nests 4 levels; PyYAML's composer recurses once per level
_STANDARD_TAGS = {f"tag:yaml.org,2002:{name}" for name in
                  ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")}

Key = tuple  # a path into the document: ("model", "layers", 2, "units")


def set_by_option(key: Key, overridden: set[Key]) -> bool:
    """Whether --set gave this key's value (one of the overridden keys), or the value of a key above it."""
    return any(tuple(key)[:len(set_key)] == set_key for set_key in overridden)


@dataclass
class Located:
    """A YAML document as plain Python data, plus the position and raw text of each value."""

    data: object
    positions: dict[Key, tuple[int, int]] = field(default_factory=dict)
    raw: dict[Key, str] = field(default_factory=dict)
    overridden: set[Key] = field(default_factory=set)  # keys set by --set, which have no place in the file
    names: dict[Key, tuple[int, int]] = field(default_factory=dict)  # where each key's own name is written

    def where(self, key: Key, name: bool = False) -> tuple[int | None, int | None]:
        """Line and column (1-based) of the value at key (with name=True, of the key's own name), or of its
        nearest located parent; none for a key set (or inside a value set) by --set."""
        key = tuple(key)
        if set_by_option(key, self.overridden):
            return (None, None)
        if name and key in self.names:
            return self.names[key]
        while key not in self.positions and key:
            key = key[:-1]
        return self.positions.get(key, (None, None))


def _fail(source: str, message: str, line: int | None = None, column: int | None = None,
          hint: str | None = None) -> ConfigError:
    return ConfigError([Problem("", message, line=line, column=column, hint=hint)], source=source)


def read_yaml_file(path: Path) -> Located:
    """Read and parse a YAML file; every failure is a ConfigError naming the file."""
    source = str(path)
    try:
        raw_bytes = read_bounded(path, MAX_BYTES, "a config describes a model, not data: put data in a "
                                                  "CSV or NPZ file.")
    except UnreadableFile as error:
        if (Path(path) / "run.json").is_file() and (Path(path) / "config.yaml").is_file():
            raise _fail(source, "the config file is a run folder, made by `nnlearn train`, not a config.",
                        hint=f"continue it: nnlearn train --resume {path}; start a new run from it (with --set to "
                             f"change it): nnlearn train --from {path}; its config is {Path(path) / 'config.yaml'}."
                        ) from None
        raise _fail(source, error.message.replace(f"{path} ", "the config file ", 1), hint=error.hint) from None
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _fail(source, f"the file is not UTF-8 text (bad byte at offset {error.start}).",
                    hint="save the file as UTF-8.") from None
    return parse_yaml(text, source)


def parse_yaml(text: str, source: str = "<config>") -> Located:
    """Parse YAML text into a mapping with positions. Raises ConfigError."""
    text = text.lstrip("\ufeff")
    try:
        _check_depth(text, source)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.reader.ReaderError as error:
        line, column = _line_column(text, error.position)
        raise _fail(source, f"the file holds the character {_describe_character(error.character)}, "
                            "which YAML does not allow.", line, column,
                    hint="delete it; a config is plain text.") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        problem = error.problem or str(error)
        raise _fail(source, f"YAML syntax error: {problem}.", line, column,
                    hint="check the indentation and the `key: value` form on that line.") from None
    except yaml.YAMLError as error:
        raise _fail(source, f"YAML error: {error}") from None
    if node is None:
        raise _fail(source, "the file is empty.",
                    hint="start from `nnlearn init softmax` or a file in configs/.")
    located = Located(data=None)
    builder = _Builder(source, located)
    located.data = builder.build(node, ())
    if not isinstance(located.data, dict):
        raise _fail(source, f"the top level must be a mapping of sections (name, data, model, "
                            f"compile, fit), not a {type(located.data).__name__}.",
                    1, 1, hint="write `data:`, `model:`, `compile:` and `fit:` at the start of lines.")
    return located


def _check_depth(text: str, source: str) -> None:
    """Refuse lists and mappings nested deeper than MAX_DEPTH before composing (which recurses)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                raise _fail(source, f"lists and mappings are nested more than {MAX_DEPTH} levels deep here.",
                            mark.line + 1, mark.column + 1,
                            hint="a config nests a few levels (model > layers > a layer): remove the "
                                 "extra brackets or indentation.")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _line_column(text: str, position: int) -> tuple[int, int]:
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1


def _describe_character(code) -> str:
    code = ord(code) if isinstance(code, str) else int(code)
    return "NUL (a null byte, \\0)" if code == 0 else f"U+{code:04X}"


def parse_value(text: str):
    """One `--set` value as YAML reads it (3 is a number, [1, 2] a list), with the file's limits:
    plain tags only, bounded nesting and size. Raises ConfigError, or yaml.YAMLError for text that
    is not YAML (taken as a string by the caller)."""
    _check_depth(text, "--set")
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if node is None:
        return None
    return _Builder("--set", Located(data=None)).build(node, ())


class _Builder:
    """Turns composed YAML nodes into Python values, checking tags, duplicates and size."""

    def __init__(self, source: str, located: Located):
        self.source = source
        self.located = located
        self.count = 0
        self.constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, key: Key):
        self.count += 1
        if self.count > MAX_NODES:
            raise _fail(self.source, f"the document expands to more than {MAX_NODES:,} values "
                                     "(anchors and aliases repeated inside each other).",
                        hint="a config needs no nested aliases: write the values out.")
        mark = node.start_mark
        self.located.positions[key] = (mark.line + 1, mark.column + 1)
        if node.tag not in _STANDARD_TAGS:
            raise _fail(self.source, f"the tag {node.tag!r} is not allowed: nnlearn reads plain YAML "
                                     "only and never constructs Python objects.",
                        mark.line + 1, mark.column + 1, hint="remove the tag.")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, key)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, key + (index,)) for index, item in enumerate(node.value)]
        self.located.raw[key] = node.value
        try:
            return self.constructor.construct_object(node)
        except (yaml.YAMLError, ValueError) as error:
            raise _fail(self.source, f"cannot read the value {node.value!r}: {error}",
                        mark.line + 1, mark.column + 1) from None

    def _mapping(self, node: yaml.MappingNode, key: Key) -> dict:
        self.constructor.flatten_mapping(node)
        result: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                mark = key_node.start_mark
                raise _fail(self.source, "a key must be a plain name.", mark.line + 1, mark.column + 1)
            name = self.constructor.construct_object(key_node)
            if not isinstance(name, str):
                name = key_node.value
            if name in result:
                mark = key_node.start_mark
                first_line = self.located.positions.get(key + (name,), (None,))[0]
                raise _fail(self.source, f"the key {name!r} appears twice in the same mapping "
                                         f"(first on line {first_line}); YAML would silently keep "
                                         "only the last one.",
                            mark.line + 1, mark.column + 1, hint="keep one of them.")
            self.located.positions[key + (name,)] = (key_node.start_mark.line + 1,
                                                     key_node.start_mark.column + 1)
            self.located.names[key + (name,)] = self.located.positions[key + (name,)]
            result[name] = self.build(value_node, key + (name,))
            # the key's own position is the better place to point at for a mapping value
            if isinstance(value_node, (yaml.MappingNode, yaml.SequenceNode)):
                self.located.positions[key + (name,)] = (key_node.start_mark.line + 1,
                                                         key_node.start_mark.column + 1)
        return result
