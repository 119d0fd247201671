"""The shipped configs reach their accuracy floors with their own defaults and seed, and the diagnosis
calls each one what the scenario corpus (tests/scenarios/corpus.py) accepts for it."""

import pytest

from nnlearn.training import train
from tests.conftest import CONFIGS

FLOORS = {
    "logistic_regression": ("accuracy", 0.96),
    "softmax_digits": ("accuracy", 0.95),
    "cnn_digits": ("accuracy", 0.975),
    "iris_softmax": ("accuracy", 0.93),
    "moons_mlp": ("accuracy", 0.95),
    "mlp_regression": ("r2", 0.40),
    "exam_scores": ("accuracy", 0.85),
    "coffee_roasting": ("accuracy", 0.93),
    "shapes_cnn": ("accuracy", 0.93),
    "signals_conv1d": ("accuracy", 0.95),
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
    from nnlearn.diagnose import diagnose_run
    from tests.scenarios.corpus import BY_NAME

    verdict = diagnose_run(run.run_dir, run.prepared)[0]
    assert verdict.kind in BY_NAME[name].accepted, verdict
