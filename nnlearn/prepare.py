"""From a validated config to ready-to-train arrays: load, check against the model, split, normalise.

Everything a run needs before TensorFlow is imported; every mistake found here is a user error.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from nnlearn.config import Config
from nnlearn.data import (Dataset, Normalizer, Splits, is_file_source, load_dataset, resolve_source,
                          split_dataset)
from nnlearn.errors import ConfigError, RunError
from nnlearn.files import sha256_of_file
from nnlearn.tabular import Columns
from nnlearn.task import Task, is_classifier, task_of
from nnlearn.rundir import RunDir
from nnlearn.shapes import LayerShape, Shape, infer_shapes, output_problems, uses_image_input, uses_signal_input
from nnlearn.target_scale import TargetScale


@dataclass
class Prepared:
    """The data of a run, split and normalised, with the model's input shape and layer shapes."""

    config: Config
    dataset: Dataset
    splits: Splits
    normalizer: Normalizer
    input_shape: Shape
    layers: list[LayerShape]
    source_path: Path | None = None  # the data file, resolved, when the source is a file
    stream: object | None = None  # streaming.Stream when the features are read from disk, never held

    @property
    def task(self) -> Task:
        """regression, binary, multiclass or multilabel: from the loss and the data."""
        return task_of(self.config, self.dataset.kind)

    @property
    def warnings(self) -> list:
        """The config's warnings (lint): concepts behind likely mistakes, never fatal."""
        from nnlearn.lint import lint

        return lint(self)

    def x(self, split_name: str) -> np.ndarray:
        """A split's features, normalised and shaped for the model's input."""
        split = getattr(self.splits, split_name)
        return self.normalizer.apply(split.x).reshape((len(split.x),) + self.input_shape)

    def y(self, split_name: str) -> np.ndarray:
        """A split's targets as the loss expects them (one-hot for categorical_crossentropy)."""
        return self.targets(getattr(self.splits, split_name).y)

    def targets(self, y: np.ndarray) -> np.ndarray:
        """Targets (class indices, 0/1 labels or values) as the loss expects them."""
        loss = self.config.compile.loss
        if loss == "categorical_crossentropy":
            return np.eye(self.dataset.n_classes, dtype=np.float32)[y]
        if loss == "binary_crossentropy" and self.dataset.kind == "classes":
            return y.reshape(-1, 1).astype(np.float32)
        if loss == "mean_squared_error":
            scale = self.target_scale
            return scale.to_model(y) if scale else y.reshape(len(y), -1).astype(np.float32)
        return y

    @cached_property
    def target_scale(self) -> TargetScale | None:
        """With data.standardize_target, the training split's mean and standard deviation the target is
        learned in (the same numbers every time the run is prepared); else None."""
        if not (self.config.data.standardize_target and self.dataset.kind == "continuous"):
            return None
        return TargetScale.fit(self.splits.train.y)

    def in_target_units(self, logs: dict) -> dict:
        """Logged losses and metrics in y's own units (as they are, unless the target is standardised)."""
        return self.target_scale.in_units(logs) if self.target_scale else logs

    def predicted_values(self, outputs: np.ndarray) -> np.ndarray:
        """A regression model's outputs as predictions in y's own units."""
        scale = self.target_scale
        return scale.from_model(outputs) if scale else np.asarray(outputs, dtype=np.float64)


def input_shape_for(config: Config, dataset: Dataset) -> Shape:
    """The image shape when the model starts with conv2d or 2-D pooling; (steps, channels) when it starts
    with conv1d or 1-D pooling (a flat row is one channel); else the flat feature count."""
    if uses_image_input(config) and dataset.image_shape is not None:
        return tuple(dataset.image_shape)
    if uses_signal_input(config):
        return tuple(dataset.signal_shape) if dataset.signal_shape is not None else (dataset.n_features, 1)
    return (dataset.n_features,)


def check_model_against_data(config: Config, dataset: Dataset) -> list[LayerShape]:
    """Layer shapes, or a ConfigError naming the layer or loss that does not fit the data."""
    input_shape = input_shape_for(config, dataset)
    layers, problems = infer_shapes(config, input_shape)
    if not problems:
        output_shape = layers[-1].output_shape if layers else input_shape
        sample = dataset.y[0] if len(dataset.y) else None
        problems = output_problems(config, output_shape, dataset.kind, dataset.n_classes, sample)
    if problems:
        raise ConfigError(problems)
    _check_model_fits_in_memory(config, layers, dataset.rows)
    return layers


