"""The config schema: the course's three steps (model, compile, fit) plus what x and y are (data).

Field names are Keras' own argument names. Every section forbids unknown keys: a typo is an error,
never silently ignored. Types are strict: a bool is not a number (YAML 1.1 reads `yes` as true), a
number is not a bool, and text is not a number.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from nnlearn.config.expectations import parse_expectation
from nnlearn.errors import NnlearnError


def _exponent_text_as_number(value):
    """YAML 1.1 reads 1e-3 (no dot, no sign after e) as text; it is plainly the number 0.001."""
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+\s*", value):
        return float(value)
    return value


Whole = Annotated[int, Strict()]  # not true, not 25.0, not '7'
Real = Annotated[float, Strict(), BeforeValidator(_exponent_text_as_number)]  # 3 is fine; true is not
Flag = Annotated[bool, Strict()]  # true or false; not 0, not 'yes' in quotes

Activation = Literal["relu", "linear", "sigmoid", "softmax", "tanh"]
Loss = Literal["binary_crossentropy", "sparse_categorical_crossentropy",
               "categorical_crossentropy", "mean_squared_error"]
Metric = Literal["accuracy", "mae", "mse", "r2"]
Positive = Annotated[int, Strict(), Field(ge=1)]
Pair = Union[Positive, tuple[Positive, Positive]]

BUNDLED_DATASETS = ("digits", "iris", "wine", "breast_cancer", "diabetes")
SYNTHETIC_DATASETS = ("moons", "circles", "blobs", "xor", "linear", "multilabel", "signals")


RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # it names a folder on any system: no dots-only, no spaces


def mistake(message: str, fix: str | None = None, setting: tuple | None = None) -> PydanticCustomError:
    """A mistake the schema's own checks find (raise it), carried through pydantic whole, as a value: its
    message, its fix and the setting the fix suggests (errors.Problem; nnlearn.config.loading makes one)."""
    return PydanticCustomError("nnlearn", "{message}", {"message": message, "fix": fix, "setting": setting})


def source_kind(source: str) -> str:
    """What data.source names, from the name alone: bundled, synthetic, a file's suffix (csv, npz, ...), or
    folder for a path without one (nnlearn.data.sources.Source looks at the disk)."""
    if source in BUNDLED_DATASETS:
        return "bundled"
    if source in SYNTHETIC_DATASETS:
        return "synthetic"
    suffix = Path(source).suffix.lower()
    return suffix[1:] if suffix else "folder"
Missing = Literal["error", "drop", "mean", "median", "most_frequent"]
# every warning nnlearn.teaching.lint can give, by its stable id (lint.ignore names them)
LintWarning = Literal["linear_hidden", "sigmoid_hidden", "softmax_hidden", "logits_as_probabilities", "relu_logits",
                      "tanh_logits", "output_cannot_reach_targets", "adam_learning_rate", "tiny_gradient_steps",
                      "large_penalty", "many_parameters", "batch_larger_than_data"]
Text = Literal["error", "one_hot"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ColumnConfig(Section):
    """One CSV column's own settings; unset ones follow data.missing and data.text."""

    missing: Missing | None = Field(None, description="Its empty cells: error, drop (the rows), mean, median "
                                                      "or most_frequent (default: data.missing).")
    text: Text | None = Field(None, description="If it holds text: error, or one_hot (default: data.text).")


