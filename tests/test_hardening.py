"""Hostile inputs, damaged runs and bad timing: a clear exit-2 message (or a clean ending), never a
traceback, never a lost or poisoned run. Each test runs the real CLI."""

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nnlearn.runs.rundir import RunDir
from tests.conftest import LINEAR_REGRESSION, ROOT, TINY, ctrl_c_as_a_terminal_leaves_it, flat, invoke


def refused(result, *fragments):
    """Exit 2, no traceback, and every fragment (file, field, fix) in the message."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output, result.output
    for fragment in fragments:
        assert fragment in flat(result), (fragment, result.output)


# ---------------------------------------------------------------- YAML that cannot be read


@pytest.mark.parametrize("text", [
    "name: " + "[" * 500 + "]" * 500 + "\n",
    "".join(" " * depth + f"k{depth}:\n" for depth in range(1000)) + " " * 1000 + "v: 1\n",
], ids=["500 nested lists", "1000 nested mappings"])
@pytest.mark.parametrize("command", ["validate", "train", "explain", "config show"])
def test_deeply_nested_yaml_is_refused_with_its_line(write_config, text, command):
    path = write_config(text)
    result = invoke(*command.split(), path)
    refused(result, "line 1" if text.startswith("name") else "line 51")
    assert "nested more than 50 levels" in flat(result)


def test_a_null_byte_is_located_without_pyyaml_internals(write_config):
    path = write_config("name: tiny\nseed: 0\x00\n")
    result = invoke("validate", path)
    refused(result, "line 2, column 8")
    assert "null byte" in flat(result) and "<unicode string>" not in result.output


# ---------------------------------------------------------------- paths and unbounded reads


def test_a_home_folder_of_no_user_is_a_clear_error(write_config):
    path = write_config(TINY)
    result = invoke("validate", path, "--set", "data.source=~nosuchuser_nnlearn/x.csv", "--set", "data.target=y")
    refused(result, "data.source")
    assert "no such user" in flat(result)


def test_a_folder_named_like_a_data_file_is_refused(write_config):
    path = write_config(TINY)
    (path.parent / "d.csv").mkdir()
    for command in ("validate", "train", "explain"):
        result = invoke(command, path, "--set", "data.source=d.csv", "--set", "data.target=y")
        refused(result, "d.csv")
        assert "is a folder, not a file" in flat(result)


@pytest.mark.parametrize("make, fragment", [
    (lambda folder: "a" * 300 + ".csv", "File name too long"),
    (lambda folder: (os.symlink("b.csv", folder / "a.csv"), os.symlink("a.csv", folder / "b.csv"), "a.csv")[-1],
     "a loop of symbolic links"),
])
def test_impossible_data_paths_are_clear_errors(write_config, make, fragment):
    path = write_config(TINY)
    source = make(path.parent)
    result = invoke("validate", path, "--set", f"data.source={source}", "--set", "data.target=y")
    refused(result, "data.source", fragment, "fix:")
    result = invoke("explain", path, "--set", f"data.source={source}", "--set", "data.target=y")
    refused(result, fragment)


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_a_pipe_or_device_as_the_config_is_refused_at_once(workdir, special):
    path = special
    if special == "fifo":
        path = workdir / "config.yaml"
        os.mkfifo(path)
    # a subprocess with a timeout: a read that blocked or never ended would fail the test, not hang it
    result = subprocess.run([sys.executable, "-m", "nnlearn", "validate", str(path)], capture_output=True,
                            text=True, timeout=240, cwd=workdir, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout
    assert "not a regular file" in " ".join(result.stdout.split())


def test_a_pipe_as_the_data_file_is_refused(write_config):
    path = write_config(TINY)
    os.mkfifo(path.parent / "table.csv")
    result = invoke("validate", path, "--set", "data.source=table.csv", "--set", "data.target=y")
    refused(result, "table.csv")
    assert "not a regular file" in flat(result)


def test_the_size_limit_bounds_what_is_read(write_config, monkeypatch):
    import nnlearn.data.dataset

    monkeypatch.setattr(nnlearn.data.dataset, "MAX_CSV_BYTES", 100)
    path = write_config(TINY)
    (path.parent / "table.csv").write_text("a,y\n" + "1,0\n2,1\n" * 50)
    result = invoke("validate", path, "--set", "data.source=table.csv", "--set", "data.target=y")
    refused(result, "table.csv")
    assert "reads at most 100" in flat(result)


# ---------------------------------------------------------------- NPZ files


def _zip_that_is_corrupt(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04" + b"\x00garbage" * 20)


NPZ_CASES = {
    "0-d x": (lambda path: np.savez(path, x=np.array(5.0), y=np.array([1])), "shape ()"),
    "empty x": (lambda path: np.savez(path, x=np.zeros((0, 3)), y=np.zeros(0)), "is empty"),
    "empty y": (lambda path: np.savez(path, x=np.ones((5, 2)), y=np.zeros(0)), "y has 0"),
    "2-D text y": (lambda path: np.savez(path, x=np.ones((4, 2)), y=np.array([["a", "b"]] * 4)), "one column"),
    "3-D y": (lambda path: np.savez(path, x=np.ones((4, 2)), y=np.ones((4, 2, 2))), "shape (4, 2, 2)"),
    "complex x": (lambda path: np.savez(path, x=np.ones((4, 2)) * 1j, y=np.arange(4)), "complex128"),
    "no y": (lambda path: np.savez(path, x=np.ones((4, 2))), "named x and y"),
    "corrupt zip": (_zip_that_is_corrupt, "cannot read bad.npz as NPZ"),
    "not a zip": (lambda path: path.write_bytes(b"hello"), "cannot read bad.npz as NPZ"),
    "object array": (lambda path: np.savez(path, x=np.array([[1], [2]], dtype=object), y=np.arange(2)),
                     "cannot read bad.npz as NPZ"),
}


@pytest.mark.parametrize("case", list(NPZ_CASES))
@pytest.mark.parametrize("command", ["validate", "train"])
def test_every_npz_problem_is_one_clear_message(write_config, case, command):
    make, fragment = NPZ_CASES[case]
    path = write_config(TINY)
    make(path.parent / "bad.npz")
    result = invoke(command, path, "--set", "data.source=bad.npz")
    refused(result, "data.source")
    assert fragment in flat(result)


# ---------------------------------------------------------------- sizes that cannot fit in memory


def test_a_synthetic_dataset_too_big_for_memory_is_refused_with_the_numbers(write_config, monkeypatch):
    import nnlearn.data.dataset

    monkeypatch.setattr(nnlearn.data.dataset, "available_memory", lambda: 8 * 1024**3)
    path = write_config(TINY)
    result = invoke("validate", path, "--set", "data.source=blobs", "--set", "data.n_samples=1000000",
                    "--set", "data.n_features=10000")
    refused(result, "data.n_samples")
    text = flat(result)
    assert "GiB of memory" in text and "8.0 GiB free" in text and "lower n_samples or n_features" in text


def test_a_model_too_big_for_memory_is_refused_with_the_numbers(write_config, monkeypatch):
    import nnlearn.data.dataset

    monkeypatch.setattr(nnlearn.data.dataset, "available_memory", lambda: 8 * 1024**3)
    huge = "{type: dense, units: 100000}"
    layers = f"model.layers=[{huge}, {huge}, {{type: dense, units: 3}}]"
    result = invoke("validate", write_config(TINY), "--set", layers)
    refused(result, "model.layers", "10,000,900,003 parameters", "GiB of memory", "use fewer units")


def test_a_dataset_that_ignores_n_features_is_sized_without_it(write_config, monkeypatch):
    import nnlearn.data.dataset

    monkeypatch.setattr(nnlearn.data.dataset, "available_memory", lambda: 8 * 1024**3)
    result = invoke("validate", write_config(TINY), "--set", "data.source=moons", "--set", "data.n_samples=100000",
                    "--set", "data.n_features=10000", "--set", "model.layers[1].units=2")
    assert "of memory" not in result.output and result.exit_code == 0, result.output


# ---------------------------------------------------------------- strict types


@pytest.mark.parametrize("override, field, fragment", [
    ("model.layers[0].units=yes", "model.layers[0].units", "boolean True, not a number"),
    ("model.layers[0].units=true", "model.layers[0].units", "boolean True, not a number"),
    ("fit.epochs=true", "fit.epochs", "boolean True, not a number"),
    ("compile.from_logits=0", "compile.from_logits", "true or false, not a number"),
    ("model.layers[0].units=25.0", "model.layers[0].units", "not a decimal"),
    ("seed='7'", "seed", "not text"),
    ("compile.optimizer.learning_rate=true", "compile.optimizer.learning_rate", "not a number"),
])
def test_types_are_strict(write_config, override, field, fragment):
    result = invoke("validate", write_config(TINY), "--set", override)
    refused(result, field)
    assert fragment in flat(result)


def test_strict_types_in_the_file_have_line_and_fix(write_config):
    result = invoke("validate", write_config("""\
        data: {source: iris}
        model:
          layers:
            - {type: dense, units: yes}
        compile: {loss: sparse_categorical_crossentropy, from_logits: 0}
        """))
    refused(result, "model.layers[0].units (line 4", "compile.from_logits (line 5")
    assert "write a whole number, e.g. units: 8" in flat(result)
    assert "write from_logits: true or from_logits: false" in flat(result)


@pytest.mark.parametrize("override, fragments", [
    ("name=" + "[" * 1000 + "]" * 1000, ["name", "nested more than 50 levels", "(from --set)"]),
    ("fit.epochs=!!python/object/apply:os.system [ls]", ["fit.epochs", "is not allowed", "remove the tag"]),
    ("name=yes", ["name", "boolean True, not as text", """quote it: --set 'name="yes"'"""]),
    ("data.target=1", ["data.target", "received the number 1", """quote it: --set 'data.target="1"'"""]),
])
def test_set_values_have_the_files_limits(write_config, override, fragments):
    result = invoke("validate", write_config(TINY), "--set", override)
    refused(result, *fragments)


def test_set_values_and_yaml_exponents_still_work(write_config):
    result = invoke("validate", write_config(TINY), "--set", "fit.epochs=3", "--set", "seed=7",
                    "--set", "compile.optimizer.learning_rate=1e-3", "--set", "data.validation_split=0")
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- messages that mislead


@pytest.mark.parametrize("content, fragments", [
    ("a,b,label\n1,2,0\n3,,1\n5,6,0\n", ["line 3: feature 'b' is empty", "fill in or drop those rows"]),
    ("a,b,label\n1,2,0\n3,4,\n5,6,1\n", ["line 3: the target 'label' is empty", "fill in or drop those rows"]),
])
def test_empty_csv_cells_are_missing_values(write_config, content, fragments):
    path = write_config(TINY)
    (path.parent / "table.csv").write_text(content)
    result = invoke("validate", path, "--set", "data.source=table.csv", "--set", "data.target=label")
    refused(result)
    for fragment in fragments:
        assert fragment in flat(result)


def test_a_one_row_csv_says_how_many_rows_are_needed(write_config):
    path = write_config(LINEAR_REGRESSION)
    (path.parent / "one.csv").write_text("a,y\n1,1.5\n")
    result = invoke("validate", path, "--set", "data.source=one.csv", "--set", "data.target=y")
    refused(result, "data")
    text = flat(result)
    assert "the data has 1 row;" in text and "leave 0 to train on" in text and "leave -1" not in text
    assert "at least 4 rows" in text


# ---------------------------------------------------------------- files the user shares


def test_run_files_follow_the_umask(workdir):
    from nnlearn.runs.rundir import create_run_dir, write_atomic

    previous = os.umask(0o022)
    try:
        run_dir = create_run_dir("perm", "runs/perm", files={"run.json": "{}\n"})
        write_atomic(run_dir / "report.html", "<html></html>")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o755
    assert stat.S_IMODE((run_dir / "run.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((run_dir / "report.html").stat().st_mode) == 0o644


def _model_file(path: Path, node: dict) -> Path:
    config = {"class_name": "Sequential", "module": "keras", "config": {"layers": [node]}}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
    return path


@pytest.mark.parametrize("node, fragment", [
    ({"class_name": "__lambda__", "config": {"code": "print"}}, "a lambda function"),
    ({"class_name": "Evil", "module": None, "config": {}}, "Evil with no module"),
    ({"class_name": "Dense", "module": "keras_evil.layers", "config": {}}, "keras_evil.layers.Dense"),
    ({"class_name": "Lambda", "module": "keras.layers", "config": {}}, "a Lambda layer"),
])
def test_unsafe_model_files_are_named_in_a_short_message(tmp_path, node, fragment):
    from nnlearn.errors import RunError
    from nnlearn.model.saved_model import check_model_is_safe

    with pytest.raises(RunError) as caught:
        check_model_is_safe(_model_file(tmp_path / "model.keras", node))
    assert fragment in str(caught.value) and len(str(caught.value)) < 400


# ---------------------------------------------------------------- damaged or edited runs


@pytest.fixture
def stopped_run(write_config):
    """A run stopped after its first epoch, made without TensorFlow: its starting files as `train`
    writes them, and a one-epoch checkpoint."""
    from nnlearn.config.loading import load_config
    from nnlearn.model.prepare import prepare
    from nnlearn.runs.checkpoint import save_checkpoint
    from nnlearn.training.train import start_run_dir

    path = write_config(TINY)
    prepared = prepare(load_config(path), path.parent)
    run_dir = start_run_dir(prepared, "runs/stopped").path
    save_checkpoint(RunDir.open(run_dir), {"model_0": np.zeros((4, 8), np.float32)}, [{"loss": 1.0}])
    record = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**record, "status": "interrupted", "epochs": 1}))
    return run_dir


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:300])


def _flip_a_bit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))


def _edit_json(path: Path, change) -> None:
    value = json.loads(path.read_text())
    path.write_text(json.dumps(change(value)))


def _drop_key(key):
    return lambda value: {name: item for name, item in value.items() if name != key}


def _short_normaliser(value):
    value["normalizer"]["offset"] = value["normalizer"]["offset"][:2]
    return value


DAMAGE = {
    "zero-byte checkpoint": ("checkpoint/checkpoint.npz", lambda path: path.write_bytes(b""), "checkpoint.npz"),
    "truncated checkpoint": ("checkpoint/checkpoint.npz", _truncate, "checkpoint.npz"),
    "bit-flipped checkpoint": ("checkpoint/checkpoint.npz", _flip_a_bit, "checkpoint.npz"),
    "non-zip checkpoint": ("checkpoint/checkpoint.npz", lambda path: path.write_text("hello"), "checkpoint.npz"),
    "run.json a list": ("run.json", lambda path: path.write_text("[1, 2]"), "run.json"),
    "run.json not JSON": ("run.json", lambda path: path.write_text("{status: "), "run.json"),
    "preprocessing.json without feature_names": (
        "preprocessing.json", lambda path: _edit_json(path, _drop_key("feature_names")), "feature_names"),
    "normaliser of the wrong length": (
        "preprocessing.json", lambda path: _edit_json(path, _short_normaliser), "normalizer.offset has 2 values"),
    "preprocessing.json a string": ("preprocessing.json", lambda path: path.write_text('"x"'),
                                    "preprocessing.json"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_run_is_refused_on_resume(stopped_run, case):
    name, damage, fragment = DAMAGE[case]
    damage(stopped_run / name)
    result = invoke("train", "--resume", stopped_run)
    refused(result, fragment)
    text = flat(result)
    assert "damaged" in text and "fix:" in text


@pytest.mark.parametrize("old, new, named", [
    ("seed: 0", "seed: 7", "seed: 0 → 7"),
    ("units: 8", "units: 16", "model.layers[0].units: 8 → 16"),
    ("type: adam", "type: sgd", "compile.optimizer.type: adam → sgd"),
    ("learning_rate: 0.05", "learning_rate: 0.5", "compile.optimizer.learning_rate: 0.05 → 0.5"),
    ("epochs: 3", "epochs: 30", "fit.epochs: 3 → 30"),
])
def test_an_edited_config_is_not_resumed(stopped_run, old, new, named):
    config = stopped_run / "config.yaml"
    text = config.read_text()
    assert text.count(old) == 1
    config.write_text(text.replace(old, new))
    result = invoke("train", "--resume", stopped_run)
    refused(result, "config.yaml")
    text = flat(result)
    assert named in text and "changed since the run started" in text and "--out NEW_DIR" in text


def test_a_field_added_to_nnlearn_since_the_run_started_is_no_change(stopped_run):
    from nnlearn.config.loading import load_config
    from nnlearn.runs.saved_run import config_changes

    # as if the run had started before nnlearn knew fit.tensorboard: its record lacks the key
    _edit_json(stopped_run / "run.json", lambda value: {**value, "config": {
        **value["config"], "fit": {key: item for key, item in value["config"]["fit"].items() if key != "tensorboard"}}})
    config = load_config(stopped_run / "config.yaml")
    assert config_changes(RunDir.open(stopped_run), config) == []
    config.seed = 5
    assert config_changes(RunDir.open(stopped_run), config) == ["seed: 0 → 5"]


def test_eval_warns_when_the_config_was_edited_after_training(stopped_run):
    from nnlearn.runs.saved_run import prepare_saved_run

    config = stopped_run / "config.yaml"
    config.write_text(config.read_text().replace("seed: 0", "seed: 7"))
    _, warnings = prepare_saved_run(RunDir.open(stopped_run))
    assert any("seed: 0 → 7" in warning and "not be the run's own" in warning for warning in warnings)


def test_changed_data_is_not_resumed(write_config):
    from nnlearn.config.loading import load_config
    from nnlearn.model.prepare import prepare
    from nnlearn.training.train import start_run_dir

    path = write_config(LINEAR_REGRESSION)
    (path.parent / "table.csv").write_text("a,y\n" + "".join(f"{i},{i * 1.5}\n" for i in range(30)))
    prepared = prepare(load_config(path, ["data.source=table.csv", "data.target=y"]), path.parent)
    run_dir = start_run_dir(prepared, "runs/reg").path
    (path.parent / "table.csv").write_text("a,y\n" + "".join(f"{i},{i * 2.5}\n" for i in range(30)))
    result = invoke("train", "--resume", run_dir)
    refused(result, "table.csv")
    assert "changed since" in flat(result)


def test_runs_reports_a_run_that_never_started(stopped_run):
    # killed while TensorFlow loaded: status starting, and a process id above Linux's maximum
    _edit_json(stopped_run / "run.json", lambda value: {**value, "status": "starting", "pid": 2**22 + 17})
    result = invoke("runs", "runs")
    assert result.exit_code == 0 and "never started" in result.output


def test_runs_and_compare_survive_edited_run_files(stopped_run):
    (stopped_run / "run.json").write_text('{"status": 5, "epochs": "x", "started": [1], "pid": "no"}')
    (stopped_run / "metrics.json").write_text('{"test": [1, 2], "train": {"accuracy": "high"}}')
    listed = invoke("runs", "runs", "--json")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)["runs"][0]["status"] == "unknown"
    compared = invoke("compare", stopped_run, stopped_run)
    assert compared.exit_code == 0 and "Traceback" not in compared.output, compared.output


def test_compare_refuses_an_existing_html_file_before_showing_anything(stopped_run, workdir):
    (workdir / "mine.html").write_text("keep me")
    compared = invoke("compare", stopped_run, stopped_run, "--html", "mine.html")
    assert compared.exit_code == 2 and "mine.html already exists" in compared.output
    assert compared.output.lstrip().startswith("error"), compared.output  # no table printed before it
    assert (workdir / "mine.html").read_text() == "keep me"


def test_resume_with_settings_gives_a_command_that_works(stopped_run):
    from nnlearn.runs.rundir import RunDir

    stopped = " ".join(invoke("train", "--resume", stopped_run, "--set", "fit.epochs=9").output.split())
    assert f"continue it: nnlearn train --resume {stopped_run};" in stopped
    RunDir(stopped_run).model_file.write_bytes(b"")  # what a finished run has: its saved model
    finished = invoke("train", "--resume", stopped_run, "--set", "fit.epochs=9")
    advice = " ".join(finished.output.split())
    assert finished.exit_code == 2 and "nnlearn train --resume" not in advice.split("fix:")[1]
    assert f"nnlearn train --from {stopped_run} --weights --set fit.epochs=N" in advice


# ---------------------------------------------------------------- predict --input


@pytest.fixture
def predictable_run(stopped_run):
    (stopped_run / "model.keras").write_bytes(b"not read: the input is refused first")
    return stopped_run


@pytest.mark.parametrize("name, make, fragment", [
    ("in.npz", lambda path: np.savez(path, x=np.array(5.0)), "shape ()"),
    ("in.npz", lambda path: np.savez(path, x=np.ones((3, 4)) * 1j), "complex128"),
    ("in.npz", lambda path: np.savez(path, x=np.zeros((0, 4))), "is empty"),
    ("in.npz", _zip_that_is_corrupt, "cannot read in.npz as NPZ"),
    ("in.csv", lambda path: os.mkfifo(path), "not a regular file"),
    ("in.csv", lambda path: path.mkdir(), "is a folder"),
])
def test_predict_refuses_hostile_inputs(predictable_run, name, make, fragment):
    path = predictable_run.parent.parent / name
    make(path)
    result = invoke("predict", predictable_run, "--input", path)
    refused(result, "--input")
    assert fragment in flat(result)


# ---------------------------------------------------------------- bad timing (TensorFlow)


def _train_command(*args) -> list[str]:
    return [sys.executable, "-m", "nnlearn", "train", *map(str, args), "--no-plots", "-q"]


def _environment() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.mark.tensorflow
def test_a_full_disk_leaves_run_json_saying_failed_and_names_the_file(write_config, monkeypatch):
    from nnlearn.runs.rundir import RunDir

    def full_disk(run_dir, content):
        raise OSError(28, "No space left on device", str(run_dir.checkpoint_file))

    monkeypatch.setattr(RunDir, "write_checkpoint", full_disk)
    result = invoke("train", write_config(TINY), "--out", "runs/full", "--no-plots", "--set", "fit.epochs=1")
    refused(result, "checkpoint.npz", "No space left on device")
    assert json.loads(Path("runs/full/run.json").read_text())["status"] == "failed"


@pytest.mark.tensorflow
def test_an_old_run_edited_to_another_architecture_is_a_short_error(stopped_run):
    # a run saved before fingerprints: the checkpoint itself must not fit the edited model
    _edit_json(stopped_run / "run.json", lambda value: {key: item for key, item in value.items()
                                                        if key not in ("config", "config_sha256")})
    result = invoke("train", "--resume", stopped_run, "--no-plots")
    refused(result, "does not fit the model", "--out NEW_DIR")
    assert len(result.output) < 1500


def test_ctrl_c_as_the_run_folder_appears_leaves_it_interrupted_and_resumable(write_config, monkeypatch):
    """The press held back while the folder is made and named (train.py's _interrupts_wait) ends the command
    there, before TensorFlow: exit 130, run.json "interrupted", the resume named."""
    import contextlib

    from nnlearn.training import train

    monkeypatch.setattr(train, "_interrupts_wait", lambda: contextlib.nullcontext([signal.SIGINT]))
    result = invoke("train", write_config(TINY), "--out", "runs/pressed", "--no-plots")
    assert result.exit_code == 130, result.output
    assert "nnlearn train --resume runs/pressed" in " ".join(result.output.split())
    assert json.loads(Path("runs/pressed/run.json").read_text())["status"] == "interrupted"


@pytest.mark.tensorflow  # its subprocesses import TensorFlow
@pytest.mark.slow
def test_ctrl_c_during_start_up_a_double_ctrl_c_and_sigterm_leave_resumable_runs(write_config):
    path = write_config(TINY)
    # start-up: run.json appears before TensorFlow is imported; the double press comes mid-training
    for name, presses, ready, epochs, code in (("startup", [signal.SIGINT], "run.json", 3, 130),
                                               ("double", [signal.SIGINT] * 2, "checkpoint/checkpoint.npz", 5000, 130),
                                               ("term", [signal.SIGTERM], "checkpoint/checkpoint.npz", 5000, 143)):
        process = subprocess.Popen(_train_command(path, "--out", f"runs/{name}", "--set", f"fit.epochs={epochs}"),
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   env=_environment(), preexec_fn=ctrl_c_as_a_terminal_leaves_it)
        watchdog = threading.Timer(120, process.kill)
        watchdog.start()
        while not Path(f"runs/{name}/{ready}").exists() and process.poll() is None:
            time.sleep(0.01)
        for number in presses:
            process.send_signal(number)
            time.sleep(0.002)
        output, _ = process.communicate()
        watchdog.cancel()
        assert process.returncode == code and "Traceback" not in output, output
        assert f"nnlearn train --resume runs/{name}" in " ".join(output.split()), output
        assert json.loads(Path(f"runs/{name}/run.json").read_text())["status"] == "interrupted"
    resumed = subprocess.run([sys.executable, "-m", "nnlearn", "train", "--resume", "runs/startup", "--no-plots",
                              "-q"], capture_output=True, text=True, env=_environment(), timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert json.loads(Path("runs/startup/run.json").read_text())["status"] == "finished"
    assert len(Path("runs/startup/history.csv").read_text().splitlines()) == 1 + 3