def _check_model_fits_in_memory(config: Config, layers: list[LayerShape], rows: int) -> None:
    """Sizes the schema allows (two dense layers of 100,000 units) can need more memory than the
    machine has: refuse them with the numbers before TensorFlow tries."""
    from nnlearn.data import check_fits_in_memory
    from nnlearn.errors import DataError, Problem

    params = sum(layer.params for layer in layers)
    outputs = sum(int(np.prod(layer.output_shape)) for layer in layers)
    batch = min(config.fit.batch_size, max(rows, 1))
    try:
        check_fits_in_memory(params * 4 * 4 + batch * outputs * 4 * 2,
                             f"the model ({params:,} parameters, batches of {batch:,})", "model.layers",
                             "use fewer units or filters, or a smaller fit.batch_size.",
                             why="float32 weights, their gradients and Adam's two moments, and each layer's "
                                 "outputs for one batch")
    except DataError as error:
        raise ConfigError([Problem("model.layers", error.message, hint=error.hint)]) from None


def prepare(config: Config, config_dir: Path | None = None,
            normalizer: Normalizer | None = None, columns: Columns | None = None) -> Prepared:
    """Load and check the data, split it with the config's seed, and fit (or reuse) the normaliser and a
    CSV's fitted columns."""
    from nnlearn import streaming

    if streaming.streamed(config, config_dir):  # read from disk a block at a time, never held whole
        return streaming.prepare_streamed(config, config_dir, normalizer)
    dataset = load_dataset(config.data, config.seed, config_dir, columns)
    layers = check_model_against_data(config, dataset)
    stratify = is_classifier(task_of(config))
    splits = split_dataset(dataset, config.data, config.seed, stratify)
    if normalizer is None and dataset.images is not None:
        normalizer = Normalizer.for_pixels(config.data.normalize, dataset.n_features)
    elif normalizer is None:
        normalizer = Normalizer.fit(config.data.normalize, splits.train.x)
    source_path = (resolve_source(config.data.source, config_dir) if is_file_source(config.data.source)
                   else None)
    return Prepared(config, dataset, splits, normalizer, input_shape_for(config, dataset), layers,
                    source_path)


def read_preprocessing(run_dir: RunDir | Path) -> tuple[dict, Normalizer]:
    """A run's preprocessing.json, checked to be whole, and its normaliser. Raises RunError."""
    run_dir = RunDir(run_dir)
    state = run_dir.preprocessing()
    problem = _preprocessing_problem(state)
    if problem:
        raise RunError(f"{run_dir.preprocessing_file} is damaged: {problem}",
                       hint=f"it is written by `nnlearn train` and must not be edited: restore it, or train "
                            f"again as a new run: nnlearn train {run_dir.config_file} --out NEW_DIR")
    return state, Normalizer.from_dict(state["normalizer"])


def _preprocessing_problem(state: dict) -> str | None:
    def numbers(value) -> bool:
        return isinstance(value, list) and all(isinstance(item, (int, float)) and not isinstance(item, bool)
                                               and np.isfinite(item) for item in value)

    missing = [key for key in ("normalizer", "input_shape", "feature_names", "target_kind") if key not in state]
    if missing:
        return f"it lacks {', '.join(missing)}."
    normalizer, names, shape = state["normalizer"], state["feature_names"], state["input_shape"]
    if not (isinstance(names, list) and names and all(isinstance(name, str) for name in names)):
        return "feature_names must be a list of column names."
    if not (isinstance(shape, list) and shape and all(isinstance(size, int) and not isinstance(size, bool)
                                                      and size > 0 for size in shape)):
        return f"input_shape must be a list of positive whole numbers, not {shape!r:.80}."
    if int(np.prod(shape)) != len(names):
        return f"input_shape {shape} does not hold the {len(names)} features of feature_names."
    if not isinstance(normalizer, dict) or not {"method", "offset", "scale"} <= set(normalizer):
        return "normalizer must hold method, offset and scale."
    for key in ("offset", "scale"):
        if not numbers(normalizer[key]):
            return f"normalizer.{key} must be a list of finite numbers."
        if len(normalizer[key]) != len(names):
            return (f"normalizer.{key} has {len(normalizer[key])} values, but the run has {len(names)} "
                    "features.")
    if state["target_kind"] not in ("classes", "multilabel", "continuous"):
        return f"target_kind {state['target_kind']!r:.80} is not classes, multilabel or continuous."
    if state.get("target_scale") is not None:
        from nnlearn.target_scale import problem

        wrong = problem(state["target_scale"])
        if wrong:
            return wrong
    classes = state.get("class_names")
    if classes is not None and not (isinstance(classes, list) and all(isinstance(n, str) for n in classes)):
        return "class_names must be a list of names."
    return None


