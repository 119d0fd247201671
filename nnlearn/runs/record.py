"""What run.json and preprocessing.json hold. RunDir reads and writes them; this module says what is in them.

run.json: the run's status (starting, running, interrupted, failed, finished), when it started and was last
updated, its epochs, the process and command training it, the versions, and its fingerprint (the resolved
config and the data's hash), which a resume checks; how early stopping ended it and how a data-parallel run
was spread, when they apply.

preprocessing.json: the normaliser, the input shape, the feature and class names, the kind of target, the
data file and its hash, and a CSV's fitted columns or an image folder's settings.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from datetime import datetime, timezone

import numpy as np

from nnlearn.data.target_scale import problem as target_scale_problem


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def fingerprint(config: dict, data_sha256: str | None) -> dict:
    """What must not change between the start of a run and its resumption: the resolved config and the data
    (the arrays themselves, whatever their source)."""
    config_sha256 = hashlib.sha256(json.dumps(config, sort_keys=True).encode("utf-8")).hexdigest()
    return {"config": config, "config_sha256": config_sha256, "data_sha256": data_sha256}


def with_status(record: dict, status: str, epochs: int, versions: dict | None = None) -> dict:
    """record with a new status, this process's pid and command, and the time; started is kept (or set)."""
    record = dict(record)
    record.update({"status": status, "started": record.get("started") or now(), "updated": now(),
                   "epochs": epochs, "pid": os.getpid(), "command": " ".join(sys.argv[1:]) if sys.argv else ""})
    if versions is not None:
        record["versions"] = versions
    return record


def preprocessing_problem(state: dict) -> str | None:
    """What is wrong with a preprocessing.json's content, in one sentence; None when it is whole."""
    missing = [key for key in ("normalizer", "input_shape", "feature_names", "target_kind") if key not in state]
    if missing:
        return f"it lacks {', '.join(missing)}."
    normalizer, names, shape = state["normalizer"], state["feature_names"], state["input_shape"]
    if not (isinstance(names, list) and names and all(isinstance(name, str) for name in names)):
        return "feature_names must be a list of column names."
    if not (isinstance(shape, list) and shape and all(isinstance(size, int) and not isinstance(size, bool)
                                                      and size > 0 for size in shape)):
        return f"input_shape must be a list of positive whole numbers, not {shape!r:.80}."
    if int(np.prod(shape)) != len(names):
        return f"input_shape {shape} does not hold the {len(names)} features of feature_names."
    return _normalizer_problem(normalizer, len(names)) or _names_problem(state)


def _numbers(value) -> bool:
    return isinstance(value, list) and all(isinstance(item, (int, float)) and not isinstance(item, bool)
                                           and np.isfinite(item) for item in value)


def _normalizer_problem(normalizer, features: int) -> str | None:
    if not isinstance(normalizer, dict) or not {"method", "offset", "scale"} <= set(normalizer):
        return "normalizer must hold method, offset and scale."
    for key in ("offset", "scale"):
        if not _numbers(normalizer[key]):
            return f"normalizer.{key} must be a list of finite numbers."
        if len(normalizer[key]) != features:
            return f"normalizer.{key} has {len(normalizer[key])} values, but the run has {features} features."
    return None


def _names_problem(state: dict) -> str | None:
    if state["target_kind"] not in ("classes", "multilabel", "continuous"):
        return f"target_kind {state['target_kind']!r:.80} is not classes, multilabel or continuous."
    if state.get("target_scale") is not None:
        wrong = target_scale_problem(state["target_scale"])
        if wrong:
            return wrong
    classes = state.get("class_names")
    if classes is not None and not (isinstance(classes, list) and all(isinstance(n, str) for n in classes)):
        return "class_names must be a list of names."
    return None
