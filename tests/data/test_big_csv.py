"""Big CSVs: the columnar reader (pyarrow) against the row-by-row reader, on tiny files.

The columnar reader is used from data.NUMBERS_CSV_BYTES on; these tests lower that to 0 so a tiny file
takes it. The big file itself lives in benchmarks/big_csv.py.
"""

import numpy as np
import pytest

from nnlearn.config.schema import DataConfig
from nnlearn.data import dataset as data_module
from nnlearn.data.dataset import Normalizer, load_dataset
from nnlearn.errors import DataError
from nnlearn.files import count_lines, sha256_of_file
from nnlearn.workflows.validate import validate_file
from tests.conftest import TINY, edited


@pytest.fixture
def columnar(monkeypatch):
    """load(path, **data fields) -> (row-by-row dataset, columnar dataset) of the same file."""

    def load(path, **fields):
        config = DataConfig(source=str(path), **fields)
        monkeypatch.setattr(data_module, "NUMBERS_CSV_BYTES", 10**12)
        rows = load_dataset(config, seed=0)
        monkeypatch.setattr(data_module, "NUMBERS_CSV_BYTES", 0)
        return rows, load_dataset(config, seed=0)

    return load


def _numbers_csv(path, rows=50, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3)) * [1, 100, 0.001]
    y = (x[:, 0] > 0).astype(int)
    lines = ["a,b,c,y"] + [f"{r[0]:.6f},{r[1]:.3f},{r[2]:.9f},{label}" for r, label in zip(x, y)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_columnar_reader_gives_the_row_by_row_readers_numbers(tmp_path, columnar):
    rows, fast = columnar(_numbers_csv(tmp_path / "n.csv"), target="y")
    assert rows.x.dtype == np.float64 and fast.x.dtype == np.float32  # float32 from the start
    assert np.array_equal(fast.x, rows.x.astype(np.float32))
    assert np.array_equal(fast.y, rows.y) and fast.y.dtype == rows.y.dtype
    assert (fast.kind, fast.class_names, fast.feature_names) == (rows.kind, rows.class_names, rows.feature_names)


def test_columnar_reader_keeps_ignored_columns_out_and_a_continuous_target(tmp_path, columnar):
    path = tmp_path / "r.csv"
    path.write_text("id,a,b,price\r\nx1,1.5,2,10.25\r\n\r\nx2, 3 ,4,11.5\r\nx3,5,0,6e-1\r\n")
    rows, fast = columnar(path, target="b", ignore=["id"])
    assert fast.x.dtype == np.float32 and fast.feature_names == ["a", "price"] == rows.feature_names
    assert np.array_equal(fast.x, rows.x.astype(np.float32)) and np.array_equal(fast.y, rows.y)
    assert fast.kind == rows.kind == "classes" and fast.class_names == rows.class_names == ["0", "2", "4"]
    assert fast.y.tolist() == [1, 2, 0]


def test_columnar_reader_regression_target(tmp_path, columnar):
    path = tmp_path / "r.csv"
    path.write_text("a,y\n" + "".join(f"{i},{i * 0.37:.2f}\n" for i in range(60)))
    rows, fast = columnar(path, target="y")
    assert fast.kind == rows.kind == "continuous"
    assert np.array_equal(fast.y, rows.y) and np.array_equal(fast.x, rows.x.astype(np.float32))


@pytest.mark.parametrize("content, target", [
    ("a,b,y\n1,2,0\n", "label"),         # no such column
    ("a,b,y\n1,x,0\n", "y"),             # text
    ("a,b,y\n1,,0\n", "y"),              # missing
    ("a,b,y\n1,nan,0\n", "y"),           # a missing marker
    ("a,b,y\n1,inf,0\n", "y"),           # not finite
    ("a,b,y\n1,2\n", "y"),               # a short row
    ("a,b,y\n", "y"),                    # no rows
    ("a,b,y\n1,2,\n", "y"),              # no target
])
def test_mistakes_get_the_row_by_row_readers_message(tmp_path, monkeypatch, content, target):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    messages = []
    for threshold in (10**12, 0):
        monkeypatch.setattr(data_module, "NUMBERS_CSV_BYTES", threshold)
        with pytest.raises(DataError) as caught:
            load_dataset(DataConfig(source=str(path), target=target), seed=0)
        messages.append((caught.value.message, caught.value.hint, caught.value.path))
    assert messages[0] == messages[1]


def test_settings_that_fill_or_encode_take_the_row_by_row_reader(tmp_path, columnar):
    path = tmp_path / "f.csv"
    path.write_text("a,city,y\n,York,1\n" + "".join(f"{i},{'Hull' if i % 3 else 'York'},{i % 2}\n" for i in range(30)))
    rows, fast = columnar(path, target="y", missing="most_frequent", text="one_hot")
    assert fast.x.dtype == np.float64 and np.array_equal(fast.x, rows.x)
    assert fast.columns.to_dict() == rows.columns.to_dict()


@pytest.mark.parametrize("content, fragment", [
    ("a,b,y\n1,2,0\n3,x,1\n", "column 'b': CSV conversion error"),
    ("a,b,y\n1,2,0\n3,nan,1\n", "data row 2, column 'b': nan is not a finite number"),
    ("a,b,y\n1,2,0\n3,4\n", "Expected 3 columns, got 2"),
])
def test_a_csv_too_big_for_the_row_by_row_reader_names_the_problem(tmp_path, monkeypatch, content, fragment):
    path = tmp_path / "big.csv"
    path.write_text(content)
    monkeypatch.setattr(data_module, "NUMBERS_CSV_BYTES", 0)
    monkeypatch.setattr(data_module, "MAX_CSV_BYTES", 4)
    with pytest.raises(DataError) as caught:
        load_dataset(DataConfig(source=str(path), target="y"), seed=0)
    assert fragment in caught.value.message and "big.csv" in caught.value.message
    assert "every cell" in caught.value.hint and caught.value.path == "data.source"


def test_count_lines_counts_every_newline(tmp_path):
    path = tmp_path / "lines.csv"
    path.write_bytes(b"a,y\n" + b"1,0\n" * 1000 + b"2,1")  # the last line has no newline
    assert count_lines(path, block=7) == 1001 == path.read_bytes().count(b"\n")


def test_normalizer_sums_float32_in_float64_blocks(monkeypatch):
    monkeypatch.setattr(data_module, "BLOCK_ROWS", 7)
    x = (np.random.default_rng(0).normal(size=(100, 3)) * [1, 1e4, 1e-4] + [0, 5e4, 1]).astype(np.float32)
    reference = x.astype(np.float64)
    normalizer = Normalizer.fit("standard", x)
    np.testing.assert_allclose(normalizer.offset, reference.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(normalizer.scale, reference.std(axis=0), rtol=1e-12)
    expected = ((reference - normalizer.offset) / normalizer.scale).astype(np.float32)
    assert np.array_equal(normalizer.apply(x), expected)
    minmax = Normalizer.fit("minmax", x)
    assert np.array_equal(minmax.scale, reference.max(axis=0) - reference.min(axis=0))


def test_validate_reads_a_numbers_csv_by_columns(tmp_path, monkeypatch, write_config, workdir):
    _numbers_csv(workdir / "n.csv", rows=200)
    monkeypatch.setattr(data_module, "NUMBERS_CSV_BYTES", 0)
    text = edited(TINY, ("source: iris", "source: n.csv\n  target: y"), ("units: 3", "units: 2"))
    report = validate_file(write_config(text))
    assert report.valid, [str(problem) for problem in report.errors]
    (workdir / "n.csv").write_text("a,b,c,y\n" + "1,2,3,0\n1,2,3,1\n" * 25 + "1,2,z,1\n")
    report = validate_file(write_config(text))
    assert not report.valid and "line 52, column 'c': 'z' is not a number" in report.errors[0].message


def test_sha256_of_file_reads_in_blocks_what_hashlib_gives_for_the_whole(tmp_path):
    import hashlib

    path = tmp_path / "n.csv"
    path.write_bytes(bytes(range(256)) * 1000)
    assert sha256_of_file(path, block=999) == hashlib.sha256(path.read_bytes()).hexdigest()
