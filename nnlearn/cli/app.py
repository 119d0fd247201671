"""The `nnlearn` command line: one function per command, in the modules beside this one, registered here in
the order `--help` lists them.

Nothing here imports TensorFlow: only the commands that train or evaluate do, when they run.
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from contextlib import ExitStack
from typing import Annotated

import typer

from nnlearn.cli import config_commands, lab_commands, run_commands, train_command
from nnlearn.cli.process import exit_after, exit_interrupted, guard_output, quiet_at_shutdown
from nnlearn.cli.usage import Commands
from nnlearn.files import remove_temporary_folders, temporary_folder
from nnlearn.runs import lock
from nnlearn.versions import installed_versions

app = typer.Typer(cls=Commands, no_args_is_help=True, add_completion=False, rich_markup_mode="markdown",
                  help="Learn neural networks by training real ones: YAML → tf.keras → train, evaluate, "
                       "explain.")


def _version(value: bool) -> None:
    if value:
        print(", ".join(f"{name} {version}" for name, version in installed_versions().items()))
        raise typer.Exit()


@app.callback()
def main_options(context: typer.Context,
                 version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                       help="Print the version and exit.")] = False):
    """nnlearn turns a YAML config into a tf.keras Sequential model, trains it and saves the run."""
    # the run folders a command writes stay locked until it ends (see nnlearn.runs.lock), then are let go
    scope = ExitStack()
    scope.enter_context(lock.held())
    context.call_on_close(scope.close)
    # Python warnings (Keras' and TensorFlow's, with their site-packages paths) are for programmers who use
    # these libraries; nnlearn tells a learner what matters in its own words, as a config warning with a fix.
    warnings.simplefilter("ignore")


for name, command in [("train", train_command.train), ("eval", run_commands.eval_command),
                      ("validate", config_commands.validate), ("smoke", lab_commands.smoke),
                      ("predict", run_commands.predict), ("runs", lab_commands.runs),
                      ("compare", lab_commands.compare), ("plot", run_commands.plot),
                      ("report", run_commands.report), ("diagnose", run_commands.diagnose),
                      ("inspect", run_commands.inspect), ("explain", config_commands.explain),
                      ("gradcheck", config_commands.gradcheck), ("eject", config_commands.eject),
                      ("lesson", lab_commands.lesson), ("watch", lab_commands.watch), ("sweep", lab_commands.sweep),
                      ("lr-find", lab_commands.lr_find)]:
    app.command(name)(command)
config_commands.config_app.command("show")(config_commands.config_show)
app.add_typer(config_commands.config_app, name="config")
app.command("init")(config_commands.init)
app.command("schema")(config_commands.schema)


def main() -> None:
    sys.unraisablehook = quiet_at_shutdown
    guard_output()
    # every temporary file of the command (TensorFlow's autograph files too) in one folder of its own,
    # removed on every way out (see process._leave), so a Ctrl-C leaves none behind
    tempfile.tempdir = str(temporary_folder("nnlearn-"))
    try:
        app(prog_name="nnlearn")
    except KeyboardInterrupt:  # a second Ctrl-C while the first one's message was being printed
        exit_interrupted(130)
    except SystemExit as stop:
        exit_after(stop.code)
        raise
    finally:
        remove_temporary_folders()


if __name__ == "__main__":
    sys.exit(main())