class DataConfig(Section):
    """What x and y are: a bundled or synthetic dataset, a CSV / NPZ file or a folder of images, and how
    it is split."""

    source: str = Field(description="A bundled dataset (digits, iris, wine, breast_cancer, diabetes), "
                                    "a synthetic one (moons, circles, blobs, xor, linear, multilabel, "
                                    "signals), a path to a .csv or .npz file, or a folder of images with "
                                    "one sub-folder per class.")
    target: str | None = Field(None, description="CSV only: the name of the column holding y.")
    missing: Missing = Field("error", description="CSV: what to do with empty cells (also NA, N/A, NaN, "
                                                  "null): error (name the rows), drop (the rows), or fill "
                                                  "with the training split's mean, median or most_frequent.")
    text: Text = Field("error", description="CSV: what to do with a column of text: error, or one_hot (one "
                                            "0/1 feature per category seen in the training split).")
    columns: dict[str, ColumnConfig] = Field(default_factory=dict, description="CSV: settings for single "
                                             "columns, e.g. {city: {text: one_hot}, age: {missing: median}}.")
    ignore: list[str] = Field(default_factory=list, description="CSV: columns that are not features "
                                                                "(an id, free-text notes).")
    stream: Literal["auto"] | Flag = Field(
        "auto", description="CSV of numbers: read the features from disk a batch at a time instead of holding "
                            "them in memory. auto: when they would take more than a quarter of the free "
                            "memory; true or false to choose. A streamed split is seeded but not stratified, "
                            "and each epoch shuffles within windows of 32 MiB of rows, not all rows.")
    image_size: tuple[Positive, Positive] | None = Field(
        None, description="Image folders: every image is resized to [height, width], e.g. [28, 28].")
    color: Literal["grayscale", "rgb"] = Field("rgb", description="Image folders: grayscale (1 channel) or "
                                                                "rgb (3 channels).")
    test_split: Real = Field(0.2, gt=0, lt=1, description="Fraction of all rows held out for the test set.")
    validation_split: Real = Field(0.1, ge=0, lt=1,
                                    description="Fraction of all rows held out for validation (0: none).")
    normalize: Literal["none", "standard", "minmax"] = Field(
        "standard", description="Feature scaling, fitted on the training split only.")
    standardize_target: Flag = Field(
        False, description="Regression: learn y standardised with the training split's mean and standard "
                           "deviation (saved in preprocessing.json), for a target far from size 1 (y ≈ 150 makes "
                           "the squared error start near 150² and plain gradient descent diverge). The loss, the "
                           "metrics and the predictions stay in y's own units.")
    n_samples: Whole = Field(500, ge=10, le=1_000_000, description="Synthetic datasets: number of rows.")
    noise: Annotated[float, Strict(), Field(ge=0), BeforeValidator(_exponent_text_as_number)] | None = Field(
        None, description="Synthetic datasets: noise level (dataset default if unset).")
    n_features: Whole = Field(2, ge=1, le=10_000, description="blobs, linear, multilabel: number of features.")
    centers: Whole = Field(3, ge=2, le=100, description="blobs: number of classes.")
    n_labels: Whole = Field(3, ge=2, le=100, description="multilabel: number of labels (yes/no questions) "
                                                         "per example.")

    @model_validator(mode="after")
    def _multilabel_count_from_centers(self):
        # configs and saved runs written before n_labels named the label count `centers`
        if self.source == "multilabel" and "centers" in self.model_fields_set and \
                "n_labels" not in self.model_fields_set:
            self.n_labels = self.centers
        return self

    @model_validator(mode="after")
    def _csv_settings_name_a_csv(self):
        # on a bundled or synthetic dataset, whose columns and target are its own, a CSV setting would be
        # dropped without a word: `--set data.target=species` on iris
        kind = source_kind(self.source)
        if kind not in ("bundled", "synthetic"):
            return self
        fields = type(self).model_fields
        wasted = [f"data.{name}" for name in ("target", "missing", "text", "columns", "ignore")
                  if name in self.model_fields_set  # a default written out (a saved config's) says nothing
                  and getattr(self, name) != fields[name].get_default(call_default_factory=True)]
        if wasted:
            listed = " and ".join(wasted)
            raise mistake(f"{listed} {'name' if len(wasted) > 1 else 'names'} a CSV file's columns; data.source "
                          f"{self.source} is a {kind} dataset with its own features and target, so "
                          f"{'they' if len(wasted) > 1 else 'it'} would be ignored.",
                          f"remove {listed}, or give a CSV file in data.source.")
        return self

    @model_validator(mode="after")
    def _splits_leave_training_rows(self):
        if self.test_split + self.validation_split >= 1:
            raise mistake(f"test_split + validation_split must be below 1 (received {self.test_split} + "
                          f"{self.validation_split}); nothing would be left to train on.",
                          "lower one of them, e.g. test_split: 0.2, validation_split: 0.1.")
        return self


