"""`nnlearn validate`: every problem in a config, found without TensorFlow, each with its line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nnlearn.config.loading import from_set, parse_path, read_located, validate_located
from nnlearn.config.schema import Config, DataConfig
from nnlearn.data.dataset import load_dataset
from nnlearn.errors import ConfigError, DataError, Problem
from nnlearn.model.prepare import check_model_against_data, prepare
from nnlearn.teaching.lint import lint


@dataclass
class Report:
    """What validate found in one file."""

    path: Path
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    prepared: object | None = field(default=None, repr=False)  # the data, split and ready, when valid

    @property
    def valid(self) -> bool:
        return not self.errors

    def to_json(self) -> dict:
        return {"path": str(self.path), "valid": self.valid,
                "errors": [problem.as_dict() for problem in self.errors],
                "warnings": [problem.as_dict() for problem in self.warnings]}


def _data_problems(located, path: Path) -> list[Problem]:
    """When the schema fails elsewhere, still check a valid `data` section's file or dataset."""
    from pydantic import ValidationError


    section = located.data.get("data") if isinstance(located.data, dict) else None
    seed = located.data.get("seed", 0) if isinstance(located.data, dict) else 0
    try:
        load_dataset(DataConfig.model_validate(section), seed if isinstance(seed, int) else 0, Path(path).parent)
    except ValidationError:
        return []  # the schema's own problems already cover the data section
    except DataError as error:
        return _problems_of(error)
    return []


def _problems_of(error: DataError) -> list[Problem]:
    """Every problem a DataError holds (each unreadable image of a folder, say), each placed at its field."""
    return [Problem(problem.path or "data", problem.message, hint=problem.hint) for problem in error.problems]


def _model_problems_despite(located, found: list[Problem], path: Path) -> tuple[list[Problem], bool]:
    """The model, output and loss checks, run on the valid parts of a config that failed the schema:
    each field the schema refused is left out (so its default applies). Problems already found, or
    inside a refused field, are not repeated. Nothing when the rest cannot stand without those fields.
    Also: whether the metrics written in the config fit the data (accuracy for classes, else regression)."""
    import copy

    from pydantic import ValidationError


    data = copy.deepcopy(located.data)
    written = data.get("compile", {}).get("metrics") if isinstance(data.get("compile"), dict) else None
    refused = []
    for problem in found:
        try:
            key = parse_path(problem.path)
        except ValueError:
            return [], False
        if not key or not _remove(data, key):
            return [], False
        refused.append(problem.path)
    try:
        config = Config.model_validate(data)
        dataset = load_dataset(config.data, config.seed, Path(path).parent)
        fit = isinstance(written, list) and all((metric == "accuracy") == (dataset.kind != "continuous")
                                                for metric in written)
        check_model_against_data(config, dataset)
    except (ValidationError, DataError):
        return [], False  # the refused fields were needed: the schema's problems come first
    except ConfigError as error:
        return [problem for problem in error.problems
                if not any(problem.path == path or problem.path.startswith(path + ".") or
                           problem.path.startswith(path + "[") for path in refused)], fit
    return [], fit


def _loss_first(problems: list[Problem], metrics_fit_the_data: bool) -> list[Problem]:
    """When the data shows the loss is wrong, the loss comes first; and when the metrics fit the data,
    the schema's complaint that they do not fit that loss goes: fixing the loss fixes both."""
    loss = [problem for problem in problems if problem.path == "compile.loss"]
    if not loss:
        return problems
    return loss + [problem for problem in problems if problem.path != "compile.loss"
                   and not (metrics_fit_the_data and problem.path == "compile.metrics")]


def _remove(data, key: tuple) -> bool:
    """Delete the value at key from nested dicts and lists; False if it is not there or is a list item."""
    node = data
    for part in key[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    if isinstance(node, dict) and key[-1] in node:
        del node[key[-1]]
        return True
    return False


def validate_file(path: Path, overrides: list[str] | tuple = ()) -> Report:
    """Validate one config: schema, then the data and the model's shapes against it."""
    try:
        return _validate_file(path, overrides)
    except OSError as error:  # a file that cannot be read for a reason of the system's own
        where = f" {error.filename}" if error.filename else ""
        report = Report(Path(path))
        report.errors = [Problem("", f"cannot read{where}: {error.strerror or error}.",
                                 hint="check the path, its permissions and the free disk space.")]
        return report


def _validate_file(path: Path, overrides: list[str] | tuple) -> Report:
    report = Report(Path(path))
    try:
        located = read_located(path, overrides)
    except ConfigError as error:
        report.errors = error.problems
        return report

    def locate(problem: Problem) -> Problem:
        if problem.line is None and problem.path:
            try:
                problem.line, problem.column = located.where(parse_path(problem.path))
            except ValueError:
                pass
        return from_set(problem, located.overridden)

    try:
        config = validate_located(located, str(path))
    except ConfigError as error:
        report.errors = error.problems + [locate(problem) for problem in _data_problems(located, path)]
        model_problems, metrics_fit = _model_problems_despite(located, report.errors, path)
        report.errors = _loss_first(report.errors + [locate(problem) for problem in model_problems], metrics_fit)
        return report

    try:
        prepared = prepare(config, Path(path).parent)
    except ConfigError as error:
        report.errors = [locate(problem) for problem in error.problems]
        return report
    except DataError as error:
        report.errors = [locate(problem) for problem in _problems_of(error)]
        return report
    report.warnings = [locate(problem) for problem in lint(prepared)]
    report.prepared = prepared
    return report
