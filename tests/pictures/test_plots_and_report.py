import base64
import io
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from nnlearn.cli.display import sparkline
from nnlearn.insight.predict import predict
from nnlearn.pictures.plots import decision_grid, draw_plots
from nnlearn.pictures.report import comparison_report, run_report
from nnlearn.runs.rundir import RunDir
from nnlearn.runs.saved_run import prepare_saved_run
from nnlearn.training.train import train
from tests.conftest import LINEAR_REGRESSION, MOONS, TINY, invoke


def decode_png(data: bytes) -> np.ndarray:
    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(data), format="png")


def assert_sane_image(data: bytes) -> None:
    image = decode_png(data)
    height, width = image.shape[:2]
    assert 200 <= width <= 3000 and 200 <= height <= 3000
    assert float(image[..., :3].std()) > 0.02  # not blank


@pytest.mark.tensorflow
def test_classifier_with_two_features_gets_its_plots(moons_run):
    written = draw_plots(RunDir.open(moons_run))
    assert sorted(path.name for path in written) == ["confusion_matrix.png", "decision_boundary.png",
                                                     "decision_boundary_epochs.png", "learning_curves.png",
                                                     "mistakes.png", "units.png"]
    for path in written:
        assert_sane_image(path.read_bytes())


@pytest.mark.tensorflow
def test_decision_boundary_agrees_with_predict(moons_run, tmp_path):
    from nnlearn.model.saved_model import load_saved_model

    prepared, _ = prepare_saved_run(RunDir.open(moons_run))
    grid = decision_grid(load_saved_model(moons_run / "model.keras"), prepared, steps=40)
    rng = np.random.default_rng(0)
    picks = rng.integers(0, 40, size=(25, 2))
    points = np.array([[grid.xx[i, j], grid.yy[i, j]] for i, j in picks])
    csv_path = tmp_path / "points.csv"
    csv_path.write_text("x1,x2\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in points))
    predicted = predict(RunDir.open(moons_run), csv_path)
    for (i, j), row in zip(picks, predicted.rows):
        assert row["p_1"] == pytest.approx(grid.probability[i, j], abs=1e-5)
        assert row["class"] == str(grid.classes[i, j])


@pytest.mark.tensorflow
def test_regression_and_multiclass_plots(write_config):
    regression = train(write_config(LINEAR_REGRESSION, "reg.yaml"), ["fit.epochs=5"]).run_dir
    assert sorted(p.name for p in draw_plots(RunDir.open(regression))) == ["learning_curves.png", "mistakes.png",
                                                              "predicted_vs_true.png", "units.png"]
    iris = train(write_config(TINY, "iris.yaml")).run_dir
    assert sorted(p.name for p in draw_plots(RunDir.open(iris))) == ["confusion_matrix.png", "learning_curves.png",
                                                        "mistakes.png", "units.png"]
    assert_sane_image((iris / "plots" / "confusion_matrix.png").read_bytes())


class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.tags, self.links, self.prose = [], [], [], []
        self.inside_pre = False

    def handle_data(self, data):
        if not self.inside_pre:  # what a reader sees as text (the config's own YAML aside)
            self.prose.append(data)

    def handle_endtag(self, tag):
        self.inside_pre = self.inside_pre and tag != "pre"

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.inside_pre = self.inside_pre or tag == "pre"
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs["src"])
        for key in ("href", "src"):
            if key in attrs and not attrs[key].startswith("data:"):
                self.links.append(attrs[key])


@pytest.mark.tensorflow
def test_html_report_is_self_contained_and_its_images_decode(moons_run):
    page = run_report(RunDir.open(moons_run))
    parser = Collector()
    parser.feed(page)
    assert parser.links == []  # nothing outside the file
    assert len(parser.images) == 6 == len(list((moons_run / "plots").glob("*.png")))
    for source in parser.images:
        assert source.startswith("data:image/png;base64,")
        assert_sane_image(base64.b64decode(source.split(",", 1)[1]))
    for fragment in ("Metrics", "no learning", "2×16 + 16 = 48", "Config", "binary_crossentropy", "Diagnosis",
                     "Inside the model", "it classifies wrong, highest loss first"):
        assert fragment in page
    assert re.search(r"<b>\d+</b> parameters", page)
    assert "`" not in "".join(parser.prose)  # code is shown as code, never as literal backticks


def test_report_sentences_show_code_as_code():
    from nnlearn.pictures.report import _prose

    assert _prose("run `nnlearn inspect RUN_DIR` <now>") == "run <code>nnlearn inspect RUN_DIR</code> &lt;now&gt;"
    assert _prose("a lone ` stays") == "a lone ` stays"


@pytest.mark.tensorflow
def test_report_and_plot_commands(moons_run, tmp_path):
    target = tmp_path / "report.html"
    result = invoke("report", moons_run, "-o", target)
    assert result.exit_code == 0, result.output
    assert target.read_text().startswith("<!DOCTYPE html>")
    again = invoke("report", moons_run, "-o", target)
    assert again.exit_code == 2 and "never overwrites" in again.output
    assert invoke("plot", moons_run).exit_code == 0
    both = comparison_report([RunDir.open(moons_run), RunDir.open(moons_run)])
    assert "Config differences" in both and both.count("<h2>Run ") == 2


@pytest.mark.tensorflow
def test_train_draws_plots_unless_told_not_to(write_config, workdir):
    path = write_config(MOONS)
    result = invoke("train", path, "--out", "runs/with", "--set", "fit.epochs=2")
    assert result.exit_code == 0, result.output
    assert (workdir / "runs/with/plots/decision_boundary.png").exists()
    result = invoke("train", path, "--out", "runs/without", "--no-plots", "--set", "fit.epochs=2")
    assert result.exit_code == 0 and not (workdir / "runs/without/plots").exists()
    assert invoke("plot", "runs/without").exit_code == 0
    assert (workdir / "runs/without/plots/learning_curves.png").exists()


@pytest.mark.tensorflow
def test_tensorboard_logs_are_written(write_config, workdir):
    result = invoke("train", str(write_config(MOONS)), "--out", "runs/tb", "--tensorboard", "--no-plots", "--set",
                    "fit.epochs=2")
    assert result.exit_code == 0, result.output
    events = list((workdir / "runs/tb/tensorboard").rglob("events.out.tfevents.*"))
    assert events and all(path.stat().st_size > 0 for path in events)


def test_sparkline():
    assert sparkline([3.0, 2.0, 1.0, 1.0]) == "█▄▁▁"
    assert sparkline([]) == ""
