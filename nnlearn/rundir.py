"""Run directories: created exclusively, every file written atomically, read back safely."""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

import yaml

from nnlearn.errors import RunError
from nnlearn.files import UnreadableFile, check_regular_file, read_bounded

RUNS_ROOT = Path("runs")
CONFIG_FILE = "config.yaml"
MODEL_FILE = "model.keras"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
PREPROCESSING_FILE = "preprocessing.json"
RUN_FILE = "run.json"
CHECKPOINT_DIR = "checkpoint"
TENSORBOARD_DIR = "tensorboard"
MAX_JSON_BYTES = 64 * 1024**2


def create_run_dir(name: str, out: str | Path | None = None, root: Path = RUNS_ROOT,
                   files: dict[str, str | bytes] | None = None) -> Path:
    """A new run directory holding files ({name: content}); never reuses an existing one (two runs
    in one second get two).

    With files, the folder is filled under a hidden temporary name and then renamed into place, so a
    run folder appears with all its starting files or not at all, even if the process is killed.
    """
    if out is not None:
        path = Path(out)
        if path.exists():
            raise RunError(f"{path} already exists; nnlearn never overwrites a run.",
                           hint="choose a new --out, or leave --out out for runs/<name>-<time>.")
        parent, candidates = path.parent, [path]
    else:
        parent = root
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        candidates = [root / (f"{name}-{stamp}" if attempt == 1 else f"{name}-{stamp}-{attempt}")
                      for attempt in range(1, 1000)]
    try:
        parent.mkdir(parents=True, exist_ok=True)
        made = _publish(candidates, files) if files else _make_empty(candidates)
    except OSError as error:
        raise RunError(f"cannot create a run folder in {parent}: {error.strerror or error}.",
                       hint="run nnlearn where you may write, or give --out DIR.") from None
    if made is None:
        if out is not None:
            raise RunError(f"{out} already exists; nnlearn never overwrites a run.",
                           hint="choose a new --out, or leave --out out for runs/<name>-<time>.")
        raise RunError(f"could not create a new run directory under {root}.")
    return made


def _make_empty(candidates: list[Path]) -> Path | None:
    for path in candidates:
        try:
            path.mkdir()  # atomic: exactly one process wins each name
            return path
        except FileExistsError:
            continue
    return None


def _publish(candidates: list[Path], files: dict[str, str | bytes]) -> Path | None:
    """Write files into a hidden folder beside the candidates, then rename it to the first free name.

    The folder is never empty, so the rename cannot replace another run's folder: it fails instead.
    """
    staging = Path(tempfile.mkdtemp(dir=candidates[0].parent, prefix=f".{candidates[0].name}.starting-"))
    try:
        os.chmod(staging, 0o777 & ~_umask())
        for file_name, content in files.items():
            write_atomic(staging / file_name, content)
        for path in candidates:
            if path.exists():
                continue
            try:
                os.rename(staging, path)
                return path
            except OSError as error:
                if error.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR, errno.ENOTDIR):
                    raise
        return None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write to a temporary file in the same folder, then rename: never half a file.

    The file gets the usual permissions (0666 less the umask), like any other tool's output. An
    OSError names path, the file the user asked for, not the temporary one.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            os.fchmod(stream.fileno(), 0o666 & ~_umask())
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as error:
        if temporary:
            Path(temporary).unlink(missing_ok=True)
        raise OSError(error.errno, error.strerror or str(error), str(path)) from None
    except BaseException:
        if temporary:
            Path(temporary).unlink(missing_ok=True)
        raise


def write_json(path: Path, value) -> None:
    """value as strict JSON (non-finite numbers as "nan", "inf", "-inf": see jsonout), atomically."""
    from nnlearn.jsonout import json_text

    write_atomic(path, json_text(value, indent=2) + "\n")


def read_metrics(run_dir: Path) -> dict:
    """metrics.json with its numbers as floats ("nan" read back as NaN); {} for a run that never finished."""
    from nnlearn.jsonout import numbers_back

    return numbers_back(read_json(run_dir, METRICS_FILE)) if (run_dir / METRICS_FILE).is_file() else {}


def write_yaml(path: Path, value, header: str = "") -> None:
    write_atomic(path, header + yaml.safe_dump(value, sort_keys=False, allow_unicode=True))


def read_json(run_dir: Path, name: str) -> dict:
    """A run file holding a JSON object; RunError if it is missing or damaged."""
    path = run_dir / name
    if not path.exists():
        raise RunError(f"{run_dir} has no {name}; it is not a finished nnlearn run.",
                       hint="give the folder that `nnlearn train` printed (runs/<name>-<time>).")
    fix = f"{name} is written by `nnlearn train`: restore it, or train the config again as a new run."
    try:
        value = json.loads(read_bounded(path, MAX_JSON_BYTES, fix).decode("utf-8"))
    except UnreadableFile as error:
        raise RunError(error.message, hint=error.hint) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise RunError(f"{path} is damaged: {error}.", hint=fix) from None
    if not isinstance(value, dict):
        raise RunError(f"{path} is damaged: it holds a JSON {type(value).__name__}, not an object "
                       "({...}).", hint=fix)
    return value


def read_history(run_dir: Path) -> list[dict[str, float]]:
    """history.csv as rows of numbers (empty before the first epoch); RunError if it is damaged."""
    import csv
    import io

    path = run_dir / HISTORY_FILE
    if not path.is_file():
        return []
    fix = f"{HISTORY_FILE} is written by `nnlearn train`: restore it, or train the config again as a new run."
    try:
        text = read_bounded(path, MAX_JSON_BYTES, fix).decode("utf-8")
        return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(io.StringIO(text))]
    except UnreadableFile as error:
        raise RunError(error.message, hint=error.hint) from None
    except (ValueError, TypeError, UnicodeDecodeError, csv.Error) as error:
        raise RunError(f"{path} is damaged: {error}.", hint=fix) from None


def check_run_dir(run_dir: Path) -> None:
    if not run_dir.exists():
        raise RunError(f"there is no run directory {run_dir}.",
                       hint="list your runs with `nnlearn runs`; give the folder `nnlearn train` printed.")
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
    import zlib

    try:
        check_regular_file(path)
        with zipfile.ZipFile(path) as archive:
            if archive.getinfo("config.json").file_size > MAX_JSON_BYTES:
                raise ValueError("its config.json is far larger than any model's")
            config = json_module.loads(archive.read("config.json"))
    except UnreadableFile as error:
        raise RunError(error.message, hint="give the folder that `nnlearn train` printed.") from None
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError,
            RuntimeError) as error:
        raise RunError(f"{path} is not a readable Keras model file ({error}).",
                       hint="train the config again to get a fresh model.keras.") from None
    for node in _walk(config):
        class_name = node.get("class_name")
        if class_name in ("Lambda", "__lambda__"):
            kind = "a Lambda layer" if class_name == "Lambda" else "a lambda function"
            raise RunError(f"{path} contains {kind}: arbitrary Python code that loading would "
                           "execute. nnlearn refuses to load it.",
                           hint="only load models made by `nnlearn train`; nnlearn never builds Lambda "
                                "layers or lambda functions.")
        if "class_name" not in node or "module" not in node:
            continue
        module = node["module"]
        if not isinstance(module, str) or not (module == "keras" or module.startswith("keras.")):
            named = f"{module}.{class_name}" if isinstance(module, str) else f"{class_name!s:.80} with no module"
            raise RunError(f"{path} refers to custom code ({named:.200}) that loading would import and "
                           "run. nnlearn refuses to load it.",
                           hint="only load models made by `nnlearn train`.")


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)
