"""Why a loss blew up, and the one command that fixes every cause named: the target or the features far from size
1, and a learning rate too large. Training's NaN message and the diagnosis say the same (the diagnosis reads it
from here)."""

from __future__ import annotations

import shlex

from nnlearn.config.learning_rates import lowered_rate, usual_rate
from nnlearn.model.baselines import UNSCALED_FEATURE


def retrain_command(run_dir: str, *settings: str) -> str:
    """retrain() from the run folder's name alone."""
    return " ".join([f"nnlearn train --from {shlex.quote(run_dir)}"] + [f"--set {shlex.quote(setting)}"
                                                                         for setting in settings])


def divergence_fix(rate: float, optimizer: str, feature_sizes: tuple[float, float] | None,
                   unscaled_target_loss: float | None, run_dir: str) -> tuple[str, str]:
    """Why the steps were too large, and one command that fixes every cause named: a target far from size
    1 (a regression whose untrained loss mean(y²) is that large) standardised, features far from size 1
    (data.normalize: none; baselines.unscaled_feature_sizes) standardised, and the learning rate: back to the
    optimizer's usual one when another cause is named (and the rate is above it), else lowered."""
    reasons, settings = [], []
    if unscaled_target_loss is not None:
        reasons.append(f"the target is not scaled: an untrained model's squared error is mean(y²) = "
                       f"{unscaled_target_loss:.4g}, and each gradient step grows with the error, so the steps are "
                       "far too large at any usual learning rate. Standardise it (data.standardize_target: true; "
                       "the loss, the metrics and the predictions stay in y's own units)")
        settings.append("data.standardize_target=true")
    if feature_sizes is not None:
        smallest, largest = feature_sizes
        reasons.append(f"the features are not scaled (data.normalize: none; their sizes go from {smallest:.3g} to "
                       f"{largest:.3g}): " + ("the gradient along a feature's weight grows with its values, so the "
                                              "steps along the largest are that much larger. Standardise them"
                                              if largest > UNSCALED_FEATURE else
                                              "standardise them too, so that one learning rate suits every weight "
                                              "(along a feature far below size 1, the steps are far too small)"))
        settings.append("data.normalize=standard")
    usual = usual_rate(optimizer)
    if not reasons:
        advice, lowered = lower_rate_advice(rate, optimizer)
        return advice, retrain_command(run_dir, f"compile.optimizer.learning_rate={lowered:g}")
    if rate > usual:
        reasons.append(f"start from the usual learning rate for {optimizer}, {usual:g} (now {rate:g})")
        settings.append(f"compile.optimizer.learning_rate={usual:g}")
    return "; ".join(reasons), retrain_command(run_dir, *settings)


def lower_rate_advice(rate: float, optimizer: str) -> tuple[str, float]:
    """lower_rate's sentence and rate from the plain numbers."""
    usual = usual_rate(optimizer)
    name = "Adam" if optimizer == "adam" else "plain gradient descent (sgd)"
    lowered, far = lowered_rate(rate, optimizer)
    if far:
        warned = ", as the config's warning says," if optimizer == "adam" else ""  # lint warns for Adam
        return (f"the learning rate ({rate:g}) is far above the usual {usual:g} for {name}: start again from "
                f"{usual:g}{warned} rather than lowering it tenfold run after run", lowered)
    return f"lower the learning rate (now {rate:g}) about tenfold and start again", lowered
