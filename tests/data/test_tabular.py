"""CSVs from spreadsheets: missing cells dropped or filled, text columns one-hot encoded, the same at predict.

Fills and categories are checked against scikit-learn's SimpleImputer and OneHotEncoder fitted on the
same training rows.
"""

import json

import numpy as np
import pytest
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder

from nnlearn.config.schema import DataConfig
from nnlearn.data.dataset import load_dataset, split_dataset, split_indices
from nnlearn.errors import DataError
from tests.conftest import edited, flat, invoke

# 40 houses: rooms and area with gaps, a text column with a gap, a label that follows area
ROWS = [(3 + i % 3, 50 + 3 * i, ("Leeds", "York", "Hull")[i % 3], int(50 + 3 * i > 110)) for i in range(40)]
BLANKS = {(4, "rooms"), (9, "area"), (17, "area"), (22, "city")}


def houses_csv() -> str:
    lines = ["rooms,area,city,sold"]
    for index, (rooms, area, city, sold) in enumerate(ROWS):
        cells = {"rooms": str(rooms), "area": str(area), "city": city}
        cells.update({column: "" for row, column in BLANKS if row == index})
        lines.append(f"{cells['rooms']},{cells['area']},{cells['city']},{sold}")
    return "\n".join(lines) + "\n"


HOUSES = """\
name: houses
seed: 3
data:
  source: houses.csv
  target: sold
  missing: median
  columns:
    city: {text: one_hot, missing: most_frequent}
  validation_split: 0
model:
  layers:
    - {type: dense, units: 1}
compile: {loss: binary_crossentropy, optimizer: {learning_rate: 0.1}}
fit: {epochs: 2, batch_size: 8}
"""


@pytest.fixture
def houses(workdir):
    (workdir / "houses.csv").write_text(houses_csv())
    return workdir / "houses.csv"


def data(path, **settings) -> DataConfig:
    return DataConfig(source=str(path), target="sold", validation_split=0, **settings)


def raw_columns():
    """The CSV's feature cells as sklearn sees them: numbers with NaN, text with None."""
    rooms = np.array([np.nan if (i, "rooms") in BLANKS else r for i, (r, *_) in enumerate(ROWS)], dtype=float)
    area = np.array([np.nan if (i, "area") in BLANKS else a for i, (_, a, *_) in enumerate(ROWS)], dtype=float)
    city = np.array([None if (i, "city") in BLANKS else c for i, (_, _, c, _) in enumerate(ROWS)], dtype=object)
    return np.c_[rooms, area], city


@pytest.mark.parametrize("strategy", ["mean", "median", "most_frequent"])
def test_fills_are_sklearns_fitted_on_the_training_rows_only(houses, strategy):
    settings = {"missing": strategy, "columns": {"city": {"text": "one_hot", "missing": "most_frequent"}}}
    dataset = load_dataset(data(houses, **settings), seed=3)
    train, _, _ = split_indices(dataset, data(houses, **settings), 3, stratify=True)
    assert np.array_equal(split_dataset(dataset, data(houses, **settings), 3, stratify=True).train.x,
                          dataset.x[train])
    numbers, city = raw_columns()
    imputer = SimpleImputer(strategy=strategy).fit(numbers[train])
    assert np.allclose(dataset.x[:, :2], imputer.transform(numbers))
    city_filled = SimpleImputer(strategy="most_frequent", missing_values=None).fit(city[train, None])
    encoder = OneHotEncoder(handle_unknown="ignore").fit(city_filled.transform(city[train, None]))
    expected = encoder.transform(city_filled.transform(city[:, None])).toarray()
    assert np.array_equal(dataset.x[:, 2:], expected)
    assert dataset.feature_names == ["rooms", "area"] + [f"city={c}" for c in encoder.categories_[0]]


def test_drop_removes_exactly_the_rows_with_a_gap(houses):
    settings = {"missing": "drop", "text": "one_hot"}
    dataset = load_dataset(data(houses, **settings), seed=0)
    kept = [i for i in range(len(ROWS)) if not any(row == i for row, _ in BLANKS)]
    assert len(dataset.x) == len(kept) == len(ROWS) - len(BLANKS)
    assert np.array_equal(dataset.x[:, 1], [ROWS[i][1] for i in kept])
    assert dataset.y.tolist() == [ROWS[i][3] for i in kept]


def test_a_gap_by_default_names_the_column_every_line_and_the_settings(houses):
    with pytest.raises(DataError) as caught:
        load_dataset(data(houses, text="one_hot"), seed=0)
    message = caught.value.message + " " + caught.value.hint
    assert "line 6: feature 'rooms' is empty" in message  # row 4 is line 6: the header is line 1
    assert "missing" in message and "median" in message and "drop" in message


def test_a_text_column_by_default_suggests_one_hot(houses):
    with pytest.raises(DataError) as caught:
        load_dataset(data(houses, missing="drop"), seed=0)
    assert "'city' holds text" in caught.value.message
    assert "text: one_hot" in caught.value.hint and "ignore: [city]" in caught.value.hint


@pytest.mark.parametrize("settings, fragment", [
    ({"missing": "mean", "text": "one_hot"}, "'city' holds text, which has no mean"),
    ({"columns": {"citty": {"text": "one_hot"}}}, "did you mean 'city'"),
    ({"ignore": ["sold"], "missing": "drop", "text": "one_hot"}, "y cannot be left out"),
])
def test_settings_that_cannot_apply_are_refused(houses, settings, fragment):
    with pytest.raises(DataError) as caught:
        load_dataset(data(houses, **settings), seed=0)
    assert fragment in caught.value.message + " " + caught.value.hint


