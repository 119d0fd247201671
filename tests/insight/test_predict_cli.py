"""predict for people: typed rows, the top classes, and a warning for inputs outside the training range."""

import json

import numpy as np
import pytest

from nnlearn.runs.rundir import RunDir
from tests.conftest import CONFIGS, approx_rows, invoke

IRIS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


@pytest.mark.tensorflow
def test_typed_rows_equal_the_same_rows_from_a_file(tiny_run, tmp_path):
    values = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
    (tmp_path / "rows.csv").write_text(",".join(IRIS) + "\n" + "".join(",".join(map(str, v)) + "\n" for v in values))
    from_file = invoke("predict", tiny_run, "--input", tmp_path / "rows.csv", "--json")
    typed = [f"{name}={value}" for row in values for name, value in zip(IRIS, row)]
    from_rows = invoke("predict", tiny_run, *[a for pair in typed for a in ("--row", pair)], "--json")
    assert from_file.exit_code == from_rows.exit_code == 0, from_rows.output
    assert json.loads(from_rows.stdout)["predictions"] == approx_rows(json.loads(from_file.stdout)["predictions"])
    one_option = invoke("predict", tiny_run, "--row", ",".join(typed[:4]), "--json")
    assert json.loads(one_option.stdout)["predictions"] == approx_rows(json.loads(from_file.stdout)["predictions"][:1])
    incomplete = invoke("predict", tiny_run, "--row", f"{IRIS[0]}=5")
    assert incomplete.exit_code == 2 and "no value for" in incomplete.output and "Traceback" not in incomplete.output
    both = invoke("predict", tiny_run)
    assert both.exit_code == 2 and "--input FILE or with --row" in both.output


@pytest.mark.tensorflow
def test_inputs_outside_the_training_range_are_warned_about(tiny_run):
    from nnlearn.runs.saved_run import prepare_saved_run

    train_x = prepare_saved_run(RunDir.open(tiny_run))[0].splits.train.x
    inside = [f"{name}={value}" for name, value in zip(IRIS, train_x.mean(axis=0))]
    result = invoke("predict", tiny_run, *[a for p in inside for a in ("--row", p)], "--json")
    assert json.loads(result.stdout)["warnings"] == []
    far = inside[:2] + [f"{IRIS[2]}={train_x[:, 2].max() + 1}"] + inside[3:]
    result = invoke("predict", tiny_run, *[a for p in far for a in ("--row", p)], "--json")
    [warning] = json.loads(result.stdout)["warnings"]
    assert warning.startswith(f"{IRIS[2]} = {train_x[:, 2].max() + 1:.4g}")
    assert f"{train_x[:, 2].min():.4g} to {train_x[:, 2].max():.4g}" in warning


@pytest.mark.tensorflow
def test_ten_classes_show_the_top_three_unless_all(workdir):
    from nnlearn.training.train import train

    run = train(CONFIGS / "softmax_digits.yaml", ["fit.epochs=1"], out="runs/digits").run_dir
    names = json.loads((run / "preprocessing.json").read_text())["feature_names"]
    np.savez(workdir / "rows.npz", x=np.zeros((2, len(names))))
    shown = invoke("predict", run, "--input", "rows.npz")
    assert shown.exit_code == 0, shown.output
    assert "most likely (p)" in shown.output and "#3 (p)" in shown.output and "p_9" not in shown.output
    every = invoke("predict", run, "--input", "rows.npz", "--all", "--json")
    row = json.loads(every.stdout)["predictions"][0]
    assert sum(row[f"p_{digit}"] for digit in range(10)) == pytest.approx(1.0, abs=1e-6)
    best = max(range(10), key=lambda digit: row[f"p_{digit}"])
    assert f"{best} ({row[f'p_{best}']:.2f})" in shown.output


def test_a_file_given_without_input_is_shown_the_command_meant():
    run_dir = "runs/coffee-roasting-20261201-053420"
    result = invoke("predict", run_dir, "new rows.csv", env={"COLUMNS": "80"})
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"did you mean: nnlearn predict {run_dir} --input 'new rows.csv'" in result.output.replace("\n    ", " ")
    assert f"nnlearn predict {run_dir} --input 'new rows.csv'" in result.output.splitlines()[-1]  # one line
    typed = invoke("predict", run_dir, "temperature=200")
    assert typed.exit_code == 2 and f"nnlearn predict {run_dir} --row temperature=200" in typed.output
    both = invoke("predict", run_dir, "--input", "a.csv", "b.csv")
    assert both.exit_code == 2 and "did you mean" not in both.output  # --input takes one file: no guess


def test_a_typed_row_with_an_unknown_name_names_it_and_the_feature_meant(tmp_path):
    from nnlearn.errors import DataError
    from nnlearn.insight.predict import typed_rows

    with pytest.raises(DataError) as raised:
        typed_rows(["temperature=200", "durtion=13.9"], ["temperature", "duration"], tmp_path)
    assert raised.value.problems[0].message == ("--row durtion=13.9: no feature named 'durtion'; did you mean "
                                                "'duration'? The features are: temperature, duration.")


def test_predict_says_whether_no_rows_or_both_kinds_were_given(workdir):


    none = invoke("predict", "runs/x")
    assert none.exit_code == 2 and "no rows were given; the rows to predict come with --input FILE" in none.output
    both = invoke("predict", "runs/x", "--input", "a.csv", "--row", "x=1")
    assert both.exit_code == 2 and "both --input and --row were given: use one" in " ".join(both.output.split())