class KernelRegularizer(Section):
    """Keras' L1L2 penalty on a layer's weights w (not its biases b): J + l1·Σ|w| + l2·Σw².

    The course writes the L2 term as λ/2m·Σw²; Keras adds l2·Σw² to the mean loss, so l2 = λ/2m.
    """

    l1: Real = Field(0.0, ge=0, le=100, description="Adds l1·Σ|w| to J: pushes weights to exactly 0.")
    l2: Real = Field(0.0, ge=0, le=100, description="Adds l2·Σw² to J (the course's λ/2m): keeps weights "
                                                     "small. e.g. 0.01.")


class Dense(Section):
    """Every unit sees every input: z = w·x + b, then the activation."""

    type: Literal["dense"]
    units: Whole = Field(ge=1, le=100_000, description="Number of units (neurons).")
    activation: Activation = Field("linear", description="g(z) applied to each unit's z.")
    kernel_regularizer: KernelRegularizer | None = Field(
        None, description="Adds a penalty on this layer's weights w to the cost J (off when unset).")


class Conv2D(Section):
    """Each unit looks at a small window (its receptive field) and shares weights across the image."""

    type: Literal["conv2d"]
    filters: Whole = Field(ge=1, le=10_000, description="Number of filters (output channels).")
    kernel_size: Pair = Field(3, description="Window height and width (one number for a square).")
    strides: Pair = Field(1, description="Step of the window.")
    padding: Literal["valid", "same"] = Field("valid", description="valid: no padding; same: keep the size.")
    activation: Activation = Field("linear", description="g(z) applied to each output.")
    kernel_regularizer: KernelRegularizer | None = Field(
        None, description="Adds a penalty on this layer's weights w to the cost J (off when unset).")


class MaxPooling2D(Section):
    """Keeps the largest value in each window: smaller maps, no parameters."""

    type: Literal["max_pooling2d"]
    pool_size: Pair = Field(2, description="Window height and width.")
    strides: Pair | None = Field(None, description="Step of the window (default: pool_size).")
    padding: Literal["valid", "same"] = Field("valid", description="valid or same.")


class Flatten(Section):
    """Unrolls an image-shaped input into one vector for dense layers."""

    type: Literal["flatten"]


class Dropout(Section):
    """During training, zeroes a random fraction of its inputs: less memorisation."""

    type: Literal["dropout"]
    rate: Real = Field(0.5, ge=0, lt=1, description="Fraction of inputs dropped while training.")


class Conv1D(Section):
    """Conv2d for sequences: each unit looks at a window of neighbouring time steps, with shared weights."""

    type: Literal["conv1d"]
    filters: Whole = Field(ge=1, le=10_000, description="Number of filters (output channels).")
    kernel_size: Positive = Field(3, description="Window length in time steps.")
    strides: Positive = Field(1, description="Step of the window.")
    padding: Literal["valid", "same"] = Field("valid", description="valid: no padding; same: keep the length.")
    activation: Activation = Field("linear", description="g(z) applied to each output.")
    kernel_regularizer: KernelRegularizer | None = Field(
        None, description="Adds a penalty on this layer's weights w to the cost J (off when unset).")


class MaxPooling1D(Section):
    """Keeps the largest value in each window of time steps: shorter sequences, no parameters."""

    type: Literal["max_pooling1d"]
    pool_size: Positive = Field(2, description="Window length.")
    strides: Positive | None = Field(None, description="Step of the window (default: pool_size).")
    padding: Literal["valid", "same"] = Field("valid", description="valid or same.")


