"""What people see at 80 columns, on a terminal and in a file: commands are never broken, wrapped lines
keep their indent, no line is padded with spaces, the progress bar shows every metric; and what scripts
see of an error."""

from io import StringIO
from pathlib import Path

from rich.console import Console

from nnlearn.cli.display import (
    EpochProgress,
    epoch_logs,
    error_json,
    print_diagnosis,
    print_error,
    print_table,
    print_warnings,
)
from nnlearn.errors import ConfigError, Interrupted, NnlearnError, Problem
from nnlearn.insight.run_numbers import Verdict

RUN = "runs/mlp-regression-20261201-055003"
COMMAND = f"nnlearn train --from {RUN} --set compile.optimizer.learning_rate=5"


def printed(draw, terminal: bool = False) -> list[str]:
    """What draw(console) prints on a console 80 columns wide (a file, or a terminal)."""
    out = StringIO()
    draw(Console(file=out, width=80, force_terminal=terminal, color_system=None))
    return out.getvalue().splitlines()


def test_a_fix_with_a_command_keeps_the_command_on_one_line():
    error = NnlearnError("the loss became NaN or infinite at epoch 1, batch 6; training stopped.",
                         hint=f"start again with a lower learning rate (now 50): {COMMAND}")
    lines = printed(lambda console: print_error(console, error))
    assert any(line.strip() == COMMAND for line in lines), lines  # copied whole, never cut by a newline
    assert lines[1].startswith("  fix: start again")


def test_an_option_in_a_fix_keeps_its_value_on_its_line():
    problem = Problem("fit.batch_size", "received 'abc'; expected a whole number. (from --set)",
                      hint="write a whole number no larger than the 120 training rows, e.g. --set fit.batch_size=8.")
    lines = printed(lambda console: print_error(console, ConfigError([problem], source="--set")))
    assert any(line.lstrip().startswith("--set fit.batch_size=8.") for line in lines), lines
    assert all(len(line) <= 80 for line in lines)


def test_diagnosis_keeps_backticked_commands_whole_and_pads_no_line():
    step = ("compare a variation with `nnlearn sweep CONFIG --grid KEY=V1,V2`, or look inside the model "
            f"with `nnlearn inspect {RUN}`.")
    lines = printed(lambda console: print_diagnosis(console, [Verdict("healthy", "Looks healthy", "the loss "
                                                                      "settled.", step, COMMAND)]))
    text = "\n".join(lines)
    assert f"`nnlearn inspect {RUN}`" in text and "`nnlearn sweep CONFIG --grid KEY=V1,V2`" in text
    assert f"  try: {COMMAND}" in lines
    assert all(line == line.rstrip() for line in lines), [line for line in lines if line != line.rstrip()]
    assert all(len(line) <= 80 for line in lines if "try:" not in line)


def test_a_wrapped_warning_keeps_its_indent():
    warning = Problem("model.layers[0].activation", "sigmoid in a hidden layer: its gradient is nearly flat "
                      "for large |z| on both sides, so gradient descent slows down; ReLU is flat on one side "
                      "only and usually learns faster.", hint="try activation: relu.")
    lines = printed(lambda console: print_warnings(console, [warning]))
    assert lines[0].startswith("warning model.layers[0].activation: sigmoid")
    assert len(lines) == 4 and all(line.startswith("  ") for line in lines[1:]), lines
    assert lines[-1] == "    fix: try activation: relu."


def test_epoch_logs_fold_between_metrics_never_inside_one():
    logs = {"loss": 0.0512, "val_loss": 0.0712, "accuracy": 0.9812, "val_accuracy": 0.9756}
    lines = epoch_logs(logs, 40).split("\n")
    assert lines == ["loss 0.0512  val_loss 0.0712", "accuracy 0.9812  val_accuracy 0.9756"]
    assert epoch_logs(logs) == "  ".join(lines)


