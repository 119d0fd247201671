"""One JSON policy for every file nnlearn writes and every `--json` it prints: strict JSON, where a
number that is not finite is written as the string "nan", "inf" or "-inf" (and read back as a float)."""

from __future__ import annotations

import json
import math
from pathlib import PurePath

NOT_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def json_safe(value):
    """value with every non-finite float as the string "nan", "inf" or "-inf"; a path as its text, and
    a result object as its to_json()."""
    if hasattr(value, "to_json"):
        return json_safe(value.to_json())
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def json_text(value, indent: int | None = None) -> str:
    """Strict JSON text of value (non-finite numbers as strings); never NaN, which JSON does not have."""
    return json.dumps(json_safe(value), indent=indent, allow_nan=False)


def numbers_back(value):
    """The reverse of json_safe for numbers: "nan", "inf" and "-inf" become floats again."""
    if isinstance(value, str) and value in NOT_FINITE:
        return NOT_FINITE[value]
    if isinstance(value, dict):
        return {key: numbers_back(item) for key, item in value.items()}
    if isinstance(value, list):
        return [numbers_back(item) for item in value]
    return value
