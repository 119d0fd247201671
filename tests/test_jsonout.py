"""One JSON policy: strict JSON everywhere, non-finite numbers as strings, read back as floats."""

import json
import math

import pytest

from nnlearn.jsonout import json_text, numbers_back
from nnlearn.runs.rundir import RunDir, write_json


def strict(text: str):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_files_and_output_share_the_policy(tmp_path):
    value = {"test": {"loss": math.nan, "r2": -math.inf, "mae": 1.5}, "epochs": 3, "names": ["nan", "a"]}
    write_json(tmp_path / "metrics.json", value)
    written = strict((tmp_path / "metrics.json").read_text())
    assert written["test"] == {"loss": "nan", "r2": "-inf", "mae": 1.5}
    assert strict(json_text(value)) == written  # --json prints exactly what the file holds
    back = RunDir(tmp_path).metrics()
    assert math.isnan(back["test"]["loss"]) and back["test"]["r2"] == -math.inf and back["epochs"] == 3
    assert RunDir(tmp_path / "nowhere").metrics() == {}


def test_numbers_back_inverts_json_safe_for_numbers():
    assert numbers_back({"a": ["inf", 2, {"b": "-inf"}]}) == {"a": [math.inf, 2, {"b": -math.inf}]}
    with pytest.raises(ValueError):
        json.dumps(math.nan, allow_nan=False)  # what json_text avoids
