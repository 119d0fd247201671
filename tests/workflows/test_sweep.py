"""`nnlearn sweep`: every combination as a normal run, ranked by validation, resumable, checked up front."""

import csv
import json

import pytest

from tests.conftest import DIVERGES, TINY, invoke


def saved_metrics(run_dir) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


@pytest.mark.tensorflow
@pytest.mark.slow
def test_a_2x2_grid_with_2_seeds(write_config, workdir):
    import numpy as np

    result = invoke("sweep", write_config(TINY), "--set", "fit.epochs=2",
                    "--grid", "compile.optimizer.learning_rate=0.001,0.05", "--grid", "model.layers[0].units=4,8",
                    "--seeds", "2", "--out", "sweep", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    folder = workdir / "sweep"
    assert report["seeds"] == [0, 1] and len(report["runs"]) == 8 and len(report["groups"]) == 4
    assert {run["status"] for run in report["runs"]} == {"finished"}
    # every run is a normal run directory, trained with its own values and seed
    for run in report["runs"]:
        run_dir = workdir / run["run_dir"]
        assert (run_dir / "model.keras").is_file()
        config = (run_dir / "config.yaml").read_text()
        assert f"seed: {run['seed']}" in config
        assert f"learning_rate: {run['values']['compile.optimizer.learning_rate']}" in config
    # sweep.csv holds each run directory's own metrics.json numbers
    with (folder / "sweep.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 8
    for row in rows:
        saved = saved_metrics(folder / row["run"])
        for split in ("train", "validation", "test"):
            for name, value in saved[split].items():
                assert float(row[f"{split}_{name}"]) == value
    # each group's mean ± std is NumPy's over the seeds' validation accuracies; the best is by validation
    for group in report["groups"]:
        accuracies = [saved_metrics(folder / name)["validation"]["accuracy"] for name in group["runs"]]
        assert len(accuracies) == 2
        assert group["validation_mean"] == pytest.approx(np.mean(accuracies))
        assert group["validation_std"] == pytest.approx(np.std(accuracies))
        tests = [saved_metrics(folder / name)["test"]["accuracy"] for name in group["runs"]]
        assert group["test_mean"] == pytest.approx(np.mean(tests))
    means = [group["validation_mean"] for group in report["groups"]]
    assert means == sorted(means, reverse=True)
    assert report["best"] == report["groups"][0] and report["split"] == "validation"
    assert (folder / "sweep_curves.png").stat().st_size > 0
    assert not (folder / "sweep_metric.png").exists()  # two keys: no single metric-vs-value plot
    assert "mean ± std" in result.stderr and "Best by validation" in result.stderr
    status = json.loads((folder / "sweep.json").read_text())
    assert [run["status"] for run in status["runs"]] == ["finished"] * 8


@pytest.mark.tensorflow
@pytest.mark.slow
def test_ctrl_c_keeps_finished_runs_and_resume_skips_them(write_config, workdir, monkeypatch):
    from nnlearn.workflows import sweep as training  # where the sweep finds train_config

    real_train = training.train_config
    calls = []

    def interrupted_on_the_second_run(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_train(*args, **kwargs)

    monkeypatch.setattr(training, "train_config", interrupted_on_the_second_run)
    path = write_config(TINY)
    first = invoke("sweep", path, "--set", "fit.epochs=1", "--grid", "compile.optimizer.learning_rate=0.01,0.1",
                   "--out", "sweep")
    assert first.exit_code == 130, first.output
    assert "nnlearn sweep --resume sweep" in first.output
    folder = workdir / "sweep"
    status = json.loads((folder / "sweep.json").read_text())
    assert [run["status"] for run in status["runs"]] == ["finished", "interrupted"]
    kept = folder / status["runs"][0]["name"]
    kept_metrics = (kept / "metrics.json").read_bytes()

    monkeypatch.setattr(training, "train_config", real_train)
    resumed = invoke("sweep", "--resume", folder, "--json")
    assert resumed.exit_code == 0, resumed.output
    report = json.loads(resumed.stdout)
    assert report["skipped"] == [status["runs"][0]["name"]]
    assert [run["status"] for run in report["runs"]] == ["finished", "finished"]
    assert (kept / "metrics.json").read_bytes() == kept_metrics  # the finished run was not trained again
    with (folder / "sweep.csv").open() as handle:
        assert [row["status"] for row in csv.DictReader(handle)] == ["finished", "finished"]
    # one numeric key: the metric against its values, on a log axis for a learning rate
    assert (folder / "sweep_metric.png").is_file()
    again = invoke("sweep", "--resume", folder, "--json")
    assert json.loads(again.stdout)["skipped"] == [run["name"] for run in report["runs"]]

    page = invoke("report", folder)
    assert page.exit_code == 0, page.output
    html = (folder / "report.html").read_text()
    assert "validation" in html and html.count("data:image/png;base64") == 2
    assert report["runs"][1]["name"] in html


def test_bad_grid_values_are_all_reported_before_anything_trains(write_config, workdir):
    result = invoke("sweep", write_config(TINY), "--grid", "compile.optimizer.learning_rate=0.01,abc,-1",
                    "--grid", "model.layers[0].units=4,x", "--grid", "fit.epoch=3", "--json")
    assert result.exit_code == 2, result.output
    problems = json.loads(result.stdout)["error"]["problems"]
    assert [problem["path"] for problem in problems] == [
        "compile.optimizer.learning_rate", "compile.optimizer.learning_rate", "model.layers[0].units",
        "fit.epoch"]
    assert "(from --grid compile.optimizer.learning_rate=abc)" in problems[0]["message"]
    assert "did you mean 'epochs'" in problems[3]["message"]
    # the same messages as --set gives for the same value
    single = invoke("validate", workdir / "config.yaml", "--set", "model.layers[0].units=x", "--json")
    message = json.loads(single.stdout)["files"][0]["errors"][0]["message"]
    assert problems[2]["message"] == message.replace("(from --set)", "(from --grid model.layers[0].units=x)")
    assert not (workdir / "runs").exists()  # nothing was created, nothing trained


@pytest.mark.parametrize("arguments, expected", [
    (["--grid", "fit.epochs"], "KEY=V1,V2"),
    (["--grid", "fit.epochs=1,,2"], "no empty value"),
    (["--grid", "seed=1,2"], "--seeds"),
    (["--grid", "fit.epochs=1,2", "--grid", "fit.epochs=3"], "given twice"),
    ([], "at least one --grid"),
    (["--grid", "fit.epochs=1", "--seeds", "0"], "--seeds must be 1 to 100"),
    (["--grid", "fit.epochs=1", "--set", "data.validation_split=0"], "validation_split"),
])
def test_malformed_sweeps_exit_2_without_a_traceback(write_config, workdir, arguments, expected):
    result = invoke("sweep", write_config(TINY), *arguments)
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split()) and "Traceback" not in result.output
    assert not (workdir / "runs").exists()


def test_combinations_that_conflict_are_reported(write_config, workdir):
    result = invoke("sweep", write_config(TINY), "--grid", "compile.optimizer.momentum=0,0.9", "--json")
    assert result.exit_code == 2
    problem = json.loads(result.stdout)["error"]["problems"][0]
    assert problem["path"] == "compile.optimizer" and "momentum applies to sgd only" in problem["message"]


@pytest.mark.tensorflow
@pytest.mark.slow
def test_a_diverging_run_is_recorded_as_failed_and_the_sweep_goes_on(write_config, workdir):
    result = invoke("sweep", write_config(DIVERGES), "--set", "fit.epochs=1",
                    "--grid", "compile.optimizer.learning_rate=100,0.0001", "--out", "sweep", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [run["status"] for run in report["runs"]] == ["failed", "finished"]
    assert report["metric"] == "r2" and report["best"]["values"] == {"compile.optimizer.learning_rate": "0.0001"}
