"""`nnlearn predict`: apply a saved run to new inputs, with the run's own preprocessing.

Classifiers get their class and probabilities (softmax or sigmoid applied to the logits); regression
gets the predicted value.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnlearn.data.dataset import check_features, path_exists, read_npz_arrays, read_table
from nnlearn.data.images import image_inputs
from nnlearn.data.sources import Source
from nnlearn.data.tabular import Columns, as_numbers, text_rows
from nnlearn.data.target_scale import TargetScale
from nnlearn.errors import DataError
from nnlearn.model.task import classes, output_reading, probabilities, task_of
from nnlearn.runs.rundir import RunDir
from nnlearn.runs.saved_run import prepare_saved_run, read_preprocessing, saved_columns


@dataclass
class Predictions:
    """One dict per input row: the class (or value) and, for classifiers, each probability.
    warnings: inputs outside the range the model saw in training, one sentence per feature."""

    columns: list[str]
    rows: list[dict]
    warnings: list[str] = field(default_factory=list)

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        return buffer.getvalue()


def read_inputs(source: Source, feature_names: list[str], ignore: set[str], typed: bool = False) -> np.ndarray:
    """The rows of a CSV (columns named as in training, any order, each once) or an NPZ's `x`, as floats."""
    path = source.path
    if not path_exists(path, "--input"):
        raise DataError(f"the input file {path} does not exist.", path="--input")
    if source.kind == "npz":
        return _npz_inputs(path, feature_names)
    if source.kind != "csv":
        raise DataError(f"{path.name}: predict reads .csv or .npz files.", path="--input")
    field = "--row" if typed else "--input"
    table = read_table(path, None, field=field, typed=typed)
    check_input_columns(table, feature_names, ignore)
    x = np.empty((len(table), len(feature_names)))
    for index, name in enumerate(feature_names):
        cells = table.cells[name]
        numbers = as_numbers(cells, np.zeros(len(cells), dtype=bool))
        if numbers is None:
            row = text_rows(cells, np.zeros(len(cells), dtype=bool))[0]
            raise DataError(f"{table.at(table.lines[row])}, column {name!r}: {cells[row]!r} is not a number.",
                            path=field, hint="every feature must be a number.")
        bad = np.flatnonzero(~np.isfinite(numbers))
        if len(bad):
            raise DataError(f"{table.at(table.lines[bad[0]])}, column {name!r} is {cells[bad[0]]}.",
                            path=field, hint="fill in or drop rows with missing values.")
        x[:, index] = numbers
    return x


def check_input_columns(table, names: list[str], ignore: set[str]) -> None:
    """The input holds every column the model was trained on (others only if the config ignored them)."""
    missing = [name for name in names if name not in table.header]
    unknown = [name for name in table.header if name not in names and name not in ignore]
    if missing or unknown:
        parts = ([f"missing column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}"] if missing
                 else []) + ([f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}"]
                             if unknown else [])
        where = "the typed rows" if table.unit == "row" else table.name
        raise DataError(f"{where}: {'; '.join(parts)}.", path="--row" if table.unit == "row" else "--input",
                        hint=f"the model was trained on the columns: {', '.join(names)}.")


def read_column_inputs(source: Source, columns: Columns, ignore: set[str],
                       typed: bool = False) -> tuple[np.ndarray, list[str]]:
    """A CSV's rows through a run's fitted columns: missing cells filled as in training, text one-hot
    encoded with the training categories; and a warning for each category never seen in training (its
    one-hot features are all zeros)."""
    path = source.path
    if not path_exists(path, "--input"):
        raise DataError(f"the input file {path} does not exist.", path="--input")
    if source.kind != "csv":
        raise DataError(f"{path.name}: this run was trained on a CSV; predict reads a .csv file with the same "
                        "columns.", path="--input")
    field = "--row" if typed else "--input"
    table = read_table(path, None, field=field, typed=typed)
    check_input_columns(table, [column.name for column in columns.columns], ignore)
    x = columns.transform(table, field)
    bad = np.argwhere(~np.isfinite(x))
    if len(bad):
        row, column = bad[0]
        raise DataError(f"{table.at(table.lines[row])}: {columns.feature_names[column]!r} is "
                        f"{x[row, column]}.", path=field, hint="write a finite number there.")
    return x, columns.unseen(table)


def _npz_inputs(path: Path, feature_names: list[str]) -> np.ndarray:
    """An NPZ's array x, one row per example, as floats."""
    x = read_npz_arrays(path, "--input", ("x",))["x"]
    if x.ndim == 1 and len(feature_names) == 1:
        x = x.reshape(-1, 1)
    check_features(x, path.name, "--input")
    x = x.reshape(len(x), -1).astype(np.float64)
    if x.shape[1] != len(feature_names):
        raise DataError(f"x has {x.shape[1]} values per row; the model was trained on {len(feature_names)}.",
                        path="--input", hint="give rows shaped like the training data.")
    bad = np.argwhere(~np.isfinite(x))
    if len(bad):
        row, column = bad[0]
        raise DataError(f"row {row + 1}, column {column + 1} of x is {x[row, column]}.", path="--input",
                        hint="fill in or drop rows with missing values.")
    return x


