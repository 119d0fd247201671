"""From a validated config to ready-to-train arrays: load, check against the model, split, normalise.

Everything a run needs before TensorFlow is imported; every mistake found here is a user error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from nnlearn.config.schema import Config
from nnlearn.data.dataset import (
    Dataset,
    Normalizer,
    Splits,
    check_fits_in_memory,
    load_dataset,
    split_dataset,
)
from nnlearn.data.sources import Source
from nnlearn.data.streaming import fit_normalizer, release_parsing_memory, streamed, streamed_dataset
from nnlearn.data.tabular import Columns
from nnlearn.data.target_scale import TargetScale
from nnlearn.errors import ConfigError, DataError, Problem
from nnlearn.model.feeds import MemoryFeed, StreamedFeed
from nnlearn.model.shapes import LayerShape, Shape, infer_shapes, output_problems, uses_image_input, uses_signal_input
from nnlearn.model.task import Task, is_classifier, task_of


@dataclass
class Prepared:
    """The data of a run, split and normalised, with the model's input shape and layer shapes."""

    config: Config
    dataset: Dataset
    splits: Splits
    normalizer: Normalizer
    input_shape: Shape
    layers: list[LayerShape]
    source: Source
    stream: object | None = None  # streaming.Stream when the features are read from disk, never held
    feed: MemoryFeed | StreamedFeed = field(init=False, repr=False)  # how the rows reach the model

    def __post_init__(self):
        self.feed = (StreamedFeed if self.stream is not None else MemoryFeed)(self)

    @property
    def source_path(self) -> Path | None:
        """The data file or folder, resolved, when the source is one."""
        return self.source.path

    @property
    def task(self) -> Task:
        """regression, binary, multiclass or multilabel: from the loss and the data."""
        return task_of(self.config, self.dataset.kind)

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
    source = Source.of(config.data.source, config_dir)
    if streamed(config, source):  # read from disk a block at a time, never held whole
        return _prepare_streamed(config, source, normalizer)
    dataset = load_dataset(config.data, config.seed, config_dir, columns, source)
    layers = check_model_against_data(config, dataset)
    stratify = is_classifier(task_of(config))
    splits = split_dataset(dataset, config.data, config.seed, stratify)
    if normalizer is None and dataset.images is not None:
        normalizer = Normalizer.for_pixels(config.data.normalize, dataset.n_features)
    elif normalizer is None:
        normalizer = Normalizer.fit(config.data.normalize, splits.train.x)
    return Prepared(config, dataset, splits, normalizer, input_shape_for(config, dataset), layers, source)


def _prepare_streamed(config: Config, source: Source, normalizer: Normalizer | None = None) -> Prepared:
    """prepare() for streamed data: the target and each row's split in memory; the normaliser fitted in one
    pass over the training rows (or a saved run's)."""
    dataset, splits = streamed_dataset(config, source)
    layers = check_model_against_data(config, dataset)
    if normalizer is None:
        normalizer = fit_normalizer(config.data.normalize, dataset.stream)
    release_parsing_memory()
    return Prepared(config, dataset, splits, normalizer, input_shape_for(config, dataset), layers, source,
                    stream=dataset.stream)
