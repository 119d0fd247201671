"""The commands about a config, none of which trains: validate, explain, gradcheck, eject, init, schema and
`config show`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape as escape_markup

from nnlearn.cli.common import (
    JsonOption,
    QuietOption,
    SetOption,
    consoles,
    emit,
    handled,
    refuse_existing,
    write_new,
)
from nnlearn.cli.display import first_line, make_console, print_report, print_wrapped


def validate(configs: Annotated[list[Path], typer.Argument(help="One or more YAML configs.")],
             overrides: SetOption = None, quiet: QuietOption = False, as_json: JsonOption = False):
    """Check configs without training (and without importing TensorFlow): exit 0 if all are valid."""
    from nnlearn.workflows.validate import validate_file

    people, _ = consoles(as_json)
    reports = [validate_file(path, overrides or []) for path in configs]
    for report in reports:
        if quiet:
            report.warnings = []
        print_report(people, report)
    emit(as_json, {"files": [report.to_json() for report in reports]})
    raise typer.Exit(0 if all(report.valid for report in reports) else 2)


def explain(config: Annotated[Path, typer.Argument(help="The YAML config to explain.")],
            overrides: SetOption = None, quiet: QuietOption = False, as_json: JsonOption = False):
    """Per layer: output shape, parameters with their formula, activation; then what the output and
    loss compute and the loss an untrained model should have. No TensorFlow needed."""
    from rich.markup import escape

    from nnlearn.cli.display import print_warnings
    from nnlearn.cli.tables import explanation_table
    from nnlearn.config.loading import load_config
    from nnlearn.model.prepare import prepare
    from nnlearn.teaching.explain import explain_prepared

    people, _ = consoles(as_json)
    with handled(as_json):
        explanation = explain_prepared(prepare(load_config(config, overrides or []), config.parent))
    people.print(explanation_table(config, explanation))
    people.print(f"[bold]Inputs[/]: {escape(explanation.inputs)}.")
    people.print(f"[bold]Output and loss[/]: {escape(explanation.output)}.")
    people.print(f"[bold]Before training[/] the loss should be about {escape(explanation.expected_loss_reason)}.")
    if not quiet:
        print_warnings(people, explanation.warnings)
    result = explanation.to_json()
    if quiet:
        result["warnings"] = []
    emit(as_json, result)


def gradcheck(config: Annotated[Path, typer.Argument(help="The YAML config whose model to check.")],
              overrides: SetOption = None, as_json: JsonOption = False):
    """Compare backpropagation's gradients with finite differences (ε = 1e-3) in float64, per weight
    tensor, on a small batch. Exit 1 if any relative error exceeds 1e-4."""
    from nnlearn.cli.tables import gradcheck_table
    from nnlearn.config.loading import load_config
    from nnlearn.model.prepare import prepare
    from nnlearn.teaching.gradcheck import TOLERANCE
    from nnlearn.teaching.gradcheck import gradcheck as check_gradients

    people, _ = consoles(as_json)
    with handled(as_json):
        prepared = prepare(load_config(config, overrides or []), config.parent)
        with first_line(people, f"Checking the gradients of {escape_markup(str(config))}'s model"):
            result = check_gradients(prepared)
    people.print(gradcheck_table(result, TOLERANCE))
    people.print(f"Backpropagation: 1 backward pass ({result.backward_seconds * 1000:.1f} ms) for all "
                 f"{result.total_params:,} parameters. Finite differences need 2 forward passes per "
                 f"parameter: {2 * result.total_params:,} for all of them; the {result.forward_evaluations:,} "
                 f"done here took {result.finite_difference_seconds:.2f} s.")
    emit(as_json, result.to_json())
    if not result.passed:
        raise typer.Exit(1)


def eject(config: Annotated[Path, typer.Argument(help="The YAML config to turn into a script.")],
          output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write the script here "
                                                         "(never overwritten); default: print it.")] = None,
          overrides: SetOption = None):
    """Write a standalone plain tf.keras script equivalent to CONFIG: same data, split, normalisation and
    seed, with the three steps visible as Sequential([...]), compile(...) and fit(...)."""
    from nnlearn.config.loading import load_config
    from nnlearn.model.prepare import prepare
    from nnlearn.teaching.eject import eject as eject_script

    with handled(False):
        refuse_existing(output)
        prepared = prepare(load_config(config, overrides or []), config.parent)
        text = eject_script(prepared, output)
        if output is None:
            print(text, end="")
            return
        write_new(output, text)
    print_wrapped(make_console(stderr=True), "", f"Wrote {output}; run it with: python {output}")


config_app = typer.Typer(no_args_is_help=True, help="Inspect configs.")


def config_show(config: Annotated[Path, typer.Argument(help="The YAML config.")],
                overrides: SetOption = None):
    """Print the fully resolved config, every default filled in (what train saves in the run)."""
    from nnlearn.config.authoring import resolved_yaml
    from nnlearn.config.loading import load_config

    with handled(False):
        print(resolved_yaml(load_config(config, overrides or [])), end="")


def init(template: Annotated[Optional[str], typer.Argument(help="logistic-regression, mlp-regression, softmax, "
                                                                "cnn or multilabel; leave out for the list.")
                              ] = None,
         path: Annotated[Optional[Path], typer.Argument(help="Where to write it (default: "
                                                             "TEMPLATE.yaml); never overwritten.")] = None):
    """Write a commented starter config that validates and trains as it is. Without TEMPLATE: the list."""
    from nnlearn.config.authoring import TEMPLATES, template_text, write_template

    if template is None:
        console = make_console()
        for name in TEMPLATES:
            first = next((line.lstrip("# ") for line in template_text(name).splitlines()
                          if line.startswith("# ") and "yaml-language-server" not in line), "")
            console.print(f"[bold]{name}[/]: {escape_markup(first.split(' Train it:')[0])}")
        console.print("Write one with: nnlearn init TEMPLATE [PATH]")
        return
    with handled(False):
        written = write_template(template, path or Path(f"{template}.yaml"))
    print_wrapped(make_console(), "", f"Wrote {written}. Next: `nnlearn validate {written}`, then "
                                      f"`nnlearn train {written}`.")


def schema():
    """Print the config's JSON Schema, for editors."""
    from nnlearn.config.authoring import config_schema

    print(config_schema(), end="")
