"""The pictures of a sweep: every run's learning curves, one colour per combination, and for one numeric
grid key the validation metric against it."""

from __future__ import annotations

from pathlib import Path

from nnlearn.config.loading import parse_path
from nnlearn.pictures.figures import pyplot, save_figure
from nnlearn.runs.rundir import RunDir
from nnlearn.runs.sweep_folder import CURVES_PLOT, METRIC_PLOT, Axis, Group, Sweep


def draw_sweep_plots(sweep: Sweep) -> list[Path]:
    """sweep_curves.png always (when a run finished); sweep_metric.png for a single numeric key."""
    finished = [member for member in sweep.members if member.status == "finished"]
    if not finished:
        return []
    plt = pyplot()
    groups = sweep.groups()
    colours = plt.get_cmap("viridis" if len(groups) > 10 else "tab10")
    panels = ["loss"] + ([sweep.metric] if sweep.metric != "loss" else [])
    figure, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.2), squeeze=False)
    for number, group in enumerate(groups):
        colour = colours(number / max(1, len(groups) - 1)) if len(groups) > 10 else colours(number)
        label = ", ".join(f"{parse_path(key)[-1]}={value}" for key, value in group.values.items())
        for seed_number, member in enumerate(m for m in group.members if m.status == "finished"):
            history = RunDir(sweep.sweep_dir / member.name).history()
            if not history:
                continue
            epochs = [row["epoch"] for row in history]
            for axis, name in zip(axes[0], panels):
                if f"val_{name}" in history[0]:
                    axis.plot(epochs, [row[f"val_{name}"] for row in history], color=colour,
                              label=label if seed_number == 0 else None)
                axis.plot(epochs, [row[name] for row in history], color=colour, linestyle=":", linewidth=1)
    for axis, name in zip(axes[0], panels):
        axis.set_xlabel("epoch")
        axis.set_title(f"{name}: validation (solid), training (dotted)")
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    figure.suptitle("One colour per value: learning curves of every run of the sweep", y=1.02)
    written = [save_figure(figure, sweep.sweep_dir / CURVES_PLOT)]
    numeric = _numeric_axis(sweep)
    if numeric is not None:
        written.append(_metric_plot(plt, sweep, numeric, groups))
    return written


def _numeric_axis(sweep: Sweep) -> Axis | None:
    if len(sweep.axes) != 1:
        return None
    try:
        [float(value) for value in sweep.axes[0].values]
    except ValueError:
        return None
    return sweep.axes[0]


def _metric_plot(plt, sweep: Sweep, axis_spec: Axis, groups: list[Group]) -> Path:
    rows = sorted(((float(group.values[axis_spec.key]), group) for group in groups if group.mean is not None),
                  key=lambda row: row[0])  # by value alone: two values read alike (an old sweep's) tie
    xs = [x for x, _ in rows]
    figure, axis = plt.subplots(figsize=(6.5, 4.2))
    axis.errorbar(xs, [group.mean for _, group in rows], yerr=[group.std or 0 for _, group in rows],
                  marker="o", capsize=3, label=f"validation {sweep.metric}")
    axis.plot(xs, [group.train_mean for _, group in rows], marker=".", linestyle="--",
              label=f"training {sweep.metric}")
    positive = [x for x in xs if x > 0]
    if positive and (axis_spec.key.endswith("learning_rate") or max(positive) / min(positive) >= 100):
        if len(positive) == len(xs):
            axis.set_xscale("log")
        else:  # a 0 among the values (no regularization): logarithmic beyond the smallest positive one
            axis.set_xscale("symlog", linthresh=min(positive))
    best = sweep.best()
    if best is not None:
        axis.axvline(float(best.values[axis_spec.key]), color="tab:green", linestyle=":",
                     label="best by validation")
    axis.set_xlabel(axis_spec.key)
    axis.set_ylabel(sweep.metric)
    axis.set_title(f"{sweep.metric} against {parse_path(axis_spec.key)[-1]} (mean ± std over seeds)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return save_figure(figure, sweep.sweep_dir / METRIC_PLOT)