class GlobalAveragePooling1D(Section):
    """The mean of each channel over all time steps: (steps, channels) → (channels,), no parameters."""

    type: Literal["global_average_pooling1d"]


class GlobalAveragePooling2D(Section):
    """The mean of each channel over the whole image: (height, width, channels) → (channels,)."""

    type: Literal["global_average_pooling2d"]


Layer = Annotated[Union[Dense, Conv2D, MaxPooling2D, Flatten, Dropout, Conv1D, MaxPooling1D,
                        GlobalAveragePooling1D, GlobalAveragePooling2D], Field(discriminator="type")]
LAYER_TYPES = {"dense": Dense, "conv2d": Conv2D, "max_pooling2d": MaxPooling2D,
               "flatten": Flatten, "dropout": Dropout, "conv1d": Conv1D, "max_pooling1d": MaxPooling1D,
               "global_average_pooling1d": GlobalAveragePooling1D,
               "global_average_pooling2d": GlobalAveragePooling2D}


class ModelConfig(Section):
    """Step 1: how the output is computed from x. The last layer emits logits."""

    layers: list[Layer] = Field(min_length=1, description="The layers, input to output.")


class OptimizerConfig(Section):
    """How gradient descent updates the weights."""

    type: Literal["adam", "sgd"] = Field("adam", description="adam (adaptive steps) or sgd (plain gradient descent).")
    learning_rate: Real = Field(0.001, gt=0, le=100, description="The step size alpha.")
    momentum: Real = Field(0.0, ge=0, lt=1, description="sgd only: momentum (0 is plain gradient descent).")

    @model_validator(mode="after")
    def _momentum_is_sgd_only(self):
        if self.type == "adam" and self.momentum != 0:
            raise mistake("momentum applies to sgd only; Adam keeps its own moment estimates.",
                          "remove momentum or use type: sgd.")
        return self


class CompileConfig(Section):
    """Step 2: the loss (averaged into the cost J) and the optimizer that minimises it."""

    loss: Loss = Field(description="binary_crossentropy, sparse_categorical_crossentropy, "
                                   "categorical_crossentropy or mean_squared_error.")
    from_logits: Flag = Field(True, description="true: the output layer emits logits z (activation: "
                                                "linear) and the loss applies sigmoid/softmax itself, "
                                                "stably; false: the output layer applies them (sigmoid "
                                                "for binary_crossentropy, softmax for the categorical "
                                                "losses).")
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    metrics: list[Metric] | None = Field(None, description="accuracy for classifiers; mae, mse, r2 for "
                                                           "regression (default: chosen from the loss).")

    @field_validator("metrics")
    @classmethod
    def _metrics_fit_the_loss(cls, metrics, info):
        loss = info.data.get("loss")
        if metrics is None or loss is None:
            return metrics
        for metric in metrics:  # the data may show the loss is the mistake: validate then names it first
            if loss == "mean_squared_error" and metric == "accuracy":
                raise mistake("accuracy needs classes, but mean_squared_error is a regression loss.",
                              "use {setting} for a quantity, or a classification loss.",
                              ("metrics", {"setting": "[mae, mse, r2]"}))
            if loss != "mean_squared_error" and metric != "accuracy":
                raise mistake(f"{metric} is a regression metric, but {loss} is a classification loss.",
                              "use {setting} for classes, or loss: mean_squared_error.",
                              ("metrics", {"setting": "[accuracy]"}))
        return metrics

    def resolved_metrics(self) -> list[str]:
        """The metrics to report: the configured ones, or the loss's natural ones."""
        if self.metrics:
            return list(dict.fromkeys(self.metrics))
        return ["mae", "mse", "r2"] if self.loss == "mean_squared_error" else ["accuracy"]


