"""A saved run's data made again: its preprocessing.json checked, its config compared with the one it started
with, and its splits rebuilt from its own config, seed and normaliser (eval, predict, plots, inspect)."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from nnlearn.config.differences import changes
from nnlearn.config.schema import Config
from nnlearn.data.dataset import Normalizer
from nnlearn.data.tabular import Columns
from nnlearn.errors import DataError, RunError
from nnlearn.files import sha256_of_file
from nnlearn.model.prepare import Prepared, prepare
from nnlearn.runs.rundir import RunDir


def read_preprocessing(run_dir: RunDir) -> tuple[dict, Normalizer]:
    """A run's preprocessing.json (checked whole by RunDir) and its normaliser. Raises RunError."""
    state = run_dir.preprocessing()
    return state, Normalizer.from_dict(state["normalizer"])


def config_changes(run_dir: RunDir, config: Config) -> list[str]:
    """The fields of config that differ from the resolved config run.json recorded when the run
    started ("seed: 0 → 7"); none for a run saved before fingerprints were recorded."""
    try:
        started_with = run_dir.record().get("config")
    except RunError:
        return []
    if not isinstance(started_with, dict):
        return []
    try:  # a field added to nnlearn since the run started takes its default, and is no change
        started_with = Config.model_validate(started_with).applying()
    except ValidationError:
        pass
    now = config.applying()  # settings that do not apply (n_samples of a CSV) are no change either
    return [f"{key}: {'(none)' if before is None else before} → {'(none)' if after is None else after}"
            for key, before, after in changes(started_with, now)]


def prepare_saved_run(run_dir: RunDir) -> tuple[Prepared, list[str]]:
    """Rebuild a run's splits from its saved config and seed, with its saved normaliser.

    Returns the prepared data and warnings (such as a data file that changed since training).
    """
    state, normalizer = read_preprocessing(run_dir)
    warnings = []
    data_file, saved_sha256 = None, state.get("data_sha256")
    if state.get("data_file"):
        data_file = Path(state["data_file"])
        if not data_file.exists():
            raise RunError(f"the run was trained on {data_file}, which no longer exists.",
                           hint="put the data file back where it was to use this run.")
    config = run_dir.config()
    changes = config_changes(run_dir, config)
    if changes:
        warnings.append(f"{run_dir.config_file} changed since the run was trained ({'; '.join(changes[:8])}): "
                        "the split and the numbers may not be the run's own.")
    if data_file is not None:
        config.data.source = str(data_file)  # the file the run was trained on, wherever eval runs
    config.data.stream = bool(state.get("streamed"))  # its split is the one training made, whatever auto says now
    columns = saved_columns(state, run_dir)
    try:
        prepared = prepare(config, None, normalizer=normalizer, columns=columns)
    except DataError as error:
        if not (data_file is not None and saved_sha256 and sha256_of_file(data_file) != saved_sha256):
            raise
        # a file cut short or edited since training: that it changed is the news, not how it now fails to parse
        raise RunError(f"the data ({data_file}) changed since {run_dir} was trained, and can no longer be read as "
                       f"it was ({error.message})", hint=f"put the original {data_file.name} back to use this run; "
                       f"or fix the file and train a new run on it: nnlearn train --from {run_dir}") from None
    # the file read once: a streamed feed keeps the hash it took, which the resume's data check asks again
    if data_file is not None and saved_sha256 and prepared.feed.sha256() != saved_sha256:
        warnings.insert(0, f"{data_file} changed since this run was trained: the test split is not the one "
                           "training measured.")
    if len(normalizer.offset) != prepared.dataset.n_features:
        raise RunError(f"{run_dir.preprocessing_file} is damaged: its normaliser has {len(normalizer.offset)} "
                       f"values, but the data has {prepared.dataset.n_features} features.",
                       hint=f"train again as a new run: nnlearn train {run_dir.config_file} --out NEW_DIR")
    return prepared, warnings


def saved_columns(state: dict, run_dir: RunDir) -> Columns | None:
    """A CSV run's fitted columns (fills, categories), as train saved them; None when there are none."""
    if not state.get("columns"):
        return None
    try:
        return Columns.from_dict(state["columns"])
    except (KeyError, TypeError, ValueError, AttributeError):
        raise RunError(f"{run_dir.preprocessing_file} is damaged: its columns cannot be read.",
                       hint=f"train again as a new run: nnlearn train {run_dir.config_file} --out NEW_DIR"
                       ) from None
