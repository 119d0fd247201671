import json
import re
import shutil
import subprocess
import sys

import pytest

from nnlearn.config.loading import load_config
from nnlearn.model.prepare import prepare
from nnlearn.teaching.gradcheck import gradcheck, relative_error
from nnlearn.training.train import train
from tests.conftest import CONFIGS, TINY, edited, invoke


@pytest.mark.tensorflow
@pytest.mark.slow
@pytest.mark.parametrize("name", ["softmax_digits", "moons_mlp", "coffee_roasting", "mlp_regression"])
def test_ejected_shipped_config_gives_nnlearns_numbers(name, workdir):
    """Exactly nnlearn's numbers, over the first 10 epochs: every epoch is trained by the same code, so more
    epochs would only take longer. Ejected and run in a checkout's folder named nnlearn (a clone's name), so
    the script's paths may hold the word without it being an import."""
    checkout = workdir / "nnlearn"
    for folder in ("configs", "data"):
        shutil.copytree(CONFIGS.parent / folder, checkout / folder)
    script = checkout / f"{name}.py"
    result = invoke("eject", checkout / "configs" / f"{name}.yaml", "--set", "fit.epochs=10", "-o", script)
    assert result.exit_code == 0, result.output
    text = script.read_text()
    assert "keras.Sequential([" in text and "model.compile(" in text and "model.fit(" in text
    assert not re.search(r"^\s*(import|from)\s+nnlearn\b", text, re.M)  # plain Keras only
    ran = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=checkout)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stderr == ""  # no TensorFlow start-up lines, no Keras warning
    ejected = {line.split(":")[0][len("test "):]: float(line.split(":")[1]) for line in ran.stdout.splitlines()
               if line.startswith("test ")}
    ours = train(CONFIGS / f"{name}.yaml", ["fit.epochs=10"]).metrics["test"]
    assert "loss" in ejected
    assert ejected == {metric: pytest.approx(ours[metric], rel=1e-6, abs=1e-6) for metric in ejected}


def test_eject_prints_and_refuses_to_overwrite(write_config, workdir):
    path = write_config()
    printed = invoke("eject", path)
    assert printed.exit_code == 0 and "datasets.load_iris()" in printed.stdout
    compile(printed.stdout, "ejected.py", "exec")  # valid Python
    (workdir / "mine.py").write_text("keep me")
    refused = invoke("eject", path, "-o", "mine.py")
    assert refused.exit_code == 2 and (workdir / "mine.py").read_text() == "keep me"


@pytest.mark.tensorflow
@pytest.mark.parametrize("source", ["xor", "circles", "blobs"])
def test_ejected_data_equals_nnlearns_data(source, write_config, workdir):
    """The ejected script's x (after split and normalisation) is exactly nnlearn's."""
    import numpy as np

    text = edited(TINY, ("source: iris", f"source: {source}\n  n_samples: 120"))
    units = 3 if source == "blobs" else 2
    path = write_config(edited(text, ("units: 3", f"units: {units}")))
    script = invoke("eject", path).stdout
    head = script.split("# Step 1")[0]
    namespace: dict = {}
    exec(compile(head, "ejected", "exec"), namespace)
    prepared = prepare(load_config(path), workdir)
    assert np.array_equal(namespace["x"][namespace["test"]], prepared.x("test"))
    assert np.array_equal(namespace["x"][namespace["rest"]], prepared.x("train"))


@pytest.mark.tensorflow
@pytest.mark.slow
def test_gradcheck_agrees_on_shipped_configs():
    for name in ("softmax_digits", "cnn_digits", "mlp_regression"):
        result = gradcheck(prepare(load_config(CONFIGS / f"{name}.yaml"), CONFIGS), max_checked=10)
        assert result.passed, [check.to_json() for check in result.tensors]
        assert result.total_params == sum(check.params for check in result.tensors)
        assert result.forward_evaluations == 2 * sum(check.checked + check.kinks_skipped
                                                     for check in result.tensors)


def test_relative_error():
    import numpy as np

    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert relative_error(np.array([1.0]), np.array([-1.0])) == 1.0


