"""CSVs that used to be read silently wrong, or with memory out of proportion to their size: names given
twice or not at all, rows after blank lines or quoted newlines, identifier columns one-hot encoded,
categories never seen in training, and the rows typed with --row."""

import json
import tracemalloc

import numpy as np
import pytest

from nnlearn.config.schema import DataConfig
from nnlearn.data import dataset as dataset_module
from nnlearn.data.dataset import load_dataset
from nnlearn.data.sources import Source
from nnlearn.errors import DataError
from nnlearn.insight.predict import read_column_inputs
from nnlearn.runs.rundir import RunDir
from tests.conftest import flat, invoke
from tests.configs import TABLE, TINY



def numbers_csv(header: str, rows: int = 40) -> str:
    width = len(header.split(","))
    return header + "\n" + "".join(",".join(str((row * 7 + column) % 5) if column < width - 1 else str(row % 2)
                                            for column in range(width)) + "\n" for row in range(rows))


@pytest.mark.parametrize("header, fragment", [
    ("a,b,a,y", "the header names 'a' twice (columns 1 and 3)"),
    ("a, b ,b,y", "the header names 'b' twice (columns 2 and 3)"),
    ("a,,b,y", "column 2 of 4 has no name"),
    ("a,b,y,", "column 4 of 4 has no name"),
])
@pytest.mark.parametrize("reader", ["rows", "numbers", "stream"])
@pytest.mark.parametrize("command", ["validate", "train"])
def test_a_header_naming_a_column_twice_or_not_at_all_is_refused(write_config, monkeypatch, header, fragment,
                                                                  reader, command):
    (write_config(TABLE).parent / "table.csv").write_text(numbers_csv(header))
    if reader == "numbers":  # the columnar reader of big CSVs of numbers, at any size
        monkeypatch.setattr(dataset_module, "NUMBERS_CSV_BYTES", 0)
    arguments = ["--set", "data.stream=true"] if reader == "stream" else []
    result = invoke(command, "config.yaml", *arguments)
    assert result.exit_code == 2, result.output
    assert fragment in flat(result) and "Traceback" not in result.output


@pytest.fixture
def predictable_run(write_config):
    """An iris run whose inputs are refused before its (fake) model is read: no TensorFlow."""
    from nnlearn.config.loading import load_config
    from nnlearn.model.prepare import prepare
    from nnlearn.runs import lock
    from nnlearn.training.train import start_run_dir

    path = write_config(TINY)
    with lock.held():
        run_dir = start_run_dir(prepare(load_config(path), path.parent), "runs/iris").path
    (run_dir / "model.keras").write_bytes(b"never read: the input is refused first")
    return run_dir


FEATURES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


def test_predict_refuses_an_input_naming_a_column_twice(predictable_run):
    path = predictable_run.parent.parent / "in.csv"
    path.write_text(",".join(FEATURES + [FEATURES[0]]) + "\n5,3,1,0.2,9\n")
    result = invoke("predict", predictable_run, "--input", path)
    assert result.exit_code == 2
    assert "the header names 'sepal length (cm)' twice (columns 1 and 5)" in flat(result)


def test_rows_after_blank_lines_and_quoted_newlines_are_named_by_their_file_line(predictable_run):
    path = predictable_run.parent.parent / "in.csv"
    # line 1 header, 2 a row, 3 blank, 4-5 one row whose quoted cell spans two lines, 6 blank, 7 the bad row
    path.write_text(",".join(FEATURES) + '\n5,3,1,0.2\n\n"5\n",3,1,0.2\n\n5,x,1,0.2\n')
    result = invoke("predict", predictable_run, "--input", path)
    assert result.exit_code == 2
    assert "in.csv line 7, column 'sepal width (cm)': 'x' is not a number" in flat(result)


def test_row_errors_speak_of_the_typed_rows_never_of_an_internal_file(predictable_run):
    rows = [f"--row={name}={value}" for name, value in zip(FEATURES, ["5", "abc", "1", "0.2"])]
    result = invoke("predict", predictable_run, *rows)
    assert result.exit_code == 2
    assert "typed row 1, column 'sepal width (cm)': 'abc' is not a number" in flat(result)
    assert "typed-rows" not in result.output and ".csv" not in result.output


def ids_csv(rows: int, categories: int) -> str:
    return "id,size,y\n" + "".join(f"user{row % categories:06d},{row % 7},{row % 2}\n" for row in range(rows))


