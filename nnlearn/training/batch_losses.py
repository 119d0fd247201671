"""The loss of each batch of a first epoch whose loss became NaN: the only curve such a run has.

Training runs many steps per call into TensorFlow and sees only each call's running mean, so the run is
replayed: from the weights it started with, one step per call, up to the batch that failed. The same seed
and the same order of rows give the same steps (model.TrainingSteps: the numbers do not depend on how the
epochs are cut into calls), so the replay's losses are the run's own.
"""

from __future__ import annotations

import math


def replay_first_epoch(steps, model, initial: dict, batches: int, in_units) -> list[float]:
    """Each batch's own loss, batches 1 to `batches` of the first epoch (the last one not finite), from the
    snapshot `initial` of the weights the run started with (model.snapshot), in the target's own units as
    in_units (Prepared.in_target_units) gives them, like every other loss the run records."""
    from nnlearn.model.build import restore  # loads TensorFlow: training.train is loaded without it

    restore(model, initial)
    losses, before = [], 0.0
    for batch in range(batches):
        steps.size, steps.EXECUTION_SECONDS = 1, 0.0  # one step per call, in-memory or streamed
        logs = in_units(steps.run(0, batch, 1).logs)
        running = float(logs.get("loss", math.nan))  # the mean of batches 1..batch+1
        losses.append((batch + 1) * running - batch * before if math.isfinite(running) else running)
        if not math.isfinite(running):
            break
        before = running
    return losses
