"""The shipped configs reach their accuracy floors with their own defaults and seed, and the diagnosis
calls each one what the scenario corpus (tests/scenarios/corpus.py) accepts for it."""

import pytest

from nnlearn.training.train import train
from tests.conftest import CONFIGS

# Each floor is the lowest test score over seeds 0-9 (another seed: another split and other initial weights),
# less two test examples for accuracy and 0.05 for r2, measured with TensorFlow 2.21.0 and Keras 3.15.1 by
#     python benchmarks/accuracy_floors.py --seeds 10
# (lowest / mean / highest over the seeds, and the test rows): a new TensorFlow that moves a prediction or
# two does not fail the suite; a real regression does. The suite trains each config with its own seed (0).
FLOORS = {
    "cnn_digits": ("accuracy", 0.972),           # 0.9777 / 0.9886 / 0.9944, 359 rows
    "coffee_roasting": ("accuracy", 0.849),      # 0.8833 / 0.9450 / 1.0000, 60 rows
    "exam_scores": ("accuracy", 0.800),          # 0.8500 / 0.9400 / 1.0000, 40 rows
    "iris_softmax": ("accuracy", 0.833),         # 0.9000 / 0.9533 / 1.0000, 30 rows
    "logistic_regression": ("accuracy", 0.947),  # 0.9649 / 0.9798 / 0.9912, 114 rows
    "mlp_regression": ("r2", 0.282),             # 0.3329 / 0.4398 / 0.5675, 88 rows
    "moons_mlp": ("accuracy", 0.939),            # 0.9500 / 0.9660 / 0.9900, 200 rows
    "shapes_cnn": ("accuracy", 0.924),           # 0.9417 / 0.9758 / 0.9917, 120 rows
    "signals_conv1d": ("accuracy", 0.954),       # 0.9625 / 0.9779 / 0.9875, 240 rows
    "softmax_digits": ("accuracy", 0.952),       # 0.9582 / 0.9646 / 0.9749, 359 rows
}


def test_every_shipped_config_has_a_floor():
    assert {path.stem for path in CONFIGS.glob("*.yaml")} == set(FLOORS)


@pytest.mark.tensorflow
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FLOORS))
def test_shipped_config_reaches_its_floor(name, workdir):
    metric, floor = FLOORS[name]
    run = train(CONFIGS / f"{name}.yaml")
    assert run.metrics["test"][metric] >= floor, run.metrics["test"]
    assert run.metrics["test"][metric] > run.baseline[metric]
    from nnlearn.insight.diagnose import diagnose_run
    from tests.scenarios.corpus import BY_NAME

    verdict = diagnose_run(run.run_dir, run.prepared)[0]
    assert verdict.kind in BY_NAME[name].accepted, verdict
