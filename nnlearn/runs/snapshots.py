"""A few copies of the weights kept during training (epochs 1, 2, 5, …, last), so a picture can show how
training moved the decision boundary. Only for two-feature classifiers, where that picture is drawn.

They live in RUN_DIR/snapshots.npz, rewritten atomically when an epoch is kept; a resumed run adds to it.
"""

from __future__ import annotations

import io

import numpy as np

from nnlearn.runs.rundir import RunDir

KEPT = 6


def kept_epochs(epochs: int, count: int = KEPT) -> list[int]:
    """About count epochs spread evenly on a log scale from 1 to epochs, always 1 and the last."""
    if epochs <= count:
        return list(range(1, epochs + 1))
    return sorted({int(round(value)) for value in np.geomspace(1, epochs, count)})


def wanted(prepared) -> bool:
    """Snapshots are kept for classifiers of two features, whose boundary can be drawn."""
    return prepared.input_shape == (2,) and prepared.dataset.kind == "classes"


def save_snapshot(run_dir: RunDir, epoch: int, weights: list[np.ndarray]) -> None:
    """Add (or replace) epoch's weights in RUN_DIR/snapshots.npz."""
    kept = load_snapshots(run_dir)
    kept[epoch] = weights
    arrays = {f"epoch{number}_{index}": array for number, layers in kept.items()
              for index, array in enumerate(layers)}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    run_dir.write_snapshots(buffer.getvalue())


def load_snapshots(run_dir: RunDir) -> dict[int, list[np.ndarray]]:
    """{epoch: weights}; empty when the run kept none or the file cannot be read."""
    path = run_dir.snapshots_file
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as archive:
            found: dict[int, dict[int, np.ndarray]] = {}
            for key in archive.files:
                epoch, index = key.removeprefix("epoch").split("_")
                found.setdefault(int(epoch), {})[int(index)] = archive[key]
    except (OSError, ValueError, KeyError):
        return {}  # only a picture depends on it: never fail a command for it
    return {epoch: [layers[index] for index in sorted(layers)] for epoch, layers in sorted(found.items())}


def snapshot_callback(run_dir: RunDir, epochs: int, stopper):
    """A Keras callback that keeps the weights after each of kept_epochs(epochs) that ended well."""
    from nnlearn.model.build import keras

    keep = set(kept_epochs(epochs))

    class KeepSnapshots(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if stopper.reason is None and epoch + 1 in keep:
                save_snapshot(run_dir, epoch + 1, self.model.get_weights())

    return KeepSnapshots()
