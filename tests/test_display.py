"""What people see at 80 columns, on a terminal and in a file: commands are never broken, wrapped lines
keep their indent, no line is padded with spaces, the progress bar shows every metric; and what scripts
see of an error."""

from io import StringIO
from pathlib import Path

from rich.console import Console

from nnlearn.diagnose import Verdict
from nnlearn.display import EpochProgress, epoch_logs, error_json, print_diagnosis, print_error, print_warnings
from nnlearn.errors import ConfigError, Interrupted, NnlearnError, Problem

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


def test_only_an_error_that_belongs_to_a_run_has_a_run_dir_in_its_json():

    interrupted = Interrupted("interrupted at epoch 2, batch 1.", hint="continue with: nnlearn train --resume r")
    interrupted.run_dir = Path("runs", "r")
    assert error_json(interrupted)["error"]["run_dir"] == str(Path("runs", "r"))
    assert "run_dir" not in error_json(ConfigError([Problem("fit.epochs", "wrong")]))["error"]
