"""Run directories: created exclusively, every file written atomically, read back safely."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path

import yaml

from nnlearn.errors import RunError

RUNS_ROOT = Path("runs")
CONFIG_FILE = "config.yaml"
MODEL_FILE = "model.keras"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
PREPROCESSING_FILE = "preprocessing.json"
RUN_FILE = "run.json"
CHECKPOINT_DIR = "checkpoint"
TENSORBOARD_DIR = "tensorboard"


def create_run_dir(name: str, out: str | Path | None = None, root: Path = RUNS_ROOT) -> Path:
    """A new, empty run directory; never reuses an existing one (two runs in one second get two)."""
    if out is not None:
        path = Path(out)
        if path.exists():
            raise RunError(f"{path} already exists; nnlearn never overwrites a run.",
                           hint="choose a new --out, or leave --out out for runs/<name>-<time>.")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir()
        except FileExistsError:
            raise RunError(f"{path} already exists; nnlearn never overwrites a run.") from None
        return path
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunError(f"cannot create the runs folder {root}: {error.strerror}.",
                       hint="run nnlearn where you may write, or give --out DIR.") from None
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 1000):
        path = root / (f"{name}-{stamp}" if attempt == 1 else f"{name}-{stamp}-{attempt}")
        try:
            path.mkdir()  # atomic: exactly one process wins each name
            return path
        except FileExistsError:
            continue
    raise RunError(f"could not create a new run directory under {root}.")


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write to a temporary file in the same folder, then rename: never half a file."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:  # name the file the user asked for, not the temporary one
        raise OSError(error.errno, error.strerror, str(path)) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json(path: Path, value) -> None:
    write_atomic(path, json.dumps(value, indent=2, allow_nan=True) + "\n")


def write_yaml(path: Path, value, header: str = "") -> None:
    write_atomic(path, header + yaml.safe_dump(value, sort_keys=False, allow_unicode=True))


def read_json(run_dir: Path, name: str) -> dict:
    path = run_dir / name
    if not path.exists():
        raise RunError(f"{run_dir} has no {name}; it is not a finished nnlearn run.",
                       hint="give the folder that `nnlearn train` printed (runs/<name>-<time>).")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise RunError(f"{path} is damaged: {error}") from None


def check_run_dir(run_dir: Path) -> None:
    if not run_dir.exists():
        raise RunError(f"there is no run directory {run_dir}.",
                       hint="list your runs with `ls runs/`; give the folder `nnlearn train` printed.")
    if not run_dir.is_dir():
        raise RunError(f"{run_dir} is a file, not a run directory.",
                       hint="give the folder that `nnlearn train` printed (runs/<name>-<time>).")
    if not (run_dir / CONFIG_FILE).exists():
        raise RunError(f"{run_dir} has no {CONFIG_FILE}; it is not an nnlearn run.",
                       hint="give the folder that `nnlearn train` printed (runs/<name>-<time>).")


def check_model_is_safe(path: Path) -> None:
    """Refuse a model.keras holding a Lambda layer or a custom (non-Keras) object, before loading it.

    Loading uses safe_mode=True as well; this check gives the learner a clear reason.
    """
    import json as json_module
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            config = json_module.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise RunError(f"{path} is not a readable Keras model file ({error}).",
                       hint="train the config again to get a fresh model.keras.") from None
    for node in _walk(config):
        if node.get("class_name") == "Lambda":
            raise RunError(f"{path} contains a Lambda layer: arbitrary Python code that loading would "
                           "execute. nnlearn refuses to load it.",
                           hint="only load models made by `nnlearn train`; Lambda layers are never "
                                "built by nnlearn.")
        module = node.get("module")
        if isinstance(module, str) and "class_name" in node and not module.startswith("keras"):
            raise RunError(f"{path} refers to custom code ({module}.{node['class_name']}) that loading "
                           "would import and run. nnlearn refuses to load it.",
                           hint="only load models made by `nnlearn train`.")


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)
