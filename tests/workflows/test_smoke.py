import json
from xml.etree import ElementTree

import pytest

from tests.conftest import CONFIGS, DIVERGES, TINY, edited, invoke
from tests.test_quiet_libraries import assert_quiet, nnlearn


@pytest.mark.tensorflow
@pytest.mark.slow
def test_smoke_passes_on_the_shipped_configs_with_no_library_lines(workdir):
    # as a learner's CI runs it (a real process, its real stderr): Keras and TensorFlow say nothing
    result = nnlearn("smoke", str(CONFIGS), "--json", "--junit", "smoke.xml", cwd=workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert_quiet(result)
    report = json.loads(result.stdout)
    assert report["passed"] is True
    assert len(report["results"]) == len(list(CONFIGS.glob("*.yaml")))
    for entry in report["results"]:
        assert entry["status"] == "passed"
        assert entry["final_loss"] < entry["initial_loss"]
    suite = ElementTree.parse(workdir / "smoke.xml").getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == str(len(report["results"]))
    assert suite.get("failures") == "0" and len(suite.findall("testcase")) == len(report["results"])


@pytest.mark.tensorflow
def test_a_config_that_cannot_learn_fails_with_exit_1_and_says_why(write_config, workdir):
    diverges = write_config(DIVERGES, name="diverges.yaml")
    good = write_config(name="good.yaml")
    result = invoke("smoke", diverges, good, "--json", "--junit", "out.xml")
    assert result.exit_code == 1, result.output
    entries = {entry["config"]: entry for entry in json.loads(result.stdout)["results"]}
    assert entries[str(good)]["status"] == "passed"
    assert entries[str(diverges)]["status"] == "failed"
    assert "learning rate" in entries[str(diverges)]["message"]
    suite = ElementTree.parse(workdir / "out.xml").getroot()
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    assert len(suite.findall("testcase/failure")) == 1


def test_an_invalid_config_exits_2(write_config):
    bad = write_config(edited(TINY, ("units: 3", "units: 7")), name="bad.yaml")
    result = invoke("smoke", bad)
    assert result.exit_code == 2
    assert "invalid" in result.output


@pytest.mark.tensorflow
def test_train_and_eval_expectations(write_config):
    path = write_config()
    passed = invoke("train", path, "--expect", "accuracy>=0", "--json")
    assert passed.exit_code == 0, passed.output
    run = json.loads(passed.stdout)
    assert run["passed"] is True and run["expectations"][0]["measured"] == run["metrics"]["test"]["accuracy"]
    failed = invoke("eval", run["run_dir"], "--expect", "accuracy>1", "--expect", "loss>=0")
    assert failed.exit_code == 1
    assert "NOT MET" in failed.output and "test_accuracy > 1" in failed.output
    unknown = invoke("eval", run["run_dir"], "--expect", "r2>0")
    assert unknown.exit_code == 2 and "test_accuracy" in unknown.output
    gated = write_config(TINY + "expect: {test_accuracy: '>1.0'}\n", name="gated.yaml")
    assert invoke("train", gated).exit_code == 1
