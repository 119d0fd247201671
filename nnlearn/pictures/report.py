"""`nnlearn report`: one self-contained HTML file per run (or several runs side by side): the config,
the model table, lint warnings, metrics with their baselines, and the plots embedded as images."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from nnlearn.insight.diagnose import diagnose_run
from nnlearn.insight.inside import MISTAKES_SHOWN, mistakes_title
from nnlearn.pictures.plots import INSIDE_FILE, draw_plots
from nnlearn.pictures.sweep_plots import draw_sweep_plots
from nnlearn.runs.catalog import compare
from nnlearn.runs.rundir import SPLITS, RunDir
from nnlearn.runs.saved_run import prepare_saved_run
from nnlearn.runs.sweep_folder import CURVES_PLOT, METRIC_PLOT, open_sweep
from nnlearn.teaching.explain import explain_prepared

REPORT_FILE = "report.html"
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { border: 1px solid #ccc; padding: 4px 8px; }
th { background: #f4f4f4; } td.number { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; } .warning { color: #8a5a00; }
.failed { color: #b00020; font-weight: bold; } .passed { color: #0a7a2a; } img { max-width: 100%; }
.dim { color: #777; }
"""


def _number(value) -> str:
    if value is None:
        return "—"
    return f"{value:.4f}" if isinstance(value, float) and abs(value) < 1e4 else f"{value:.4g}" \
        if isinstance(value, float) else html.escape(str(value))


def _prose(text: str) -> str:
    """A sentence for the page: escaped, with `code` in backticks shown as code, not as backticks."""
    parts = html.escape(text, quote=False).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick is a character, not the start of code
        return html.escape(text, quote=False)
    return "".join(f"<code>{part}</code>" if index % 2 else part for index, part in enumerate(parts))


