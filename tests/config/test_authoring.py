import json
import math

import pytest
import yaml

from nnlearn.config.authoring import TEMPLATES, config_schema, template_text, write_template
from nnlearn.config.loading import config_from_text
from nnlearn.errors import NnlearnError
from nnlearn.workflows.validate import validate_file
from tests.conftest import CONFIGS, ROOT, invoke


def test_committed_schema_equals_what_nnlearn_schema_prints():
    result = invoke("schema")
    assert result.exit_code == 0
    assert (ROOT / "docs" / "config.schema.json").read_text() == result.stdout
    assert json.loads(result.stdout)["additionalProperties"] is False


def test_shipped_configs_point_at_the_committed_schema():
    for path in CONFIGS.glob("*.yaml"):
        assert path.read_text().startswith("# yaml-language-server: $schema=../docs/config.schema.json")


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_validates(name, tmp_path):
    path = write_template(name, tmp_path / f"{name}.yaml")
    report = validate_file(path)
    assert report.valid, [str(problem) for problem in report.errors]


@pytest.mark.tensorflow
@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_trains(name, workdir):
    from nnlearn.training.train import train

    path = write_template(name, workdir / f"{name}.yaml")
    run = train(path, ["fit.epochs=1"])
    assert run.epochs == 1 and len(run.history) == 1
    assert math.isfinite(run.metrics["test"]["loss"]) and math.isfinite(run.history[0]["loss"])
    expected = {"mean_squared_error": "r2"}.get(run_config_loss(run), "accuracy")
    assert expected in run.metrics["test"]


def run_config_loss(run) -> str:
    return yaml.safe_load((run.run_dir / "config.yaml").read_text())["compile"]["loss"]


def test_init_refuses_to_overwrite(workdir):
    (workdir / "mine.yaml").write_text("precious")
    result = invoke("init", "softmax", "mine.yaml")
    assert result.exit_code == 2 and "never overwrites" in result.output
    assert (workdir / "mine.yaml").read_text() == "precious"
    with pytest.raises(NnlearnError, match="did you mean 'softmax'"):
        template_text("softmaxx")


def test_config_show_fills_every_default(write_config):
    result = invoke("config", "show", str(write_config()), "--set", "fit.epochs=9")
    assert result.exit_code == 0, result.output
    shown = yaml.safe_load(result.stdout)
    assert shown["fit"] == {"epochs": 9, "batch_size": 32, "shuffle": True, "early_stopping": None,
                            "tensorboard": False, "distribute": "none"}
    # only what applies: no synthetic-data fields for iris, no momentum under Adam
    assert not {"n_samples", "noise", "n_features", "centers", "n_labels", "target"} & set(shown["data"])
    assert "momentum" not in shown["compile"]["optimizer"]
    assert shown["compile"]["from_logits"] is True
    assert config_from_text(result.stdout).fit.epochs == 9


def test_schema_lists_layer_types():
    assert '"conv2d"' in config_schema() and '"max_pooling2d"' in config_schema()
