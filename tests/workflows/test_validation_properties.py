"""Property: whatever a learner does to a shipped config, validate answers 0 or 2 and never raises;
and when it says 0, the model builds."""

import copy
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnlearn.config.loading import load_config
from nnlearn.model.prepare import prepare
from nnlearn.workflows.validate import validate_file
from tests.conftest import CONFIGS

SHIPPED = {path.name: yaml.safe_load(path.read_text()) for path in sorted(CONFIGS.glob("*.yaml"))}
ODD_VALUES = [None, True, "text", "", [], {}, [1, 2], {"a": 1}, -1, 0, 10**9, 1e-12, 2.5, "1e-3", "relu"]


def paths_of(node, prefix=()):
    """Every key path in a YAML document, parents before children."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append(prefix + (key,))
            found += paths_of(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.append(prefix + (index,))
            found += paths_of(value, prefix + (index,))
    return found


def parent_of(document, path):
    node = document
    for part in path[:-1]:
        node = node[part]
    return node


def typo(word: str, position: int, kind: int) -> str:
    position %= max(1, len(word))
    if kind == 0:
        return word[:position] + word[position + 1:] or "x"
    if kind == 1:
        return word[:position] + "x" + word[position:]
    return word[:position] + word[position + 1:position + 2] + word[position:position + 1] + word[position + 2:]


@st.composite
def mutated_configs(draw):
    document = copy.deepcopy(SHIPPED[draw(st.sampled_from(sorted(SHIPPED)))])
    for _ in range(draw(st.integers(1, 3))):
        paths = paths_of(document)
        path = draw(st.sampled_from(paths))
        parent = parent_of(document, path)
        action = draw(st.sampled_from(["delete", "rename", "retype", "insert", "swap"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "rename" and isinstance(path[-1], str):
            new = typo(path[-1], draw(st.integers(0, 20)), draw(st.integers(0, 2)))
            parent[new] = parent.pop(path[-1])
        elif action == "retype":
            parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
        elif action == "insert" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["units", "epoch", "lr", "activation", "zzz"]))] = 1
        elif action == "swap":
            layers = document.get("model", {}).get("layers") if isinstance(document.get("model"), dict) else None
            if isinstance(layers, list) and len(layers) > 1:
                first, second = draw(st.integers(0, len(layers) - 1)), draw(st.integers(0, len(layers) - 1))
                layers[first], layers[second] = layers[second], layers[first]
        if not document:
            break
    return document


@pytest.mark.tensorflow
@pytest.mark.slow
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_configs())
def test_validate_never_raises_and_valid_means_buildable(document):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mutant.yaml"
        path.write_text(yaml.safe_dump(document))
        report = validate_file(path)
        for problem in report.errors:  # every problem is located and worded
            assert problem.message and (problem.path or problem.line), problem
        if report.valid:
            from nnlearn.model.build import build_model

            prepared = prepare(load_config(path), CONFIGS)
            model = build_model(prepared.config, prepared.input_shape)
            assert model.count_params() == sum(layer.params for layer in prepared.layers)
