"""From a validated config to ready-to-train arrays: load, check against the model, split, normalise.

Everything a run needs before TensorFlow is imported; every mistake found here is a user error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnlearn.config import CLASSIFICATION_LOSSES, Config
from nnlearn.data import (Dataset, Normalizer, Splits, is_file_source, load_dataset, resolve_source,
                          split_dataset)
from nnlearn.errors import ConfigError
from nnlearn.shapes import LayerShape, Shape, infer_shapes, output_problems, uses_image_input


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

    def x(self, split_name: str) -> np.ndarray:
        """A split's features, normalised and shaped for the model's input."""
        split = getattr(self.splits, split_name)
        return self.normalizer.apply(split.x).reshape((len(split.x),) + self.input_shape)

    def y(self, split_name: str) -> np.ndarray:
        """A split's targets as the loss expects them (one-hot for categorical_crossentropy)."""
        y = getattr(self.splits, split_name).y
        loss = self.config.compile.loss
        if loss == "categorical_crossentropy":
            return np.eye(self.dataset.n_classes, dtype=np.float32)[y]
        if loss == "binary_crossentropy" and self.dataset.kind == "classes":
            return y.reshape(-1, 1).astype(np.float32)
        if loss == "mean_squared_error":
            return y.reshape(len(y), -1).astype(np.float32)
        return y


def input_shape_for(config: Config, dataset: Dataset) -> Shape:
    """The image shape when the model starts with conv2d or pooling, else the flat feature count."""
    if uses_image_input(config) and dataset.image_shape is not None:
        return tuple(dataset.image_shape)
    return (dataset.x.shape[1],)


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
    return layers


def prepare(config: Config, config_dir: Path | None = None,
            normalizer: Normalizer | None = None) -> Prepared:
    """Load and check the data, split it with the config's seed, and fit (or reuse) the normaliser."""
    dataset = load_dataset(config.data, config.seed, config_dir)
    layers = check_model_against_data(config, dataset)
    stratify = config.compile.loss in CLASSIFICATION_LOSSES
    splits = split_dataset(dataset, config.data, config.seed, stratify)
    if normalizer is None:
        normalizer = Normalizer.fit(config.data.normalize, splits.train.x)
    source_path = (resolve_source(config.data.source, config_dir) if is_file_source(config.data.source)
                   else None)
    return Prepared(config, dataset, splits, normalizer, input_shape_for(config, dataset), layers,
                    source_path)
