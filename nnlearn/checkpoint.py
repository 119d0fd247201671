"""The checkpoint of a run: every variable of the model and its optimizer after the last complete
epoch, with the history so far and the early-stopping state, in one file written atomically.

One file, so a crash can never pair one epoch's weights with another epoch's history.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from nnlearn.errors import RunError
from nnlearn.rundir import CHECKPOINT_DIR, write_atomic

CHECKPOINT_FILE = "checkpoint.npz"
_STATE_KEY = "__state__"
_BEST_PREFIX = "best_"


def checkpoint_path(run_dir: Path) -> Path:
    return run_dir / CHECKPOINT_DIR / CHECKPOINT_FILE


def save_checkpoint(run_dir: Path, variables: dict[str, np.ndarray], history: list[dict],
                    early_stopping: dict | None = None, best_weights: list | None = None) -> None:
    """Write the checkpoint of the epochs in history (variables from model.snapshot)."""
    state = {"epoch": len(history), "history": history, "early_stopping": early_stopping}
    arrays = dict(variables)
    arrays.update({f"{_BEST_PREFIX}{index}": array for index, array in enumerate(best_weights or [])})
    arrays[_STATE_KEY] = np.array(json.dumps(state))  # a unicode array: no pickle needed to read it
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    checkpoint_path(run_dir).parent.mkdir(exist_ok=True)
    write_atomic(checkpoint_path(run_dir), buffer.getvalue())


def load_checkpoint(run_dir: Path) -> dict | None:
    """{"epoch", "history", "early_stopping", "variables", "best_weights"}, or None before epoch 1."""
    path = checkpoint_path(run_dir)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            state = json.loads(str(archive[_STATE_KEY]))
            keys = [key for key in archive.files if key != _STATE_KEY]
            state["variables"] = {key: archive[key] for key in keys if not key.startswith(_BEST_PREFIX)}
            best = sorted((key for key in keys if key.startswith(_BEST_PREFIX)),
                          key=lambda key: int(key[len(_BEST_PREFIX):]))
            state["best_weights"] = [archive[key] for key in best] or None
    except (OSError, ValueError, KeyError) as error:
        raise RunError(f"the checkpoint {path} cannot be read: {error}",
                       hint="train the config again as a new run.") from None
    return state