@pytest.mark.tensorflow
def test_gradcheck_command_json(write_config):
    result = invoke("gradcheck", str(write_config()), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["passed"] and data["finite_difference_evaluations_for_all_params"] == 2 * data["total_params"]
    assert all(entry["relative_error"] < 1e-4 for entry in data["tensors"])


@pytest.mark.tensorflow
def test_gradcheck_exits_1_when_an_error_exceeds_the_tolerance(write_config, monkeypatch):
    import nnlearn.teaching.gradcheck as module

    monkeypatch.setattr(module, "TOLERANCE", 0.0)  # float64 rounding alone now counts as a mismatch
    result = invoke("gradcheck", str(write_config()), "--json")
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["passed"] is False


POOLED_SIGNAL = """\
name: pooled
seed: 0
data: {source: linear, n_samples: 60, n_features: 16}
model:
  layers:
    - {type: conv1d, filters: 4, kernel_size: 3, activation: linear}
    - {type: max_pooling1d, pool_size: 2}
    - {type: flatten}
    - {type: dense, units: 1}
compile: {loss: mean_squared_error}
"""


@pytest.mark.tensorflow
def test_gradcheck_skips_the_kinks_of_1d_max_pooling(write_config, monkeypatch):
    import nnlearn.teaching.gradcheck as module

    # Linear layers and a squared error make J quadratic in each weight between two kinks, where central
    # differences are exact even with a large step; a step of 0.01 makes many nudges change which step a
    # pooling window picks, and each of those must be skipped, not compared.
    monkeypatch.setattr(module, "EPSILON", 0.01)
    result = gradcheck(prepare(load_config(write_config(POOLED_SIGNAL))), max_checked=40)
    kernel = next(check for check in result.tensors if check.layer.startswith("conv1d") and check.tensor == "kernel")
    assert kernel.kinks_skipped > 0 and kernel.checked > 0
    assert result.passed, [check.to_json() for check in result.tensors]


def _run_head(text: str, script, folder):
    """Run the ejected script's data part (up to Step 1) as if it were `script`, from `folder`."""
    namespace = {"__file__": str(script)}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        exec(compile(text.split("# Step 1")[0], str(script), "exec"), namespace)
    return namespace


@pytest.mark.tensorflow
def test_ejected_script_finds_its_data_from_its_own_folder(workdir):
    """Written beside its data, the script finds it from its own folder: the folder can move and be run
    from anywhere. Printed, the path is relative to the folder it was ejected in; from elsewhere, full."""
    import shutil

    import numpy as np

    project = workdir / "project"
    (project / "data").mkdir(parents=True)
    (project / "configs").mkdir()
    shutil.copy(CONFIGS.parent / "data" / "coffee_roasting.csv", project / "data" / "coffee.csv")
    config = project / "configs" / "coffee.yaml"
    config.write_text(edited((CONFIGS / "coffee_roasting.yaml").read_text(),
                             ("../data/coffee_roasting.csv", "../data/coffee.csv")))
    assert invoke("eject", config, "-o", "project/coffee.py").exit_code == 0
    text = (project / "coffee.py").read_text()
    assert "FILE = 'data/coffee.csv'" in text and "HERE = Path(__file__).resolve().parent if" in text
    assert str(workdir) not in text
    expected = prepare(load_config(config), config.parent).x("test")
    moved = shutil.move(project, workdir / "elsewhere" / "shared")
    (workdir / "other").mkdir()
    namespace = _run_head(text, moved / "coffee.py", workdir / "other")
    assert np.array_equal(namespace["x"][namespace["test"]], expected)

    printed = invoke("eject", moved / "configs" / "coffee.yaml").stdout
    assert "FILE = 'elsewhere/shared/data/coffee.csv'" in printed
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(workdir / "other")
        outside = invoke("eject", moved / "configs" / "coffee.yaml").stdout
    assert f"FILE = {str(moved / 'data' / 'coffee.csv')!r}" in outside and "change this path" in outside


@pytest.mark.tensorflow
def test_ejected_script_in_another_folder_finds_its_data_or_says_where_it_looked(workdir):
    """Ejected into another folder, the path is relative to the folder it was ejected in: run from there it
    finds the data, and from its own folder too once the data is copied beside it; else one clear line."""
    import shutil

    import numpy as np

    (workdir / "data").mkdir()
    shutil.copy(CONFIGS.parent / "data" / "coffee_roasting.csv", workdir / "data" / "coffee.csv")
    config = workdir / "coffee.yaml"
    config.write_text(edited((CONFIGS / "coffee_roasting.yaml").read_text(),
                             ("../data/coffee_roasting.csv", "data/coffee.csv")))
    (workdir / "out").mkdir()
    assert invoke("eject", config, "-o", "out/coffee.py").exit_code == 0
    script = workdir / "out" / "coffee.py"
    text = script.read_text()
    expected = prepare(load_config(config), workdir).x("test")
    namespace = _run_head(text, script, workdir)
    assert np.array_equal(namespace["x"][namespace["test"]], expected)
    with pytest.raises(SystemExit) as missing:
        _run_head(text, script, script.parent)
    message = str(missing.value)
    assert "\n" not in message and str(script.parent) in message and "data/coffee.csv" in message
    assert "run it from the folder that holds data/coffee.csv" in message
    shutil.copytree(workdir / "data", script.parent / "data")
    namespace = _run_head(text, script, script.parent)
    assert np.array_equal(namespace["x"][namespace["test"]], expected)


REGRESSION_WITH_DROPOUT = """\
name: tiny-regression
seed: 3
data: {source: diabetes, test_split: 0.2, validation_split: 0.1}
model:
  layers:
    - {type: dense, units: 8, activation: relu}
    - {type: dropout, rate: 0.2}
    - {type: dense, units: 4, activation: relu}
    - {type: dense, units: 1}
compile: {loss: mean_squared_error, optimizer: {type: adam, learning_rate: 0.05}, metrics: [mae, r2]}
fit: {epochs: 3, batch_size: 32}
"""


@pytest.mark.tensorflow
def test_ejected_script_runs_quietly_with_nnlearns_numbers(write_config, workdir):
    """Nothing on stderr (no TensorFlow start-up lines, no Keras warning about shuffle), and every test
    metric equal to nnlearn's run: the same data, initial weights (a Dropout's seed included) and batches.
    (The slow suite does the same for four shipped configs, classifiers among them.)"""
    path = write_config(REGRESSION_WITH_DROPOUT)
    script = workdir / "tiny.py"
    assert invoke("eject", path, "-o", script).exit_code == 0
    ran = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=workdir)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stderr == ""
    ejected = {line.split(":")[0][len("test "):]: float(line.split(":")[1]) for line in ran.stdout.splitlines()
               if line.startswith("test ")}
    ours = train(path).metrics["test"]
    assert ejected.keys() <= ours.keys() and "loss" in ejected
    assert ejected == {metric: pytest.approx(ours[metric], rel=1e-6, abs=1e-6) for metric in ejected}
