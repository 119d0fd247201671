"""The checkpoint of a run: every variable of the model and its optimizer after the last complete
epoch, with the history so far and the early-stopping state, in one file written atomically.

One file, so a crash can never pair one epoch's weights with another epoch's history.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib

import numpy as np

from nnlearn.errors import RunError
from nnlearn.files import UnreadableFile, check_regular_file
from nnlearn.runs.rundir import RunDir

_STATE_KEY = "__state__"
_BEST_PREFIX = "best_"


def save_checkpoint(run_dir: RunDir, variables: dict[str, np.ndarray], history: list[dict],
                    early_stopping: dict | None = None, best_weights: list | None = None) -> None:
    """Write the checkpoint of the epochs in history (variables from model.snapshot)."""
    state = {"epoch": len(history), "history": history, "early_stopping": early_stopping}
    arrays = dict(variables)
    arrays.update({f"{_BEST_PREFIX}{index}": array for index, array in enumerate(best_weights or [])})
    # UTF-8 bytes (a NumPy str array would be UTF-32, 4 bytes a character): no pickle needed to read it
    arrays[_STATE_KEY] = np.frombuffer(json.dumps(state).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    run_dir.write_checkpoint(buffer.getvalue())


def load_checkpoint(run_dir: RunDir) -> dict | None:
    """{"epoch", "history", "early_stopping", "variables", "best_weights"}, or None before epoch 1.

    A damaged file (truncated, emptied, altered, not an NPZ) is a RunError naming it.
    """
    path = run_dir.checkpoint_file
    if not path.exists():
        return None
    fix = ("the checkpoint is written by `nnlearn train` after each epoch and cannot be repaired: delete "
           f"{path} to resume from epoch 0, or train again as a new run.")
    try:
        check_regular_file(path)
        if not zipfile.is_zipfile(path):
            raise ValueError("it is not an NPZ archive")
        with np.load(path, allow_pickle=False) as archive:
            state = json.loads(_state_text(archive[_STATE_KEY]))
            keys = [key for key in archive.files if key != _STATE_KEY]
            if not isinstance(state, dict):
                raise ValueError("its state is not a JSON object")
            state["variables"] = {key: archive[key] for key in keys if not key.startswith(_BEST_PREFIX)}
            best = sorted((key for key in keys if key.startswith(_BEST_PREFIX)),
                          key=lambda key: int(key[len(_BEST_PREFIX):]))
            state["best_weights"] = [archive[key] for key in best] or None
    except UnreadableFile as error:
        raise RunError(error.message, hint=fix) from None
    except (OSError, ValueError, KeyError, EOFError, TypeError, zipfile.BadZipFile, zlib.error,
            NotImplementedError, RuntimeError) as error:  # the last two: an odd compression or encryption
        reason = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
        raise RunError(f"the checkpoint {path} is damaged and cannot be read ({reason}).", hint=fix) from None
    problem = _state_problem(state)
    if problem:
        raise RunError(f"the checkpoint {path} is damaged: {problem}.", hint=fix)
    return state


def _state_text(array: np.ndarray) -> str:
    """The state's JSON: UTF-8 bytes, or (a checkpoint written before) a NumPy str array."""
    if array.dtype == np.uint8:
        return array.tobytes().decode("utf-8")
    if array.dtype.kind == "U":
        return str(array)
    raise ValueError(f"its state is a {array.dtype} array, not text")


def _state_problem(state: dict) -> str | None:
    epoch, history = state.get("epoch"), state.get("history")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        return "its epoch is not a whole number"
    if not isinstance(history, list) or len(history) != epoch or not all(isinstance(row, dict) for row in history):
        return f"its history does not hold one row for each of its {epoch} epochs"
    if state.get("early_stopping") is not None and not isinstance(state["early_stopping"], dict):
        return "its early-stopping state is not a mapping"
    if not state["variables"]:
        return "it holds no weights"
    return None