def predict(run_dir: RunDir, input_path: str | Path, typed: bool = False) -> Predictions:
    """Predict the rows of input_path with the run's model and preprocessing (typed: a CSV of the rows
    typed with --row, which messages count as typed rows)."""
    input_path = Path(input_path)
    config = run_dir.config()
    state, normalizer = read_preprocessing(run_dir)
    run_dir.check_finished()
    ignore = ({config.data.target} if config.data.target else set()) | set(config.data.ignore)
    source = Source.at(input_path)
    files, unseen = None, []
    if isinstance(state.get("images"), dict):
        images = state["images"]
        files, x = image_inputs(source, tuple(images["image_size"]), int(images["channels"]))
    elif state.get("columns"):
        x, unseen = read_column_inputs(source, saved_columns(state, run_dir), ignore, typed)
    else:
        x = read_inputs(source, state["feature_names"], ignore, typed)
    if len(x) == 0:
        raise DataError(f"{input_path.name} has no rows to predict.", path="--input")
    warnings = [] if files is not None else unseen + outside_training_range(run_dir, x)
    x = normalizer.apply(x).reshape((len(x),) + tuple(state["input_shape"]))
    outputs = np.asarray(run_dir.load_model().predict(x, verbose=0), dtype=np.float64)
    predictions = _describe(outputs, config, state)
    predictions.warnings = warnings
    if files is not None:  # which image each row is
        shown = [str(path.relative_to(input_path)) if path != input_path else path.name for path in files]
        predictions = Predictions(["file"] + predictions.columns,
                                  [{"file": name, **row} for name, row in zip(shown, predictions.rows)])
    return predictions


def outside_training_range(run_dir: RunDir, x: np.ndarray, limit: int = 10) -> list[str]:
    """One warning per feature whose new values lie outside what the training split held: there the
    model extrapolates, and its answer is a guess."""
    prepared, _ = prepare_saved_run(run_dir)
    low, high = prepared.feed.training_range()
    if len(low) != x.shape[1]:
        return []
    warnings = []
    for column, name in enumerate(prepared.dataset.feature_names[:x.shape[1]]):
        outside = np.flatnonzero((x[:, column] < low[column]) | (x[:, column] > high[column]))
        if len(outside):
            rows = ", ".join(str(row + 1) for row in outside[:5]) + (", …" if len(outside) > 5 else "")
            warnings.append(f"{name} = {x[outside[0], column]:.4g} (row{'s' if len(outside) > 1 else ''} {rows}) "
                            f"is outside the range seen in training ({low[column]:.4g} to {high[column]:.4g}): "
                            "the model never saw such inputs, so its answer there is a guess.")
    return warnings[:limit]


def input_columns(run_dir: RunDir) -> list[str]:
    """The columns a row for this run must have: the training CSV's columns (before any encoding)."""
    state, _ = read_preprocessing(run_dir)
    if state.get("columns"):
        return [column.name for column in saved_columns(state, run_dir).columns]
    return list(state["feature_names"])


def typed_rows(pairs: list[str], feature_names: list[str], folder: Path) -> Path:
    """--row name=value options as a CSV file: pairs add up to one row, and a name given again (or a
    --row holding several comma-separated pairs) starts the next row."""
    rows: list[dict[str, str]] = [{}]
    for option in pairs:
        for pair in option.split(","):
            name, equals, value = pair.partition("=")
            name = name.strip()
            if not equals or not name:
                raise DataError(f"--row {option!r}: expected name=value, e.g. --row {feature_names[0]}=1.5.",
                                path="--row", hint=f"the features are: {', '.join(feature_names)}.")
            if name not in feature_names:
                from difflib import get_close_matches

                close = get_close_matches(name, feature_names, 1)
                meant = f"; did you mean {close[0]!r}?" if close else "."
                raise DataError(f"--row {pair.strip()}: no feature named {name!r}{meant} The features are: "
                                f"{', '.join(feature_names)}.", path="--row",
                                hint="give every feature: " + " ".join(f"--row {name}=…" for name in feature_names))
            if name in rows[-1]:
                rows.append({})
            rows[-1][name] = value.strip()
        if "," in option:
            rows.append({})
    rows = [row for row in rows if row]
    for number, row in enumerate(rows, start=1):
        missing = [name for name in feature_names if name not in row]
        if missing:
            raise DataError(f"typed row {number} has no value for {', '.join(map(repr, missing))}.", path="--row",
                            hint="give every feature: " + " ".join(f"--row {name}=…" for name in feature_names))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(dict.fromkeys(name for row in rows for name in row)),
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = folder / "typed-rows.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _describe(outputs: np.ndarray, config, state: dict) -> Predictions:
    """The class (or labels, or value) of each row, with every class's probability."""
    names = state.get("class_names") or []
    task = task_of(config, state.get("target_kind"))
    if task == "regression":
        target = config.data.target or "prediction"
        if state.get("target_scale"):  # learned standardised: back to y's own units

            outputs = TargetScale.from_dict(state["target_scale"]).from_model(outputs)
        return Predictions([target], [{target: float(row[0])} for row in outputs])
    chances = probabilities(outputs, task, output_reading(config))
    chosen = classes(outputs, task, output_reading(config))
    if task == "multilabel":
        columns = ["labels"] + [f"p_{name}" for name in names]
        rows = [{"labels": ";".join(n for n, yes in zip(names, picks) if yes),
                 **{f"p_{n}": float(p) for n, p in zip(names, row)}} for picks, row in zip(chosen, chances)]
        return Predictions(columns, rows)
    if task == "binary":
        negative, positive = (names[0], names[1]) if len(names) == 2 else ("0", "1")
        columns = ["class", f"p_{negative}", f"p_{positive}"]
        rows = [{"class": positive if label else negative, f"p_{negative}": float(1 - p),
                 f"p_{positive}": float(p)} for label, p in zip(chosen, chances[:, 0])]
        return Predictions(columns, rows)
    columns = ["class"] + [f"p_{name}" for name in names]
    rows = [{"class": names[int(label)], **{f"p_{n}": float(p) for n, p in zip(names, row)}}
            for label, row in zip(chosen, chances)]
    return Predictions(columns, rows)
