"""kernel_regularizer: in the schema, in the model (Keras' own L1L2), in explain, eject and lint."""

import json

import pytest

from nnlearn.config.loading import config_from_text, load_config
from nnlearn.errors import ConfigError
from nnlearn.model.prepare import prepare
from nnlearn.runs.rundir import RunDir
from nnlearn.teaching.explain import explain_prepared
from tests.conftest import CONFIGS, TINY, edited, invoke

REGULARIZED = ["model.layers[0].kernel_regularizer.l2=0.01"]


def test_schema_accepts_l1_and_l2_and_rejects_a_typo_or_a_negative_value():
    config = config_from_text(edited(TINY, ("units: 8, activation: relu}",
                                            "units: 8, activation: relu, kernel_regularizer: {l2: 0.01}}")))
    assert config.model.layers[0].kernel_regularizer.l2 == 0.01
    assert config.model.layers[0].kernel_regularizer.l1 == 0.0
    with pytest.raises(ConfigError) as typo:
        config_from_text(edited(TINY, ("units: 8, activation: relu}",
                                       "units: 8, activation: relu, kernel_regularizer: {l3: 0.01}}")))
    assert typo.value.problems[0].path == "model.layers[0].kernel_regularizer.l3"
    assert "expected one of: l1, l2" in typo.value.problems[0].message
    with pytest.raises(ConfigError) as negative:
        config_from_text(edited(TINY, ("units: 8, activation: relu}",
                                       "units: 8, activation: relu, kernel_regularizer: {l2: -1}}")))
    assert negative.value.problems[0].path == "model.layers[0].kernel_regularizer.l2"


def test_explain_names_the_extra_term_and_the_courses_lambda(write_config):
    path = write_config(TINY)
    prepared = prepare(load_config(path, REGULARIZED), path.parent)
    explanation = explain_prepared(prepared)
    m = len(prepared.splits.train.y)
    assert "0.01·Σw²" in explanation.layers[0].meaning and "Σw²" not in explanation.layers[1].meaning
    assert "λ/2m" in explanation.output
    assert f"λ = 2m·l2 = {2 * m * 0.01:.4g}" in explanation.output  # hand arithmetic: λ = 2·m·l2
    assert explanation.warnings == []
    plain = explain_prepared(prepare(load_config(path), path.parent))
    assert "λ" not in plain.output


def test_lint_warns_when_lambda_collapses_the_weights(write_config):
    path = write_config(TINY)
    result = invoke("validate", path, "--set", "model.layers[0].kernel_regularizer.l2=5", "--json")
    warnings = json.loads(result.stdout)["files"][0]["warnings"]
    assert result.exit_code == 0
    assert [w["path"] for w in warnings] == ["model.layers[0].kernel_regularizer.l2"]
    assert "underfits" in warnings[0]["message"]
    small = invoke("validate", path, "--set", "model.layers[0].kernel_regularizer.l2=0.001", "--json")
    assert json.loads(small.stdout)["files"][0]["warnings"] == []


def test_eject_writes_keras_own_regularizer(write_config):
    result = invoke("eject", str(write_config(TINY)), "--set", *REGULARIZED)
    assert result.exit_code == 0, result.output
    assert "keras.layers.Dense(8, activation='relu', kernel_regularizer=keras.regularizers.L1L2(l1=0.0, " \
           "l2=0.01))" in result.stdout
    assert "keras.layers.Dense(3, activation='linear')" in result.stdout


@pytest.mark.tensorflow
def test_the_l2_term_in_the_loss_equals_lambda_times_the_sum_of_squared_weights(workdir):
    """metrics.json's test loss = cross-entropy (NumPy, from the saved model's logits) + l2·Σw²."""
    import numpy as np

    from nnlearn.model.build import keras
    from nnlearn.model.saved_model import load_saved_model
    from nnlearn.runs.saved_run import prepare_saved_run
    from nnlearn.training.train import train

    l2 = 0.05
    run = train(CONFIGS / "iris_softmax.yaml", ["fit.epochs=3", f"model.layers[0].kernel_regularizer.l2={l2}"],
                out=workdir / "run")
    model = load_saved_model(run.run_dir / "model.keras")
    assert isinstance(model.layers[0].kernel_regularizer, keras.regularizers.L1L2)
    kernel = model.layers[0].get_weights()[0].astype(np.float64)
    penalty = l2 * float(np.sum(kernel ** 2))
    prepared, _ = prepare_saved_run(RunDir.open(run.run_dir))
    logits = model.predict(prepared.x("test"), verbose=0).astype(np.float64)
    labels = prepared.y("test").astype(int).reshape(-1)
    shifted = logits - logits.max(axis=1, keepdims=True)
    cross_entropy = float(np.mean(np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(len(labels)), labels]))
    assert penalty > 0.01  # the term is big enough to see
    assert run.metrics["test"]["loss"] == pytest.approx(cross_entropy + penalty, rel=1e-4)
    # and training minimised it: the same run without the penalty ends with larger weights
    plain = train(CONFIGS / "iris_softmax.yaml", ["fit.epochs=3"], out=workdir / "plain")
    plain_kernel = load_saved_model(plain.run_dir / "model.keras").layers[0].get_weights()[0]
    assert float(np.sum(kernel ** 2)) < float(np.sum(plain_kernel.astype(np.float64) ** 2))
