"""The diagnosis on runs whose truth is known by construction (tests/scenarios/corpus.py): each one trained
here and diagnosed, its verdict one of those accepted for it. The shipped configs are trained by
tests/test_shipped_configs.py, which checks their verdicts too."""

import json

import pytest

from nnlearn.runs.rundir import RunDir
from tests.conftest import invoke
from tests.scenarios.corpus import BY_NAME, SCENARIOS, TASKS, VERDICTS, train_and_diagnose

TRAINED_HERE = [scenario.name for scenario in SCENARIOS if not scenario.shipped]
# the ones that take a few seconds each (hundreds of epochs of a wide network)
SLOW = {name for name in TRAINED_HERE if name.startswith("variance-")}


def test_the_corpus_covers_every_verdict_on_every_task():
    assert len(SCENARIOS) >= 30
    for verdict in VERDICTS:
        tasks = {scenario.task for scenario in SCENARIOS if scenario.truth == verdict}
        assert tasks == set(TASKS), (verdict, tasks)
    for scenario in SCENARIOS:
        assert scenario.accepted[0] == scenario.truth and scenario.why and set(scenario.accepted) <= set(VERDICTS)


@pytest.mark.tensorflow
@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name
                                  for name in TRAINED_HERE])
def test_the_diagnosis_tells_the_truth_of_a_constructed_run(name, workdir):
    scenario = BY_NAME[name]
    assert train_and_diagnose(scenario, workdir) in scenario.accepted


@pytest.mark.tensorflow
def test_a_run_shows_one_verdict_wherever_it_is_shown(workdir):
    """train, eval, diagnose, the report and the learning curves' title all say the same verdict."""
    from nnlearn.insight.diagnose import CURVE_TITLES

    scenario = BY_NAME["bias-binary"]
    config = scenario.write(workdir)
    trained = invoke("train", config, "--out", "runs/one", "--json")
    assert trained.exit_code == 0, trained.output
    [said] = json.loads(trained.stdout)["diagnosis"]
    assert said["kind"] == "high_bias"
    evaluated = invoke("eval", "runs/one", "--json")
    diagnosed = invoke("diagnose", "runs/one", "--json")
    assert json.loads(evaluated.stdout)["diagnosis"] == [said] == json.loads(diagnosed.stdout)["diagnosis"]
    report = invoke("report", "runs/one", "-o", "one.html")
    assert report.exit_code == 0, report.output
    assert said["title"] in (workdir / "one.html").read_text()
    from nnlearn.insight.diagnose import curve_title, diagnose_run

    assert curve_title(diagnose_run(RunDir.open("runs/one"))) == f"Learning curves: {CURVE_TITLES['high_bias']}"