def _table(headers: list[str], rows: list[list], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = ""
    for row in rows:
        cells = "".join(f'<td class="number">{_number(cell)}</td>' if index >= numeric_from
                        else f"<td>{html.escape(str(cell))}</td>" for index, cell in enumerate(row))
        body += f"<tr>{cells}</tr>"
    return f"<table><tr>{head}</tr>{body}</table>"


def _image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></figure>'


PLOT_ORDER = ("learning_curves", "decision_boundary_epochs", "decision_boundary", "confusion_matrix",
              "predicted_vs_true", "units", "filters", "feature_maps", "mistakes")


def _plots(run_dir: RunDir, prepared) -> list[Path]:
    if not run_dir.is_finished() and not run_dir.history():
        return []  # a run that stopped before its first epoch ended: nothing to draw
    if not run_dir.plot_files():
        draw_plots(run_dir, prepared)  # the data the report already prepared
    return sorted(run_dir.plot_files(),
                  key=lambda path: PLOT_ORDER.index(path.stem) if path.stem in PLOT_ORDER else len(PLOT_ORDER))


def _diagnosis_section(run_dir: Path, prepared) -> str:
    items = "".join(f"<li><b>{_prose(v.title)}</b>: {_prose(v.evidence)}<br><i>Next:</i> "
                    f"{_prose(v.next_step)}" + (f"<br><code>{html.escape(v.command)}</code>" if v.command else "")
                    + "</li>" for v in diagnose_run(run_dir, prepared))
    return f"<h2>Diagnosis</h2><ul>{items}</ul>"


def _share(value) -> str:
    return "—" if value is None else f"{value:.0%}"


def _inside_section(run_dir: RunDir, regression: bool) -> str:
    """Dead and saturated units per layer, and the test examples the model gets most wrong."""
    saved = run_dir.read_plot(INSIDE_FILE)
    if saved is None:
        return ""
    import json

    try:
        numbers = json.loads(saved.decode("utf-8"))
        layers, mistakes = numbers["layers"], numbers["mistakes"]
    except (ValueError, KeyError, TypeError):
        return ""
    rows = [[f"{row['layer']}: {row['name']}", row["activation"], row["units"], _share(row["dead_share"]),
             _share(row["saturated_share"])] for row in layers]
    parts = ["<h2>Inside the model</h2>",
             _table(["layer", "activation", "units", "dead (ReLU never > 0)", "saturated (flat gradient)"],
                    rows, numeric_from=2)]
    parts += [f'<p class="warning">{_prose(warning)}</p>' for warning in numbers.get("warnings", [])]
    parts.append(_mistakes_part(numbers, mistakes, regression))
    return "".join(parts)


def _mistakes_part(numbers: dict, mistakes: list[dict], regression: bool) -> str:
    """The test examples it gets wrong (regression: its largest errors), as inside.json keeps them."""
    title = f"<h3>{html.escape(mistakes_title(mistakes, MISTAKES_SHOWN, regression))}</h3>"
    if not mistakes:
        return title
    files = mistakes[0].get("file") is not None
    names = numbers.get("feature_names", [])[:5] if mistakes[0].get("features") else []
    return title + _table(
        ["file" if files else "test row", "true", "predicted", "probability", "|error|" if regression else "loss"]
        + names, [[m["file"] if files else m["index"], m["true"], m["predicted"], m["probability"], m["loss"]]
                  + m["features"][:len(names)] for m in mistakes], numeric_from=3)


def run_report_body(run_dir: RunDir) -> str:
    prepared, warnings = prepare_saved_run(run_dir)
    explanation = explain_prepared(prepared)
    # a failed or interrupted run has no metrics.json: its report still shows its curves and diagnosis
    metrics = run_dir.metrics()
    status = run_dir.record()
    parts = [f"<p>Status: <b>{html.escape(status.get('status', '?'))}</b>, started "
             f"{html.escape(status.get('started', '?'))}, {metrics.get('epochs', '?')} epochs in "
             f"{metrics.get('seconds', '?')} s. Versions: "
             + html.escape(", ".join(f"{k} {v}" for k, v in status.get("versions", {}).items())) + "</p>"]
    spread = status.get("distribute")
    if isinstance(spread, dict):  # a data-parallel run: how each batch was shared
        parts.append(f"<p>Data-parallel: {html.escape(str(spread.get('strategy')))}, "
                     f"{html.escape(str(spread.get('replicas')))} replicas on "
                     f"{html.escape(str(spread.get('workers')))} workers, "
                     f"{html.escape(str(spread.get('per_replica_batch_size')))} rows each of every batch of "
                     f"{html.escape(str(spread.get('batch_size')))}.</p>")
    for warning in warnings:
        parts.append(f'<p class="warning">{_prose(warning)}</p>')
    splits = [split for split in SPLITS if metrics.get(split)]
    names = list(dict.fromkeys(name for split in splits for name in metrics[split]))
    baseline = (metrics.get("baseline") or {}).get("test", {})
    rows = [[name] + [metrics[split].get(name) for split in splits] + [baseline.get(name)] for name in names]
    parts.append("<h2>Metrics</h2>" + (_table(["metric"] + splits + ["no learning (test)"], rows) if rows else
                                        "<p>None: the run did not finish, so its model was never measured.</p>"))
    parts.append(_diagnosis_section(run_dir, prepared))
    gates = metrics.get("expectations") or []
    if gates:
        gate_rows = "".join(
            f"<tr><td>{html.escape(g['expect'])}</td><td class='number'>{_number(g['measured'])}</td>"
            f"<td class='{'passed' if g['passed'] else 'failed'}'>{'met' if g['passed'] else 'NOT MET'}</td></tr>"
            for g in gates)
        parts.append("<h2>Expectations</h2><table><tr><th>expected</th><th>measured</th><th>result</th></tr>"
                     f"{gate_rows}</table>")
    layer_rows = [[f"{row.index}: {row.type}", "×".join(map(str, row.output_shape)), row.formula,
                   row.activation or "", row.meaning] for row in explanation.layers]
    parts.append("<h2>Model</h2>" + _table(["layer", "output shape", "parameters", "activation", "what it does"],
                                           layer_rows, numeric_from=99)
                 + f"<p>Input shape {'×'.join(map(str, explanation.input_shape))}; "
                   f"<b>{explanation.total_params:,}</b> parameters in all.</p>"
                 + f"<p>Output and loss: {_prose(explanation.output)}.</p>"
                 + f"<p>Expected loss before training: {_prose(explanation.expected_loss_reason)}.</p>")
    if explanation.warnings:
        items = "".join(f"<li class='warning'><b>{html.escape(w.path)}</b>: {_prose(w.message)} "
                        f"<i>Fix: {_prose(w.hint or '')}</i></li>" for w in explanation.warnings)
        parts.append(f"<h2>Warnings</h2><ul>{items}</ul>")
    pictures = [(run_dir.read_plot(path.name), path.stem.replace("_", " ")) for path in _plots(run_dir, prepared)]
    parts.append("<h2>Plots</h2>" + "".join(_image(png, alt) for png, alt in pictures if png is not None))
    parts.append(_inside_section(run_dir, prepared.dataset.kind == "continuous"))
    config_text = run_dir.config_text()
    parts.append(f"<h2>Config</h2><pre>{html.escape(config_text)}</pre>")
    return "\n".join(parts)


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}"
            f"</title><style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>\n{body}\n"
            "<p class='dim'>Made by nnlearn report.</p></body></html>\n")


