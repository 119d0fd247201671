import json
import subprocess
import sys
from pathlib import Path

import pytest

from nnlearn.runs.rundir import RunDir
from tests.conftest import CONFIGS, DIVERGES, ROOT, TINY, edited, invoke


def test_importing_the_cli_does_not_import_tensorflow():
    code = ("import sys, nnlearn, nnlearn.cli.app, nnlearn.workflows.validate, nnlearn.config.loading, "
            "nnlearn.model.prepare; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_help_validate_explain_and_runs_work_without_tensorflow():
    code = ("import sys; from typer.testing import CliRunner; from nnlearn.cli.app import app; "
            "r = CliRunner().invoke(app, ['validate', 'configs/softmax_digits.yaml']); "
            "assert r.exit_code == 0, r.output; "
            "r = CliRunner().invoke(app, ['explain', 'configs/cnn_digits.yaml']); "
            "assert r.exit_code == 0, r.output; "
            "r = CliRunner().invoke(app, ['runs', 'nowhere']); assert r.exit_code == 2, r.output; "
            "CliRunner().invoke(app, ['train', '--help']); "
            "r = CliRunner().invoke(app, ['train', 'configs/iris_softmax.yaml', '--epochs', '3']); "
            "assert r.exit_code == 2, r.output; assert 'tensorflow' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_every_usage_mistake_is_said_in_nnlearns_form_not_in_a_box():
    for arguments, said in ((["compare"], "error: missing argument 'run_dirs'."),
                            (["train", "c.yaml", "--workers", "x"], "error: invalid value for '--workers'"),
                            (["train", "c.yaml", "a", "b"], "error: got unexpected extra argument(s) (a b).")):
        result = invoke(*arguments)
        assert result.exit_code == 2 and said in result.output and "╭" not in result.output, result.output
        assert f"fix: see: nnlearn {arguments[0]} --help" in result.output


def test_compare_asks_for_two_runs_when_given_one():
    result = invoke("compare", "runs/only")
    assert result.exit_code == 2 and "identical" not in result.output
    assert "error: compare needs two or more runs to set side by side; it was given one (runs/only)." in result.output


def test_a_config_key_given_as_an_option_becomes_the_set_meant():
    epochs = invoke("train", "configs/iris_softmax.yaml", "--epochs", "3", "--no-plots")
    assert epochs.exit_code == 2 and "Traceback" not in epochs.output and "No such option" not in epochs.output
    assert "error: nnlearn train has no option --epochs: config values are changed with --set" in epochs.output
    assert ("fix: did you mean: nnlearn train configs/iris_softmax.yaml --set fit.epochs=3 --no-plots"
            in epochs.output)
    rate = invoke("validate", "configs/iris_softmax.yaml", "--learning-rate=0.1")
    assert "nnlearn validate configs/iris_softmax.yaml --set compile.optimizer.learning_rate=0.1" in rate.output
    units = invoke("explain", "configs/iris_softmax.yaml", "--units", "8")
    assert "--set 'model.layers[0].units=8'" in units.output
    other = invoke("train", "configs/iris_softmax.yaml", "--expct", "accuracy>0.9")
    assert other.exit_code == 2 and "error: nnlearn train has no option --expct." in other.output
    assert "fix: did you mean --expect? All the options: nnlearn train --help" in other.output
    optimizer = invoke("validate", "configs/iris_softmax.yaml", "--optimizer", "sgd", "--lr", "0.1")
    assert "--set compile.optimizer.type=sgd --lr 0.1" in optimizer.output  # a section: the value is its type
    short = invoke("validate", "configs/iris_softmax.yaml", "--lr", "0.1")
    assert "nnlearn validate configs/iris_softmax.yaml --set compile.optimizer.learning_rate=0.1" in short.output
    no_set = invoke("eval", "runs/x", "--epochs", "3")  # eval takes no --set: only the close matches
    assert no_set.exit_code == 2 and "error: nnlearn eval has no option --epochs." in no_set.output


@pytest.mark.tensorflow
def test_training_a_bundled_dataset_never_imports_scikit_learn(tmp_path):
    code = ("import sys; from typer.testing import CliRunner; from nnlearn.cli.app import app; "
            f"r = CliRunner().invoke(app, ['train', {str(CONFIGS / 'cnn_digits.yaml')!r}, '-q', '--no-plots', "
            "'--set', 'fit.epochs=1']); assert r.exit_code == 0, r.output; "
            "assert 'sklearn' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)


def test_python_dash_m_works():
    result = subprocess.run([sys.executable, "-m", "nnlearn", "--version"], capture_output=True, text=True,
                            cwd=ROOT, check=True)
    assert result.stdout.startswith("nnlearn ")


@pytest.mark.tensorflow
def test_train_json_is_one_object_and_eval_agrees(write_config):
    result = invoke("train", write_config(), "--set", "fit.epochs=2", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) >= {"run_dir", "epochs", "seconds", "metrics"}
    assert report["epochs"] == 2
    assert set(report["metrics"]) == {"train", "validation", "test"}
    evaluated = invoke("eval", report["run_dir"], "--json")
    assert evaluated.exit_code == 0, evaluated.output
    again = json.loads(evaluated.stdout)
    assert abs(again["metrics"]["test"]["loss"] - report["metrics"]["test"]["loss"]) < 1e-6
    assert again["metrics"]["test"]["accuracy"] == report["metrics"]["test"]["accuracy"]


@pytest.mark.tensorflow
def test_train_prints_a_table_and_the_run_dir(write_config):
    result = invoke("train", write_config(), "--set", "fit.epochs=1")
    assert result.exit_code == 0, result.output
    saved = json.loads((next(Path("runs").glob("tiny-*")) / "metrics.json").read_text())
    assert f"{saved['test']['accuracy']:.4f}" in result.output  # the table shows the saved test accuracy
    assert f"{saved['train']['loss']:.4f}" in result.output
    assert "runs/tiny-" in result.output


def test_user_mistakes_exit_2_without_traceback(write_config):
    bad = write_config(edited(TINY, ("units: 3", "units: 4")))
    result = invoke("train", bad)
    assert result.exit_code == 2
    assert "model.layers[1].units" in result.output and "3 classes" in result.output
    assert "Traceback" not in result.output
    typo = invoke("train", write_config(), "--set", "fit.epoch=3")
    assert typo.exit_code == 2 and "did you mean 'epochs'" in typo.output
    missing = invoke("train", "absent.yaml")
    assert missing.exit_code == 2 and "does not exist" in missing.output
    no_run = invoke("eval", "runs/absent")
    assert no_run.exit_code == 2 and "no run directory" in no_run.output


def test_errors_in_json_mode_are_json(write_config):
    result = invoke("train", write_config(edited(TINY, ("epochs: 3", "epochs: -1"))), "--json")
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["problems"][0]["path"] == "fit.epochs" and error["problems"][0]["line"] == 15


@pytest.mark.tensorflow
def test_nan_loss_exits_1_and_its_json_names_the_run(write_config, workdir):
    result = invoke("train", write_config(DIVERGES), "--json", "--no-plots")
    assert result.exit_code == 1
    assert "NaN" in result.stderr and "learning_rate" in result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["kind"] == "RunFailed" and (workdir / error["run_dir"] / "config.yaml").is_file()
    assert error["run_dir"] in error["problems"][0]["message"]


def test_set_without_its_equals_sign_is_shown_the_command_it_meant_on_one_line(write_config):
    config = write_config()
    result = invoke("train", config, "--set", "model.layers[0].units", "5", env={"COLUMNS": "80"})
    assert result.exit_code == 2 and "Traceback" not in result.output
    meant = f"nnlearn train {config} --set 'model.layers[0].units=5'"
    assert meant in result.output.splitlines()[-1], result.output  # whole, on one line, to copy
    typed = invoke("validate", write_config(), "--set", "fit.epochs=x")
    assert typed.exit_code == 2 and "e.g. --set fit.epochs=8" in typed.output and "epochs: 8" not in typed.output


def test_validate_shipped_configs_and_a_broken_one(write_config):
    assert invoke("validate", *sorted(CONFIGS.glob("*.yaml"))).exit_code == 0
    broken = write_config(edited(TINY, ("activation: relu", "activation: rellu")), "broken.yaml")
    result = invoke("validate", broken, "--json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)["files"][0]
    assert report["valid"] is False
    assert report["errors"][0]["path"] == "model.layers[0].activation"
    assert report["errors"][0]["line"] == 9


@pytest.mark.tensorflow
def test_a_file_that_cannot_be_written_is_a_clear_error_not_a_traceback(write_config, workdir):
    result = invoke("init", "softmax", workdir / "no" / "such" / "folder" / "x.yaml")
    assert result.exit_code == 2 and "Traceback" not in result.output
    run = invoke("train", write_config(), "--set", "fit.epochs=1", "--no-plots", "--json")
    run_dir = json.loads(run.stdout)["run_dir"]
    (workdir / "in.csv").write_text("sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)\n"
                                    "5.1,3.5,1.4,0.2\n")
    result = invoke("predict", run_dir, "--input", "in.csv", "--output", workdir / "missing" / "out.csv")
    assert result.exit_code == 2 and "missing/out.csv" in result.output and "Traceback" not in result.output


def test_help_fits_80_columns_without_bogus_value_labels():
    result = invoke("train", "--help", env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0
    assert "<bool>" not in result.output and "runs/NAME-TIME" in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80


def test_piped_help_and_tables_end_no_line_with_spaces(tmp_path):
    for arguments in (["--help"], ["train", "--help"], ["runs", str(tmp_path)]):
        result = invoke(*arguments, env={"COLUMNS": "80"})
        padded = [line for line in result.output.splitlines() if line != line.rstrip()]
        assert result.exit_code == 0 and result.output and not padded, (arguments, padded)


def test_small_helps_init_lesson_and_eval(workdir):
    listed = invoke("init")
    assert listed.exit_code == 0 and "logistic-regression: Logistic regression" in listed.output
    assert "Train it" not in listed.output and not list(workdir.iterdir())  # nothing written
    relu = invoke("lesson", "relu")
    assert relu.exit_code == 2 and "did you mean 'relu-vs-sigmoid'" in relu.output
    missing = invoke("eval", "runs/nope")
    assert missing.exit_code == 2 and "nnlearn runs" in missing.output and "ls runs" not in missing.output


@pytest.mark.tensorflow
def test_piped_training_prints_a_line_per_epoch_and_a_resume_counts_new_epochs(write_config, workdir):
    from tests.runs.test_runs import CrashAt

    result = invoke("train", write_config(), "--set", "fit.epochs=3", "--no-plots")
    lines = [line for line in result.output.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert all("loss" in line and "val_accuracy" in line for line in lines)
    from nnlearn.runs.checkpoint import load_checkpoint
    from nnlearn.training.train import train

    with pytest.raises(SystemError):
        train(write_config(), ["fit.epochs=5"], out="runs/crashed", progress=CrashAt(3))
    kept = load_checkpoint(RunDir.open(workdir / "runs/crashed"))["epoch"]  # short epochs: the end of an earlier call
    assert 0 < kept < 3
    resumed = invoke("train", "--resume", "runs/crashed", "--no-plots")
    assert resumed.exit_code == 0, resumed.output
    assert f"{5 - kept} more epochs in" in resumed.output and "(5 in all)" in resumed.output
