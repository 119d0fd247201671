"""A table of broken configs: each must be refused with the right path, line and message."""

import json

import pytest

from nnlearn.workflows.validate import validate_file
from tests.conftest import TINY, edited, invoke

# (name, change to TINY (old, new) or a whole text, expected path, expected line, message fragment)
CASES = [
    ("unknown key", ("  epochs: 3", "  epoch: 3"), "fit.epoch", 15, "did you mean 'epochs'"),
    ("unknown section", ("seed: 0", "seed: 0\nfitt: {}"), "fitt", 3, "did you mean 'fit'"),
    ("wrong type", ("batch_size: 32", "batch_size: many"), "fit.batch_size", 16, "expected a whole number"),
    ("out of range", ("test_split: 0.2", "test_split: 1.5"), "data.test_split", 5, "less than 1"),
    ("unknown choice", ("activation: relu", "activation: rellu"), "model.layers[0].activation", 9,
     "did you mean 'relu'"),
    ("yaml 1.1 boolean", ("activation: relu", "activation: no"), "model.layers[0].activation", 9,
     "boolean"),
    ("unknown layer type", ("type: dense, units: 8", "type: dense2d, units: 8"), "model.layers[0]", 9,
     "did you mean 'dense'"),
    ("missing loss", ("  loss: sparse_categorical_crossentropy\n", ""), "compile.loss", 11, "missing"),
    ("splits leave nothing", ("validation_split: 0.1", "validation_split: 0.8"), "data", 3,
     "below 1"),
    ("momentum with adam", ("learning_rate: 0.05", "learning_rate: 0.05, momentum: 0.9"),
     "compile.optimizer", 13, "sgd only"),
    ("conv2d on tabular data", ("{type: dense, units: 8, activation: relu}", "{type: conv2d, filters: 4}"),
     "model.layers[0]", 9, "needs an image"),
    ("kernel larger than the image", edited(TINY, ("source: iris", "source: digits"),
                                             ("{type: dense, units: 8, activation: relu}",
                                              "{type: conv2d, filters: 4, kernel_size: 9}")),
     "model.layers[0].kernel_size", 9, "larger than its input"),
    ("output units vs classes", ("units: 3, activation: linear", "units: 4, activation: linear"),
     "model.layers[1].units", 10, "3 classes"),
    ("sparse CE on continuous targets", ("source: iris", "source: diabetes"), "compile.loss", 12,
     "continuous"),
    ("binary CE on 3 classes", ("loss: sparse_categorical_crossentropy", "loss: binary_crossentropy"),
     "compile.loss", 12, "2 classes"),
    ("missing data file", ("source: iris", "source: nowhere.csv\n  target: y"), "data.source", 4,
     "does not exist"),
    ("unknown dataset name", ("source: iris", "source: irs"), "data.source", 4, "did you mean 'iris'"),
]


def broken_text(change):
    if isinstance(change, str):
        return change
    old, new = change
    assert old in TINY, old
    return edited(TINY, (old, new))


@pytest.mark.parametrize("name, change, path, line, fragment", CASES, ids=[case[0] for case in CASES])
def test_bad_config_is_located_and_explained(name, change, path, line, fragment, write_config):
    report = validate_file(write_config(broken_text(change)))
    assert not report.valid
    problems = {problem.path: problem for problem in report.errors}
    assert path in problems, [str(problem) for problem in report.errors]
    problem = problems[path]
    assert problem.line == line, str(problem)
    assert fragment in problem.message + " " + (problem.hint or ""), str(problem)


CSV_CASES = [
    ("a,b,label\n1,2,0\n3,4,1\n", "lable", "no column 'lable'", "did you mean 'label'"),
    ("a,b,label\n1,x,0\n3,4,1\n", "label", "not a number", "encode text columns"),
    ("a,b,label\n1,inf,0\n3,4,1\n", "label", "inf", "missing values"),
    ("a,b,label\n1,2,0\n3,4,1\n", "label", "leave", "more data"),  # too few rows for the splits
]


