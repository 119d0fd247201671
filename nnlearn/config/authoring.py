"""Helpers for writing configs: starter templates, the resolved config, and the JSON Schema."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import yaml

from nnlearn.config.schema import Config
from nnlearn.errors import NnlearnError

TEMPLATES = ("logistic-regression", "mlp-regression", "softmax", "cnn", "multilabel")


def template_text(name: str) -> str:
    if name not in TEMPLATES:
        import difflib

        guess = difflib.get_close_matches(name, TEMPLATES, n=1)
        raise NnlearnError(f"there is no template {name!r}; templates: {', '.join(TEMPLATES)}.",
                           hint=f"did you mean {guess[0]!r}?" if guess else None)
    return resources.files("nnlearn.config").joinpath("templates", f"{name}.yaml").read_text(encoding="utf-8")


def write_template(name: str, path: Path) -> Path:
    """Write a commented starter config; refuses to overwrite an existing file."""
    text = template_text(name)
    try:
        with path.open("x", encoding="utf-8") as handle:  # "x": fail if it exists, atomically
            handle.write(text)
    except FileExistsError:
        raise NnlearnError(f"{path} already exists; nnlearn never overwrites your files.",
                           hint="give another path, e.g. nnlearn init softmax my_softmax.yaml.") from None
    except OSError as error:
        raise NnlearnError(f"cannot write {path}: {error.strerror}.") from None
    return path


def resolved_yaml(config: Config) -> str:
    """The config with every default filled in, as train saves it into a run."""
    return yaml.safe_dump(config.applying(), sort_keys=False, allow_unicode=True)


def config_schema() -> str:
    """The JSON Schema of a config, for editors (yaml-language-server and others)."""
    schema = Config.model_json_schema()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema,
              "title": "nnlearn config"}
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