def run_report(run_dir: RunDir) -> str:
    """The HTML of one run's report."""
    return _page(f"nnlearn run {run_dir.name}", run_report_body(run_dir))


def comparison_report(run_dirs: list[RunDir]) -> str:
    """The HTML of several runs side by side: config differences, metrics, then each run."""
    result = compare(run_dirs)
    names = [path.name for path in run_dirs]
    rows = [[key] + [str(value) for value in values] for key, values in result.differences.items()]
    body = "<h2>Config differences</h2>" + (_table(["key"] + names, rows, numeric_from=99) if rows
                                            else "<p>The configs are identical.</p>")
    metric_rows = [[f"{split} {name}"] + values for split, by_name in result.metrics.items()
                   for name, values in by_name.items()]
    body += "<h2>Metrics</h2>" + _table(["metric"] + names, metric_rows)
    for run_dir in run_dirs:
        body += f"<h2>Run {html.escape(run_dir.name)}</h2>" + run_report_body(run_dir)
    return _page("nnlearn comparison: " + ", ".join(names), body)


def sweep_report(sweep_dir: str | Path) -> str:
    """The HTML of a sweep: its ranking by validation, its plots, and a table of every run."""
    sweep_dir = Path(sweep_dir)
    sweep, _ = open_sweep(sweep_dir)
    if not (sweep_dir / CURVES_PLOT).exists():
        draw_sweep_plots(sweep)
    keys = [axis.key for axis in sweep.axes]
    metric = sweep.metric
    rows = [[", ".join(f"{key}={value}" for key, value in group.values.items()), group.mean, group.std,
             group.train_mean, group.test_mean,
             f"{sum(m.status == 'finished' for m in group.members)}/{len(group.members)}"]
            for group in sweep.groups()]
    best = sweep.best()
    body = (f"<p>{len(sweep.members)} runs: every combination of {html.escape(', '.join(keys))}, with "
            f"{len(sweep.seeds)} seed{'s' if len(sweep.seeds) != 1 else ''}. Ranked by the <b>validation</b> "
            f"{html.escape(metric)}; the test split never chose anything, so its numbers stay an honest "
            "final measurement.</p>")
    if best is not None:
        body += ("<p>Best: <b>" + html.escape(" ".join(f"--set {key}={value}" for key, value in best.values.items()))
                 + "</b></p>")
    body += "<h2>Ranking</h2>" + _table(["values", f"validation {metric} (mean)", "std over seeds",
                                         f"train {metric}", f"test {metric}", "finished"], rows)
    body += "<h2>Plots</h2>" + "".join(_image((sweep_dir / name).read_bytes(),
                                              name.removesuffix(".png").replace("_", " "))
                                       for name in (CURVES_PLOT, METRIC_PLOT) if (sweep_dir / name).exists())
    run_rows = [[member.name, member.seed, member.status]
                + [(member.metrics.get(split) or {}).get(metric) for split in SPLITS]
                for member in sweep.members]
    body += "<h2>Runs</h2>" + _table(["run directory", "seed", "status", f"train {metric}",
                                      f"validation {metric}", f"test {metric}"], run_rows, numeric_from=3)
    body += ("<p class='dim'>" + _prose("Each run is a normal run directory: `nnlearn report SWEEP_DIR/RUN` for one.")
             + "</p>")
    return _page(f"nnlearn sweep {sweep_dir.name}", body)
