"""The learning rates each optimizer usually works with: one table for the config's warnings, the diagnosis's
advice and the message of a run whose loss became NaN."""

from __future__ import annotations

# the learning rate each optimizer usually starts from
USUAL_RATE = {"adam": 0.001, "sgd": 0.01}
# a rate this many times above or below the usual one is far from it: for Adam, 1e-5 to 0.1 is the usual range
FAR_FROM_USUAL = 100


def usual_rate(optimizer: str) -> float:
    """The rate an optimizer usually starts from (Adam's for an optimizer nnlearn does not know)."""
    return USUAL_RATE.get(optimizer, USUAL_RATE["adam"])


def usual_range(optimizer: str) -> tuple[float, float]:
    """(lowest, highest) rate that is not far from the usual one."""
    usual = usual_rate(optimizer)
    return usual / FAR_FROM_USUAL, usual * FAR_FROM_USUAL


def accepted_range(optimizer: str, epochs: int) -> tuple[float, float]:
    """(lowest, highest) rate lint accepts without a warning: the usual range; for plain gradient descent
    trained under 100 epochs, no lower than a tenth of its usual rate (smaller steps would barely move)."""
    low, high = usual_range(optimizer)
    if optimizer == "sgd" and epochs < 100:
        low = usual_rate("sgd") / 10
    return low, high


def lowered_rate(rate: float, optimizer: str) -> tuple[float, bool]:
    """The learning rate to start again from after steps too large, and whether it is the optimizer's usual
    rate: straight back to it when this one is far above it (tenfold at a time would take run after run),
    else a tenth of it."""
    usual = usual_rate(optimizer)
    return (usual, True) if rate > FAR_FROM_USUAL * usual else (rate / 10, False)