@pytest.mark.parametrize("rows, categories, fragment", [
    (12_000, 12_000, "9,600 different values in 9,600 training rows"),  # every row its own: an identifier
    (200, 190, "nearly every row has its own, like an identifier"),
    (30_000, 1_500, "1,500 different values, more than the 1,000 one-hot features"),
])
def test_an_identifier_or_a_huge_text_column_is_refused_before_it_is_encoded(write_config, rows, categories,
                                                                            fragment):
    (write_config(TABLE).parent / "table.csv").write_text(ids_csv(rows, categories))
    tracemalloc.start()
    result = invoke("validate", "config.yaml", "--set", "data.text=one_hot")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert result.exit_code == 2 and fragment in flat(result), result.output
    assert "data: {ignore: [id]}" in flat(result)
    assert peak < 200 * 1024**2  # counted, never encoded: memory follows the file, not rows x categories


def test_one_hot_of_many_categories_built_in_numpy_equals_the_plain_comparison(tmp_path):
    data = DataConfig(source="table.csv", target="y", text="one_hot", validation_split=0)
    chance = np.random.default_rng(0)
    cities = [f"c{value:03d}" for value in chance.integers(0, 300, 3000)]
    text = "city,y\n" + "".join(f"{city},{row % 2}\n" for row, city in enumerate(cities))
    (tmp_path / "table.csv").write_text(text)
    dataset = load_dataset(data, 0, tmp_path)
    categories = [name.removeprefix("city=") for name in dataset.feature_names]
    cities = np.asarray([line.split(",")[0] for line in text.splitlines()[1:]], dtype=object)
    expected = (cities[:, None] == np.asarray(categories, dtype=object)[None, :]).astype(np.float64)
    assert np.array_equal(dataset.x, expected)


def test_a_long_cell_costs_memory_in_proportion_to_the_file(write_config):
    rows = ["a,b,y"] + [f"{row % 5},{row % 3},{row % 2}" for row in range(5000)]
    rows[7] = "1,0." + "9" * 100_000 + ",0"  # one cell of 100 KB: a fixed-width text array would take 6 GB
    (write_config(TABLE).parent / "table.csv").write_text("\n".join(rows) + "\n")
    tracemalloc.start()
    result = invoke("validate", "config.yaml")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert result.exit_code == 0, result.output
    assert peak < 200 * 1024**2


CITIES = """\
name: houses
data:
  source: houses.csv
  target: sold
  validation_split: 0
  columns: {city: {text: one_hot}}
model:
  layers:
    - {type: dense, units: 1}
compile: {loss: binary_crossentropy}
fit: {epochs: 1}
"""


def test_a_category_never_seen_in_training_is_warned_about_naming_the_known_ones(write_config, workdir):
    from nnlearn.config.loading import load_config
    from nnlearn.model.prepare import prepare
    from nnlearn.runs import lock
    from nnlearn.runs.saved_run import saved_columns
    from nnlearn.training.train import start_run_dir

    (workdir / "houses.csv").write_text("area,city,sold\n" + "".join(
        f"{50 + row},{('Leeds', 'York', 'Hull')[row % 3]},{row % 2}\n" for row in range(40)))
    path = write_config(CITIES)
    with lock.held():
        run = start_run_dir(prepare(load_config(path), workdir), "runs/houses")
    state = json.loads(run.preprocessing_file.read_text())
    (workdir / "new.csv").write_text("area,city\n60,Paris\n61,hull\n62,York\n63,Paris\n")
    x, warnings = read_column_inputs(Source.at(workdir / "new.csv"), saved_columns(state, RunDir(run.path)), set())
    assert x[0, 1:].sum() == 0 and x[2, 1:].sum() == 1  # Paris is all zeros; York is York
    assert len(warnings) == 1
    warning = warnings[0]
    assert "city = 'Paris', 'hull' (lines 2, 3, 5) was never seen in training" in warning
    assert "one of: Hull, Leeds, York" in warning and "'hull' is 'Hull' in other capitals" in warning


def test_unknown_categories_reach_the_predict_warnings(monkeypatch, write_config, workdir):
    """The warnings above are predict's own, printed by `nnlearn predict` like an out-of-range number."""
    from nnlearn.insight import predict

    seen = []
    monkeypatch.setattr(predict, "outside_training_range", lambda run_dir, x: seen.append(x) or [])

    class Model:
        def predict(self, x, verbose=0):
            return np.zeros((len(x), 1))

    monkeypatch.setattr(RunDir, "load_model", lambda self: Model())
    monkeypatch.setattr(RunDir, "check_finished", lambda self: None)
    test_a_category_never_seen_in_training_is_warned_about_naming_the_known_ones(write_config, workdir)
    result = predict.predict(RunDir("runs/houses"), workdir / "new.csv")
    assert any("'Paris'" in warning for warning in result.warnings)


def test_the_numbers_reader_refuses_a_repeated_name_before_reading_a_row(tmp_path):
    (tmp_path / "table.csv").write_text("a,b,a,y\n1,2,3,0\n")
    with pytest.raises(DataError, match="twice"):
        dataset_module.read_header(tmp_path / "table.csv")