def test_ignored_columns_are_not_features(houses):
    dataset = load_dataset(data(houses, missing="drop", ignore=["city"]), seed=0)
    assert dataset.feature_names == ["rooms", "area"]


def test_an_empty_target_is_dropped_only_when_asked(workdir):
    (workdir / "t.csv").write_text("a,sold\n1,0\n2,\n3,1\n4,0\n5,1\n")
    with pytest.raises(DataError, match="the target 'sold' is empty"):
        load_dataset(data(workdir / "t.csv"), seed=0)
    dataset = load_dataset(data(workdir / "t.csv", columns={"sold": {"missing": "drop"}}), seed=0)
    assert dataset.x[:, 0].tolist() == [1, 3, 4, 5]


def test_validate_and_explain_say_it_without_tensorflow(houses, write_config):
    path = write_config(HOUSES)
    result = invoke("validate", path, "--set", "data.columns={}")
    assert result.exit_code == 2 and "'city' holds text" in flat(result) and "Traceback" not in result.output
    result = invoke("explain", path, "--json")
    assert result.exit_code == 0, result.output
    explanation = json.loads(result.stdout)
    assert explanation["feature_count"] == 5 and explanation["input_shape"] == [5]
    assert explanation["feature_names"] == ["rooms", "area", "city=Hull", "city=Leeds", "city=York"]
    assert "one-hot" in explanation["inputs"]


@pytest.mark.tensorflow
def test_train_eval_and_predict_apply_the_same_transform(houses, write_config, workdir):
    import tensorflow as tf

    result = invoke("train", write_config(HOUSES), "--out", "run", "-q", "--no-plots")
    assert result.exit_code in (0, 1), result.output
    state = json.loads((workdir / "run" / "preprocessing.json").read_text())
    columns = {column["name"]: column for column in state["columns"]["columns"]}
    assert columns["city"]["categories"] == ["Hull", "Leeds", "York"]
    result = invoke("eval", "run", "--json")
    assert result.exit_code == 0, result.output
    # a gap in each column and a city never seen in training
    (workdir / "new.csv").write_text("city,rooms,area\nBath,,80\nLeeds,2,\n,4,100\n")
    result = invoke("predict", "run", "--input", "new.csv", "--json")
    assert result.exit_code == 0, result.output
    predicted = [row["p_1"] for row in json.loads(result.stdout)["predictions"]]
    # the same rows built by hand from preprocessing.json, through Keras itself
    fill = {name: column["fill"] for name, column in columns.items()}
    rows = np.array([[fill["rooms"], 80, 0, 0, 0],           # Bath: all zeros
                     [2, fill["area"], 0, 1, 0],              # Leeds
                     [4, 100] + [float(c == fill["city"]) for c in ["Hull", "Leeds", "York"]]])
    normalizer = state["normalizer"]
    x = (rows - np.array(normalizer["offset"])) / np.array(normalizer["scale"])
    model = tf.keras.models.load_model(workdir / "run" / "model.keras", compile=False)
    expected = tf.sigmoid(model(x.astype(np.float32))).numpy()[:, 0]
    assert np.allclose(predicted, expected, atol=1e-6)


@pytest.mark.tensorflow
def test_predict_refuses_a_gap_the_run_cannot_fill(houses, write_config, workdir):
    text = edited(HOUSES, ("missing: median", "missing: drop"))
    result = invoke("train", write_config(text), "--out", "run", "-q", "--no-plots")
    assert result.exit_code in (0, 1), result.output
    (workdir / "new.csv").write_text("rooms,area,city\n3,,York\n")
    result = invoke("predict", "run", "--input", "new.csv")
    assert result.exit_code == 2 and "line 2: 'area' is empty" in flat(result)
    assert "Traceback" not in result.output


@pytest.mark.tensorflow
@pytest.mark.parametrize("settings", [("missing: median", "missing: median"), ("missing: median", "missing: drop")])
def test_ejected_columns_equal_nnlearns(settings, houses, write_config, workdir):
    from nnlearn.config.loading import load_config
    from nnlearn.model.prepare import prepare

    path = write_config(edited(HOUSES, settings))
    script = invoke("eject", path).stdout
    namespace: dict = {}
    exec(compile(script.split("# Step 1")[0], "ejected", "exec"), namespace)
    prepared = prepare(load_config(path), workdir)
    assert np.array_equal(namespace["x"][namespace["test"]], prepared.x("test"))
    assert np.array_equal(namespace["x"][namespace["rest"]], prepared.x("train"))


def test_one_text_cell_in_a_column_of_numbers_is_called_a_likely_typo(workdir):
    rows = [f"{200 + i},{13 + i / 10},{i % 2}\n" for i in range(40)]
    rows[4] = "hot,13.4,0\n"  # line 6: the header is line 1
    (workdir / "roast.csv").write_text("temperature,duration,sold\n" + "".join(rows))
    with pytest.raises(DataError) as caught:
        load_dataset(data(workdir / "roast.csv"), seed=0)
    assert "line 6, column 'temperature': 'hot' is not a number, while 39 of the column's 40 cells are numbers: " \
           "likely a typo" in caught.value.message
    assert "write a number on line 6 of roast.csv" in caught.value.hint and "one_hot" not in caught.value.hint
    # A column of words is one to encode or leave out, not a typo
    words = "".join(f"{('warm', 'hot')[i % 2]},{13 + i / 10},{i % 2}\n" for i in range(40))
    (workdir / "roast.csv").write_text("temperature,duration,sold\n" + words)
    with pytest.raises(DataError) as caught:
        load_dataset(data(workdir / "roast.csv"), seed=0)
    assert "'temperature' holds text" in caught.value.message and "one_hot" in caught.value.hint