class EarlyStoppingConfig(Section):
    """Stop when the monitored number stops improving; optionally keep the best epoch's weights."""

    monitor: str = Field("val_loss", description="loss, val_loss, or a metric such as val_accuracy.")
    patience: Whole = Field(5, ge=0, le=100_000, description="Epochs without improvement before stopping.")
    min_delta: Real = Field(0.0, ge=0, description="The smallest change that counts as improvement.")
    restore_best_weights: Flag = Field(True, description="Keep the best epoch's weights, not the last.")


class FitConfig(Section):
    """Step 3: minimise the cost with gradient descent, in mini-batches."""

    epochs: Whole = Field(10, ge=1, le=100_000, description="Passes over the training data.")
    batch_size: Whole = Field(32, ge=1, le=1_000_000, description="Examples per gradient step.")
    shuffle: Flag = Field(True, description="Reshuffle the training data every epoch.")
    early_stopping: EarlyStoppingConfig | None = Field(
        None, description="Stop early when the monitored number stops improving (off when unset).")
    tensorboard: Flag = Field(False, description="Write TensorBoard logs into RUN_DIR/tensorboard/.")
    distribute: Literal["none", "mirrored", "multi_worker"] = Field(
        "none", description="Data-parallel training: none (one device); mirrored (every local GPU, or "
                            "fit.devices logical CPU devices); multi_worker (one process per machine, from "
                            "TF_CONFIG, --cluster or --workers N). Each replica takes an equal share of "
                            "batch_size.")
    devices: Positive | None = Field(None, le=64, description="mirrored only: how many devices (default: every "
                                                               "GPU); on a machine without GPUs, that many "
                                                               "logical CPU devices, to try it anywhere.")

    @model_validator(mode="after")
    def _devices_share_the_batch(self):
        if self.devices is not None and self.distribute != "mirrored":
            raise mistake(f"devices applies to distribute: mirrored only (distribute is {self.distribute}).",
                          "remove devices, or set distribute: mirrored.")
        if self.devices and self.batch_size % self.devices:
            share = self.batch_size // self.devices or 1
            raise mistake(f"batch_size {self.batch_size} does not divide among {self.devices} devices: each takes "
                          "an equal share of the global batch.",
                          f"use a multiple of {self.devices}, e.g. batch_size: {share * self.devices} or "
                          f"{(share + 1) * self.devices}.")
        return self


class LintConfig(Section):
    """Which of the config's warnings (nnlearn validate, explain, train) are deliberate choices."""

    ignore: list[LintWarning] = Field(default_factory=list, description=(
        "Warnings not to give, by id, for choices made on purpose; e.g. [sigmoid_hidden] for the course "
        "lab's sigmoid hidden units. The ids: " + ", ".join(LintWarning.__args__) + "."))


