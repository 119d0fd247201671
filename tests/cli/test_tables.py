"""The tables at 80 columns: run names are never cut, one row per run, numbers read as a learner reads them."""

from io import StringIO
from pathlib import Path
from types import SimpleNamespace

from rich.console import Console

from nnlearn.cli.tables import (
    comparison_legend,
    comparison_tables,
    explanation_table,
    lesson_table,
    predictions_heading,
    predictions_table,
    runs_table,
)
from nnlearn.runs.catalog import Comparison, RunSummary
from nnlearn.teaching.explain import Explanation, LayerRow
from nnlearn.teaching.lessons import LessonResult


def rendered(*things) -> str:
    out = StringIO()
    console = Console(file=out, width=80, color_system=None)
    for thing in things:
        console.print(thing, soft_wrap=isinstance(thing, str))
    return out.getvalue()


def test_two_runs_of_one_config_can_be_told_apart():
    runs = [Path("runs/iris-softmax-20261201-053420"), Path("runs/iris-softmax-20261201-053951")]
    comparison = Comparison(runs, {"compile.optimizer.learning_rate": [0.01, 0.1]},
                            {"test": {"accuracy": [0.9333, 0.9667]}})
    lines = rendered(*comparison_legend(runs), *comparison_tables(runs, comparison)).splitlines()
    assert lines[:2] == [f"run 1: {runs[0]}", f"run 2: {runs[1]}"]
    header = next(line for line in lines if "compile.optimizer" in line)
    assert "0.01" in header and "0.1" in header
    assert any("run 1" in line and "run 2" in line for line in lines[2:])


def test_one_line_per_run_at_80_columns():
    names = ["softmax-digits-20261201-053300", "coffee-roasting-20261201-053420"]
    summaries = [RunSummary(Path("runs") / name, name, "2026-12-01T05:33:00+00:00", 20, 20, "accuracy", 0.9612,
                            status) for name, status in zip(names, ["finished", "interrupted"])]
    lines = rendered(runs_table(Path("runs"), summaries)).splitlines()
    for name, status in zip(names, ["finished", "interrupted"]):
        row = next(line for line in lines if name in line)
        assert "12-01 05:33" in row and "20/20" in row and "acc 0.961" in row and row.rstrip().endswith(status)
    assert all(len(line) <= 80 for line in lines)


def _usual_runs() -> list[RunSummary]:
    """Runs named as train names them, runs/<config-name>-<YYYYMMDD-HHMMSS>, one of each status."""
    names = ["iris-softmax-20261201-103000", "softmax-digits-20261201-103512", "coffee-roasting-20261201-110000",
             "mlp-regression-20261201-111500"]
    statuses = ["finished", "interrupted", "finished", "running"]
    stopped = [{"stopped": True, "stopped_after": 67, "kept_epoch": 47}, None,
               {"stopped": False, "stopped_after": 1500, "kept_epoch": 1200}, None]  # the third ran to the end
    return [RunSummary(Path("runs") / name, name, "2026-12-01T10:30:00+00:00", 67, 1500, "accuracy", 0.9667,
                       status, early) for name, status, early in zip(names, statuses, stopped)]


def test_usual_runs_take_one_line_each_at_80_columns_and_say_which_stopped_early():
    lines = rendered(runs_table(Path("runs"), _usual_runs())).splitlines()
    for run, status in zip(_usual_runs(), ["stopped early", "interrupted", "finished", "running"]):
        row = next(line for line in lines if run.name in line)
        assert "12-01 10:30" in row and "67/1500" in row and "acc 0.967" in row and row.rstrip().endswith(status)
    assert len(lines) == 3 + 4 and all(len(line) < 80 for line in lines)


def test_a_long_run_name_keeps_the_start_column_at_80_columns():
    runs = _usual_runs() + [RunSummary(Path("runs/logistic-regression-20261201-110117"),
                                       "logistic-regression-20261201-110117", "2026-12-01T11:01:17+00:00", 67,
                                       1000, "accuracy", 1.0, "finished", {"stopped": True})]
    lines = rendered(runs_table(Path("runs"), runs)).splitlines()
    assert "started UTC" in "".join(lines) and len(lines) == 3 + 5 and all(len(line) < 80 for line in lines)
    row = next(line for line in lines if line.startswith("logistic-regression-20261201-110117"))
    assert "12-01 11:01" in row and row.rstrip().endswith("stopped early")
    # a name too long for one row at 80 columns: two lines a run, the start still said
    longer = runs + [RunSummary(Path("runs/multiclass-vs-multilabel-20261201-110500"),
                                "multiclass-vs-multilabel-20261201-110500", "2026-12-01T11:05:00+00:00", 3, 3,
                                "accuracy", 0.5, "finished")]
    lines = rendered(runs_table(Path("runs"), longer)).splitlines()
    assert lines.count("multiclass-vs-multilabel-20261201-110500") == 1
    assert sum(line.strip().startswith("started ") or " started " in line for line in lines) == 6
    assert all(len(line.rstrip()) < 80 for line in lines)