@pytest.mark.parametrize("content, target, fragment, fix", CSV_CASES)
def test_csv_problems(content, target, fragment, fix, write_config, workdir):
    (workdir / "table.csv").write_text(content)
    text = edited(TINY, ("source: iris", f"source: table.csv\n  target: {target}"), ("units: 3", "units: 2"))
    report = validate_file(write_config(text))
    assert not report.valid
    problem = report.errors[0]
    assert fragment in problem.message and fix in (problem.hint or ""), str(problem)
    assert problem.line is not None


def test_all_schema_problems_are_reported_at_once(write_config):
    text = edited(TINY, ("activation: relu", "activation: rellu"), ("  epochs: 3", "  epoch: 3"))
    text = edited(text, ("batch_size: 32", "batch_size: 0"))
    report = validate_file(write_config(text))
    assert len(report.errors) == 3


def test_batch_larger_than_training_split_is_a_warning(write_config):
    report = validate_file(write_config(edited(TINY, ("batch_size: 32", "batch_size: 500"))))
    assert report.valid
    assert report.warnings[0].path == "fit.batch_size" and report.warnings[0].line == 16


@pytest.mark.parametrize("content, fragment", [
    (b"a: [1\n", "syntax error"), (b"", "empty"), (b"- 1\n", "mapping"), (b"a: 1\na: 2\n", "twice"),
    (b"a: !!python/object/apply:os.system [ls]\n", "not allowed"), (b"name: \xff\xfe\n", "UTF-8"),
])
def test_malformed_yaml_is_refused(content, fragment, workdir):
    path = workdir / "bad.yaml"
    path.write_bytes(content)
    report = validate_file(path)
    assert not report.valid and fragment in report.errors[0].message


def test_validate_json_and_exit_codes(write_config, workdir):
    good = write_config(name="good.yaml")
    bad = write_config(edited(TINY, ("units: 3", "units: 5")), name="bad.yaml")
    result = invoke("validate", good, bad, "--json")
    assert result.exit_code == 2
    files = json.loads(result.stdout)["files"]
    assert [entry["valid"] for entry in files] == [True, False]
    assert set(files[1]["errors"][0]) == {"path", "line", "column", "message", "fix"}
    assert files[1]["errors"][0]["fix"] == "set units: 3: one logit per class."
    assert invoke("validate", good).exit_code == 0


def test_a_schema_problem_is_a_value_with_what_was_received_and_expected(write_config):
    """Errors travel as values from the schema to the printer: nothing is read back out of a message."""
    text = edited(TINY, ("batch_size: 32", "batch_size: 2.5"), ("type: adam", "type: adamw"))
    problems = {problem.path: problem for problem in validate_file(write_config(text)).errors}
    size, optimizer = problems["fit.batch_size"], problems["compile.optimizer.type"]
    assert (size.received, size.expected) == (2.5, "a whole number")
    assert (optimizer.received, optimizer.expected, optimizer.hint) == ("adamw", "adam, sgd", "did you mean 'adam'?")
    # a check of the schema's own (the splits leave no training rows) keeps its fix apart from its message
    splits = validate_file(write_config(edited(TINY, ("test_split: 0.2", "test_split: 0.95")), name="s.yaml"))
    [problem] = splits.errors
    assert "Fix" not in problem.message and problem.hint.startswith("lower one of them")


def test_data_problems_are_reported_beside_schema_problems(write_config):
    text = edited(TINY, ("source: iris", "source: nowhere.csv\n  target: y"), ("  epochs: 3", "  epoch: 3"))
    report = validate_file(write_config(text))
    assert {problem.path for problem in report.errors} == {"fit.epoch", "data.source"}
    assert all(problem.line is not None for problem in report.errors)