class Config(Section):
    """A whole nnlearn config."""

    name: str = Field("run", max_length=80, json_schema_extra={"pattern": RUN_NAME.pattern},
                      description="Names the run directory: runs/<name>-<time>.")
    seed: Whole = Field(0, ge=0, le=2**31 - 1, description="Seeds the split, the initial weights and shuffling.")
    data: DataConfig
    model: ModelConfig
    compile: CompileConfig
    fit: FitConfig = Field(default_factory=FitConfig)
    expect: list[str] = Field(default_factory=list, description="Expectations checked after training, in "
                              "the grammar of --expect, e.g. [\"test_accuracy >= 0.95\"] (a miss exits 1).")
    lint: LintConfig = Field(default_factory=LintConfig, description="The config's warnings: which to leave out.")
    # the keys `--set` gave (config.loading.load_config): a problem found later at one of them is fixed by a --set
    _set_keys: frozenset = PrivateAttr(default=frozenset())

    def given_by_set(self, keys) -> Config:
        """This config, knowing which of its keys --set gave."""
        self._set_keys = frozenset(keys)
        return self

    @property
    def set_keys(self) -> frozenset:
        """The keys --set gave."""
        return self._set_keys

    @field_validator("expect", mode="before")
    @classmethod
    def _expectations_are_readable(cls, value):
        if isinstance(value, dict):  # the mapping form, {test_accuracy: ">=0.95"}, is the same text in two parts
            value = [f"{key}{condition}" for key, condition in value.items()]
        if isinstance(value, list):
            for text in value:
                if isinstance(text, str):
                    try:
                        parse_expectation(text, "expect")
                    except NnlearnError as error:
                        raise mistake(error.message, error.hint) from None
        return value

    def applying(self) -> dict:
        """The resolved config as plain data, with only the settings that apply to it: no synthetic-data
        fields for a file, no CSV or image fields for other sources, no momentum for Adam. Loading it
        gives this same config back (what is left out takes its default)."""
        resolved = self.model_dump(mode="json")
        data, source = resolved["data"], self.data.source
        synthetic = {"n_samples": SYNTHETIC_DATASETS, "noise": SYNTHETIC_DATASETS,
                     "n_features": ("blobs", "linear", "multilabel"), "centers": ("blobs",),
                     "n_labels": ("multilabel",)}
        for name, sources in synthetic.items():
            if source not in sources:
                data.pop(name, None)
        kind = source_kind(source)
        if kind != "csv":
            for name in ("target", "missing", "text", "columns", "ignore", "stream"):
                data.pop(name, None)
        if kind != "folder":
            data.pop("image_size", None)
            data.pop("color", None)
        optimizer = resolved["compile"]["optimizer"]
        if self.compile.loss != "mean_squared_error":
            data.pop("standardize_target", None)
        if optimizer.get("type") != "sgd":
            optimizer.pop("momentum", None)
        if resolved["fit"].get("distribute") != "mirrored":
            resolved["fit"].pop("devices", None)
        if not self.lint.ignore:
            resolved.pop("lint")  # nothing to say: runs keep the config as the learner wrote it
        return resolved

    @model_validator(mode="after")
    def _early_stopping_monitors_something_measured(self):
        stopping = self.fit.early_stopping
        if stopping is None:
            return self
        names = ["loss"] + self.compile.resolved_metrics()
        known = names + [f"val_{name}" for name in names]
        if stopping.monitor not in known:
            raise mistake(f"fit.early_stopping.monitor {stopping.monitor!r} is not measured; expected one of: "
                          f"{', '.join(known)}.", "e.g. monitor: val_loss.")
        if stopping.monitor.startswith("val_") and self.data.validation_split == 0:
            raise mistake(f"fit.early_stopping.monitor {stopping.monitor!r} needs a validation split, but "
                          "data.validation_split is 0.", "set validation_split: 0.1, or monitor: loss.")
        return self

    @model_validator(mode="after")
    def _a_standardised_target_is_a_quantity(self):
        if self.data.standardize_target and self.compile.loss != "mean_squared_error":
            raise mistake(f"data.standardize_target scales a quantity y, but {self.compile.loss} learns classes, "
                          "which have no mean or standard deviation.",
                          "remove data.standardize_target (or set it to false).")
        return self

    @field_validator("name")
    @classmethod
    def _name_can_name_a_folder(cls, value: str) -> str:
        if not re.fullmatch(RUN_NAME.pattern, value):
            fitting = re.sub(r"[^A-Za-z0-9._-]+", "-", value).strip("._-")[:80] or "run"
            raise mistake(f"{value!r} cannot name a run folder: a name starts with a letter or a digit and "
                          "holds only letters, digits, '.', '_' and '-'.", f"e.g. name: {fitting}")
        return value


def key_metric(metric_names) -> tuple[str, bool]:
    """The metric that says how well a model does, and whether higher is better: accuracy, else r2, else
    the loss (what a sweep ranks by and what the diagnosis compares with no learning)."""
    for name in ("accuracy", "r2"):
        if name in metric_names:
            return name, True
    return "loss", False