def test_at_40_columns_each_run_keeps_its_whole_name_and_its_status():
    out = StringIO()
    Console(file=out, width=40, color_system=None).print(runs_table(Path("runs"), _usual_runs()))
    lines = out.getvalue().splitlines()
    for run, status in zip(_usual_runs(), ["stopped early", "interrupted", "finished", "running"]):
        below = lines[lines.index(run.name) + 1]  # the whole name on its own line, the rest under it
        assert below.startswith(f"  {status}") and "67/1500" in below
    assert all(len(line.rstrip()) < 40 for line in lines)
    assert sum("acc 0.967" in line for line in lines) == 4 and sum("12-01 10:30" in line for line in lines) == 4


def test_config_differences_read_as_yaml_not_python():
    runs = [Path("runs/a"), Path("runs/b")]
    comparison = Comparison(runs, {"fit.early_stopping": [None, {"patience": 3}], "fit.shuffle": [True, False],
                                   "model.layers[0].kernel_size": [[3, 3], [5, 5]]}, {})
    text = rendered(*comparison_tables(runs, comparison))
    assert "None" not in text and "True" not in text and "False" not in text
    assert "null" in text and "true" in text and "false" in text and "[3, 3]" in text


def test_predictions_name_the_whole_run():
    run = Path("runs/coffee-roasting-20261201-053420")
    predictions = SimpleNamespace(columns=["class", "p_0", "p_1"], rows=[{"class": "0", "p_0": 0.8, "p_1": 0.2}])
    text = rendered(predictions_heading(run), predictions_table(run, predictions))
    assert f"Predictions of {run}" in text.splitlines()


def test_a_parameter_formula_stays_on_one_line_with_the_totals_commas():
    meaning = "z = w·a + b, then max(0, z): one output per unit, each a weighted sum of every input"
    explanation = Explanation((8, 8, 1), [LayerRow(5, "dense", (64,), 65600, "1024×64 + 64 = 65600", "relu",
                                                   meaning)], 85066, "", 2.3, "")
    text = rendered(explanation_table(Path("configs/cnn_digits.yaml"), explanation))
    assert "1024×64 + 64 = 65,600" in text and "85,066" in text


def test_a_lessons_numbers_read_as_labelled_rounded_tables():
    numbers = {"epochs": 25, "learning_rates": {"too_small": 0.001, "good": 0.3, "too_large": 1.2},
               "diverges_above": 0.901234567, "epochs_measured": list(range(26)),
               "too_small_loss_by_epoch": [1.0 - 0.0037 * epoch for epoch in range(26)],
               "too_large_loss_by_epoch": [1.011 * 4.4 ** epoch for epoch in range(26)]}
    text = rendered(lesson_table(LessonResult("learning-rate", "title", "explanation", numbers, 2.0)))
    assert "{" not in text and "[" not in text  # no Python dict or list dumped
    assert "learning rates: too large" in text and "0.9012" in text and "0.901234" not in text
    lines = text.splitlines()
    header = next(line for line in lines if "too small loss" in line)
    assert "epoch" in header and "too large loss" in header
    last = next(line for line in lines if line.startswith("│") and line.split("│")[1].strip() == "25")
    assert "0.9075" in last and f"{1.011 * 4.4 ** 25:.4g}" in last  # the last epoch is always shown
    assert sum(1 for line in lines if line.startswith("│")) < 26 + 6  # long lists show about 10 rows


def test_a_config_key_in_compare_is_never_cut_at_80_columns():
    runs = [Path("runs/a"), Path("runs/b"), Path("runs/c")]
    comparison = Comparison(runs, {"compile.optimizer.learning_rate": [0.001, 0.01, 0.1],
                                   "compile.loss": ["sparse_categorical_crossentropy", "categorical_crossentropy",
                                                    "sparse_categorical_crossentropy"]}, {})
    text = rendered(*comparison_tables(runs, comparison))
    assert "compile.optimizer.learning_rate" in text and "…" not in text