def test_model_problems_are_reported_beside_schema_problems(write_config):
    """A key typo, a wrong type and an output layer that does not fit the data: all three at once."""
    text = edited(TINY, ("  epochs: 3", "  epoch: 3"), ("batch_size: 32", "batch_size: '32x'"),
                  ("units: 3, activation: linear", "units: 5, activation: linear"))
    report = validate_file(write_config(text))
    problems = {problem.path: problem for problem in report.errors}
    assert set(problems) == {"fit.epoch", "fit.batch_size", "model.layers[1].units"}
    assert problems["model.layers[1].units"].line == 10 and "3 classes" in problems["model.layers[1].units"].message
    assert problems["fit.batch_size"].hint == "write a whole number, e.g. batch_size: 8."
    # a field the rest cannot stand without (the loss): the model checks wait for it
    report = validate_file(write_config(edited(text, ("loss: sparse_categorical_crossentropy", "loss: 3"))))
    assert "model.layers[1].units" not in {problem.path for problem in report.errors}


def test_out_of_range_numbers_say_which_values_are_allowed(write_config):
    report = validate_file(write_config(), ["fit.epochs=0", "compile.optimizer.learning_rate=-1"])
    hints = {problem.path: problem.hint for problem in report.errors}
    assert hints == {"fit.epochs": "write a value at least 1, e.g. --set fit.epochs=1",  # as they were given
                     "compile.optimizer.learning_rate": "write a value above 0.0, e.g. "
                                                        "--set compile.optimizer.learning_rate=0.001"}


def test_multilabel_output_mismatch_names_both_fixes(tmp_path):
    from nnlearn.config.authoring import write_template

    path = write_template("multilabel", tmp_path / "multilabel.yaml")
    report = validate_file(path, ["model.layers[1].units=7"])
    [problem] = report.errors
    assert problem.path == "model.layers[1].units"
    assert problem.hint == "--set 'model.layers[1].units=5', or make the dataset have 7 labels: data.n_labels: 7."
    assert validate_file(path, ["model.layers[1].units=7", "data.n_labels=7"]).valid
    # n_labels given explicitly wins over centers; a config written before n_labels existed still works
    assert validate_file(path, ["model.layers[1].units=4", "data.centers=4"]).errors[0].path == \
        "model.layers[1].units"
    legacy = tmp_path / "legacy.yaml"
    legacy.write_text(edited(path.read_text(), ("n_labels: 5", "centers: 4"),
                             ("{type: dense, units: 5, activation: linear}", "{type: dense, units: 4}")))
    assert validate_file(legacy).valid


def test_a_shape_mistake_made_by_set_is_fixed_by_a_set_in_validate_and_train(write_config):
    """The model against the data is checked after --set: its fix names the --set, not the file's YAML."""
    path = write_config()
    [problem] = validate_file(path, ["model.layers[1].units=4"]).errors
    assert problem.message.endswith("has 4 units (from --set).")
    assert problem.hint == "--set 'model.layers[1].units=3': one logit per class."  # quoted: zsh globs [1]
    trained = invoke("train", path, "--set", "model.layers[1].units=4")
    assert trained.exit_code == 2
    assert "fix: --set 'model.layers[1].units=3': one logit per class." in trained.output
    [in_file] = validate_file(write_config(TINY.replace("units: 3", "units: 4"))).errors
    assert in_file.hint == "set units: 3: one logit per class." and "--set" not in in_file.message


def test_accuracy_with_a_squared_error_names_the_loss_as_a_possible_mistake():
    """With classes in y, mean_squared_error is the mistake, not the metric: the loss is named, with its fix,
    and the metric (which fits the data) is not complained about."""

    from tests.conftest import CONFIGS

    result = invoke("validate", CONFIGS / "iris_softmax.yaml", "--set", "compile.loss=mean_squared_error")
    said = " ".join(result.output.split())
    assert result.exit_code == 2
    assert "compile.loss: mean_squared_error treats y as a quantity, but y holds 3 classes" in said
    assert "use loss: sparse_categorical_crossentropy" in said and "compile.metrics" not in said