def test_the_progress_bar_at_80_columns_shows_the_last_metric():
    logs = {"loss": 0.0512, "val_loss": 0.0712, "accuracy": 0.9812, "val_accuracy": 0.9756,
            "precision": 0.9, "val_precision": 0.9123}

    def train(console):
        progress = EpochProgress(console, quiet=True)
        progress.start(20, Path("runs/x"))
        for epoch in range(1, 21):
            progress.epoch(epoch, logs)
        progress.finish()

    shown = "\n".join(printed(train, terminal=True))
    assert "val_precision 0.9123" in shown and "…" not in shown


def test_the_progress_bar_fits_the_terminal_even_when_it_narrows():
    """1500 epochs and four metrics with long numbers: no line reaches the terminal's last column (where
    some terminals wrap and leave stale lines), at 80 columns, at 40 and after a resize to 50."""
    import re

    logs = {"loss": 2.875e4, "val_loss": -1.234e5, "mae": 152.3456, "val_mae": 153.2222, "mse": 28750.123,
            "val_mse": 28870.5, "r2": -0.01312, "val_r2": -0.2345}

    def train(console, resize_to=None):
        progress = EpochProgress(console, quiet=True)
        progress.start(1500, Path("runs/x"))
        for epoch in range(1, 1501):
            progress.epoch(epoch, logs)
        if resize_to:
            console.width = resize_to
        progress.finish()

    for width, resize_to in ((80, None), (40, None), (80, 50)):
        out = StringIO()
        train(Console(file=out, width=width, force_terminal=True, color_system=None), resize_to)
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "\n", out.getvalue())
        final = text[text.rindex("epoch 1500/1500"):].splitlines()
        lines = [line for line in text.splitlines() if line.strip()]
        assert all(len(line) < (resize_to or width) for line in final), final
        assert all(len(line) < width for line in lines), [line for line in lines if len(line) >= width]
        assert all(f"{name} " in "\n".join(final) for name in logs), final


def test_a_piped_table_keeps_every_cell_whole_on_one_line():
    from rich.table import Table

    table = Table(title="Runs in runs")
    table.add_column("run", no_wrap=True)
    table.add_column("status")
    name = "coffee-roasting-with-a-much-longer-name-than-usual-20261201-053420"
    table.add_row(name, "interrupted")
    lines = printed(lambda console: print_table(console, table))
    row = next(line for line in lines if name in line)
    assert "interrupted" in row and "…" not in "".join(lines)


def test_only_an_error_that_belongs_to_a_run_has_a_run_dir_in_its_json():

    interrupted = Interrupted("interrupted at epoch 2, batch 1.", hint="continue with: nnlearn train --resume r")
    interrupted.run_dir = Path("runs", "r")
    assert error_json(interrupted)["error"]["run_dir"] == str(Path("runs", "r"))
    assert "run_dir" not in error_json(ConfigError([Problem("fit.epochs", "wrong")]))["error"]


def test_the_loss_before_training_is_explained_once_per_watch_not_at_every_save():
    out = StringIO()
    progress = EpochProgress(Console(file=out, width=80))
    reason = "ln 2 = 0.693: an untrained model says about 0.5 for every example"
    progress.initial_loss(0.71, 0.6931, reason)
    progress.initial_loss(0.72, 0.6931, reason)  # the next run of the same watch
    first, second = " ".join(out.getvalue().split()).split("Loss before training")[1:]
    assert "untrained model says about 0.5" in first and second.strip() == ": 0.7200 (expected about 0.6931)."


def test_a_fix_with_brackets_is_printed_whole_never_empty():
    """As seen: `fix: use metrics: .`, the list read as markup and dropped."""
    error = NnlearnError("accuracy needs classes, but mean_squared_error is a regression loss.",
                         hint="use metrics: [mae, mse, r2], or [accuracy] with a classification loss.")
    text = " ".join(" ".join(printed(lambda console: print_error(console, error), terminal=True)).split())
    assert "fix: use metrics: [mae, mse, r2], or [accuracy] with a classification loss." in text