def config_changes(run_dir: RunDir | Path, config: Config) -> list[str]:
    """The fields of config that differ from the resolved config run.json recorded when the run
    started ("seed: 0 → 7"); none for a run saved before fingerprints were recorded."""
    import json

    from nnlearn.catalog import flatten

    try:
        started_with = RunDir(run_dir).record().get("config")
    except RunError:
        return []
    if not isinstance(started_with, dict):
        return []
    try:  # a field added to nnlearn since the run started takes its default, and is no change
        started_with = Config.model_validate(started_with).applying()
    except ValidationError:
        pass
    now = config.applying()  # settings that do not apply (n_samples of a CSV) are no change either
    if json.dumps(now, sort_keys=True) == json.dumps(started_with, sort_keys=True):
        return []
    before, after = flatten(started_with), flatten(now)
    return [f"{key}: {before.get(key, '(none)')} → {after.get(key, '(none)')}"
            for key in dict.fromkeys(list(before) + list(after)) if before.get(key) != after.get(key)]


def prepare_saved_run(run_dir: RunDir | Path) -> tuple[Prepared, list[str]]:
    """Rebuild a run's splits from its saved config and seed, with its saved normaliser.

    Returns the prepared data and warnings (such as a data file that changed since training).
    """
    run_dir = RunDir.open(run_dir)
    state, normalizer = read_preprocessing(run_dir)
    warnings = []
    data_file = None
    if state.get("data_file"):
        data_file = Path(state["data_file"])
        if not data_file.exists():
            raise RunError(f"the run was trained on {data_file}, which no longer exists.",
                           hint="put the data file back where it was to use this run.")
        if state.get("data_sha256") and \
                sha256_of_file(data_file) != state["data_sha256"]:
            warnings.append(f"{data_file} changed since this run was trained: the test split is not "
                            "the one training measured.")
    config = run_dir.config()
    changes = config_changes(run_dir, config)
    if changes:
        warnings.append(f"{run_dir.config_file} changed since the run was trained ({'; '.join(changes[:8])}): "
                        "the split and the numbers may not be the run's own.")
    if data_file is not None:
        config.data.source = str(data_file)  # the file the run was trained on, wherever eval runs
    config.data.stream = bool(state.get("streamed"))  # its split is the one training made, whatever auto says now
    columns = saved_columns(state, run_dir)
    prepared = prepare(config, None, normalizer=normalizer, columns=columns)
    if len(normalizer.offset) != prepared.dataset.n_features:
        raise RunError(f"{run_dir.preprocessing_file} is damaged: its normaliser has {len(normalizer.offset)} "
                       f"values, but the data has {prepared.dataset.n_features} features.",
                       hint=f"train again as a new run: nnlearn train {run_dir.config_file} --out NEW_DIR")
    return prepared, warnings


def saved_columns(state: dict, run_dir: RunDir | Path) -> Columns | None:
    """A CSV run's fitted columns (fills, categories), as train saved them; None when there are none."""
    if not state.get("columns"):
        return None
    try:
        return Columns.from_dict(state["columns"])
    except (KeyError, TypeError, ValueError, AttributeError):
        run_dir = RunDir(run_dir)
        raise RunError(f"{run_dir.preprocessing_file} is damaged: its columns cannot be read.",
                       hint=f"train again as a new run: nnlearn train {run_dir.config_file} --out NEW_DIR"
                       ) from None
