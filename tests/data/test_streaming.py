"""Streamed data (data.stream): a CSV of numbers read from disk a block at a time, on tiny files.

Small blocks and windows (monkeypatched) make a few hundred rows cross many block and window boundaries.
"""

import json

import numpy as np
import pytest

from nnlearn.config.loading import load_config
from nnlearn.data import streaming
from nnlearn.data.sources import Source
from nnlearn.errors import DataError
from nnlearn.model.prepare import prepare
from nnlearn.runs.rundir import RunDir
from nnlearn.training import measure as measuring
from tests.conftest import FLOAT32_REORDERED, invoke

STREAMED = """\
name: streamed
seed: 3
data: {source: rows.csv, target: y, stream: true, test_split: 0.2, validation_split: 0.1}
model:
  layers:
    - {type: dense, units: 4, activation: relu}
    - {type: dense, units: 1}
compile: {loss: binary_crossentropy, from_logits: true, optimizer: {type: adam, learning_rate: 0.05},
          metrics: [accuracy]}
fit: {epochs: 4, batch_size: 16}
"""


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(streaming, "BLOCK_BYTES", 1024)  # about 30 rows a block
    monkeypatch.setattr(streaming, "WINDOW_BYTES", 1200)  # 100 rows of 3 features shuffled together


def write_rows(folder, rows=300, seed=1):
    """a = the row's number (so a batch says which rows it holds), b and c noise; y from b and c."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(rows, 2)) * [1, 10] + [0, 5]
    y = (noise[:, 0] + (noise[:, 1] - 5) / 10 > 0).astype(int)
    lines = ["a,b,c,y"] + [f"{row},{b:.5f},{c:.5f},{label}" for row, (b, c), label in zip(range(rows), noise, y)]
    (folder / "rows.csv").write_text("\n".join(lines) + "\n")
    return folder / "rows.csv"


def test_the_split_has_the_in_memory_sizes_and_the_normaliser_the_training_rows_numbers(write_config,
                                                                                         small_blocks):
    write_rows(write_config().parent)
    prepared = prepare(load_config(write_config(STREAMED)))
    assert prepared.stream is not None and prepared.dataset.kind == "classes"
    sizes = [len(prepared.splits.train), len(prepared.splits.validation), len(prepared.splits.test)]
    assert sizes == [210, 30, 60]
    x = np.loadtxt("rows.csv", delimiter=",", skiprows=1, dtype=np.float32)
    train = x[prepared.stream.split == streaming.TRAIN, :3]
    assert np.allclose(prepared.normalizer.offset, train.astype(np.float64).mean(axis=0), rtol=1e-12)
    assert np.allclose(prepared.normalizer.scale, train.astype(np.float64).std(axis=0), rtol=1e-12)
    assert np.array_equal(prepared.splits.test.x, x[prepared.stream.split == streaming.TEST, :3])


def test_each_epoch_holds_every_training_row_once_in_a_seeded_order(write_config, small_blocks):
    write_rows(write_config().parent)
    prepared = prepare(load_config(write_config(STREAMED.replace("stream: true", "stream: true, normalize: none"))))
    train_rows = np.flatnonzero(prepared.stream.split == streaming.TRAIN)

    def epoch(number):
        batches = list(streaming.epoch_batches(prepared, number))
        assert [len(x) for x, _ in batches[:-1]] == [16] * (len(batches) - 1)
        assert len(batches) == -(-len(train_rows) // 16)
        rows = np.concatenate([x[:, 0] for x, _ in batches]).astype(int)
        labels = np.concatenate([y[:, 0] for _, y in batches])
        assert np.array_equal(labels, prepared.dataset.y[rows])  # each row keeps its own target
        return rows

    first = epoch(0)
    assert sorted(first) == train_rows.tolist()
    assert np.array_equal(first, epoch(0)) and not np.array_equal(first, epoch(1))
    assert not np.array_equal(first, train_rows)  # shuffled, within windows of 100 rows


@pytest.mark.tensorflow
def test_streamed_metrics_are_the_in_memory_evaluation_of_the_same_rows(write_config, small_blocks):
    from nnlearn.model.build import build_model, compile_model
    from nnlearn.training.steps import evaluate_arrays

    write_rows(write_config().parent)
    prepared = prepare(load_config(write_config(STREAMED)))
    model = build_model(prepared.config, prepared.input_shape)
    compile_model(model, prepared.config)
    streamed = measuring.measure(model, prepared, "test")
    in_memory = evaluate_arrays(model, prepared.x("test"), prepared.y("test"))
    assert streamed == pytest.approx(in_memory, rel=1e-6)


@pytest.mark.tensorflow
def test_one_pass_measures_each_split_as_the_in_memory_evaluation_of_its_rows(write_config, small_blocks,
                                                                              monkeypatch):
    from nnlearn.model import build as tf_model
    from nnlearn.training import steps
    from nnlearn.training.steps import evaluate_arrays

    monkeypatch.setattr(steps, "EVAL_BATCH_SIZE", 16)
    monkeypatch.setattr(streaming, "EVAL_CHUNK_BATCHES", 2)  # chunks of 32 rows: the splits take turns
    write_rows(write_config().parent)
    prepared = prepare(load_config(write_config(STREAMED)))
    model = tf_model.build_model(prepared.config, prepared.input_shape)
    tf_model.compile_model(model, prepared.config)
    names = ["train", "validation", "test"]
    together = measuring.measure_splits(model, prepared, names)
    for name in names:
        in_memory = evaluate_arrays(model, prepared.x(name), prepared.y(name))
        assert together[name] == pytest.approx(in_memory, rel=1e-6)
        assert together[name] == measuring.measure(model, prepared, name)  # one pass or three: the same
    first = measuring.measure_splits(model, prepared, ["train"], rows=50)["train"]
    assert first == pytest.approx(evaluate_arrays(model, prepared.x("train")[:50],
                                                           prepared.y("train")[:50]), rel=1e-6)
    assert first["loss"] != pytest.approx(together["train"]["loss"], rel=1e-3)  # a prefix, not every row


@pytest.mark.tensorflow
def test_a_streamed_run_learns_reruns_identically_and_eval_and_predict_work(write_config, small_blocks,
                                                                           monkeypatch):
    from nnlearn.training.train import Silent, train

    class Said(Silent):
        def initial_loss(self, measured, expected, reason):
            self.reason = reason

    monkeypatch.setattr(measuring, "INITIAL_LOSS_ROWS", 50)
    folder = write_config().parent
    write_rows(folder)
    path = write_config(STREAMED)
    said = Said()
    first, second = train(path, out="runs/first", progress=said), train(path, out="runs/second")
    assert "; measured on the first 50 training rows" in said.reason
    assert first.metrics["test"]["accuracy"] > 0.9 and first.metrics["train"]["accuracy"] > 0.9
    assert (first.run_dir / "history.csv").read_bytes() == (second.run_dir / "history.csv").read_bytes()
    assert first.metrics == second.metrics
    assert json.loads((first.run_dir / "preprocessing.json").read_text())["streamed"] is True

    result = invoke("eval", first.run_dir, "--json")
    assert result.exit_code == 0, result.output
    evaluated = json.loads(result.stdout)
    # eval measures a model loaded from model.keras with the same ops: equal up to float32 rounding
    assert evaluated["metrics"]["test"] == pytest.approx(first.metrics["test"], **FLOAT32_REORDERED)
    assert sum(map(sum, evaluated["confusion_matrix"]["matrix"])) == 60
    (folder / "new.csv").write_text("a,b,c\n1,0.5,5\n2,-9,5\n")
    result = invoke("predict", first.run_dir, "--input", folder / "new.csv", "--json")
    assert result.exit_code == 0, result.output
    assert "outside the range seen in training" in result.output  # b = -9: from one pass over the file


@pytest.mark.tensorflow
def test_a_streamed_run_stopped_and_resumed_ends_as_an_uninterrupted_one(write_config, small_blocks):
    from nnlearn.errors import Interrupted
    from nnlearn.training.train import Silent, resume, train

    write_rows(write_config().parent)
    path = write_config(STREAMED.replace("epochs: 4", "epochs: 6"))
    whole = train(path, out="runs/whole")

    class StopAfterThree(Silent):
        def epoch(self, number, logs):
            if number == 3:
                raise KeyboardInterrupt  # the run dies between epochs, as a kill would leave it

    with pytest.raises(Interrupted):
        train(path, out="runs/stopped", progress=StopAfterThree())
    resumed = resume(RunDir.open("runs/stopped"))
    assert (resumed.run_dir / "history.csv").read_bytes() == (whole.run_dir / "history.csv").read_bytes()
    assert resumed.metrics == whole.metrics


@pytest.mark.parametrize("line, fragment", [
    ("7,1.5,abc,1", "column 'c'"),
    ("7,1.5,2", "Expected 4 columns, got 3"),
    ("7,nan,2,1", "is not a finite number"),
    ("7,1.5,2,", "the target 'y' is missing"),
])
def test_a_damaged_streamed_csv_is_a_clear_error(write_config, line, fragment):
    folder = write_config().parent
    path = write_rows(folder, rows=40)
    lines = path.read_text().splitlines()
    lines[20] = line
    path.write_text("\n".join(lines) + "\n")
    result = invoke("validate", str(write_config(STREAMED)))
    assert result.exit_code == 2, result.output
    assert fragment in result.output and "Traceback" not in result.output


def test_stream_true_on_data_that_cannot_stream_is_refused(write_config):
    write_rows(write_config().parent)
    with pytest.raises(DataError, match="not a CSV file"):
        prepare(load_config(write_config(STREAMED.replace("source: rows.csv, target: y", "source: iris"))))
    with pytest.raises(DataError, match="numbers only"):
        prepare(load_config(write_config(STREAMED.replace("stream: true", "stream: true, missing: mean"))))


def test_auto_streams_only_what_would_take_too_much_of_the_free_memory(write_config, monkeypatch):
    write_rows(write_config().parent)
    config = load_config(write_config(STREAMED.replace("stream: true", "stream: auto")))
    monkeypatch.setattr(streaming, "NUMBERS_CSV_BYTES", 0)
    monkeypatch.setattr(streaming, "available_memory", lambda: 10**12)
    source = Source.of(config.data.source, write_config().parent)
    assert not streaming.streamed(config, source)
    monkeypatch.setattr(streaming, "available_memory", lambda: 1000)  # 300 rows × 3 features × 4 × 3 > 250
    assert streaming.streamed(config, source)


def test_explain_says_the_rows_will_be_streamed(write_config):
    write_rows(write_config().parent)
    streamed = invoke("explain", str(write_config(STREAMED)))
    in_memory = invoke("explain", str(write_config(STREAMED, name="memory.yaml")), "--set", "data.stream=false")
    assert streamed.exit_code == 0 and in_memory.exit_code == 0
    assert "streamed from disk" in " ".join(streamed.output.split())
    assert "streamed from disk" not in " ".join(in_memory.output.split())


def test_eject_of_a_streamed_config_makes_the_streamed_split(write_config):
    # the ejected script's data and split code, run here, picks the rows the streamed run picks
    write_rows(write_config().parent)
    path = write_config(STREAMED)
    result = invoke("eject", path)
    assert result.exit_code == 0, result.output
    script = result.stdout
    start, end = script.index("# What x and y are"), script.index("# Normalise")
    names = {"np": np, "SEED": 3}
    exec(script[start:end], names)
    split = prepare(load_config(path)).stream.split
    assert np.array_equal(names["test"], np.flatnonzero(split == streaming.TEST))
    assert np.array_equal(names["validation"], np.flatnonzero(split == streaming.VALIDATION))
    assert np.array_equal(names["rest"], np.flatnonzero(split == streaming.TRAIN))
