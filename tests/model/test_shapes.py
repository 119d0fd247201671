import pytest

from nnlearn.config.loading import config_from_text
from nnlearn.model.shapes import infer_shapes, output_problems, total_params

HEAD = """\
data: {source: digits}
compile: {loss: sparse_categorical_crossentropy}
model:
  layers:
"""


def config_with(*layers):
    return config_from_text(HEAD + "".join(f"    - {layer}\n" for layer in layers))


def test_dense_parameter_counts_by_hand():
    config = config_with("{type: dense, units: 25, activation: relu}", "{type: dense, units: 15}",
                         "{type: dense, units: 10}")
    shapes, problems = infer_shapes(config, (64,))
    assert not problems
    assert [layer.params for layer in shapes] == [64 * 25 + 25, 25 * 15 + 15, 15 * 10 + 10]
    assert shapes[0].formula == "64×25 + 25 = 1625"
    assert total_params(shapes) == 1625 + 390 + 160


def test_conv_and_pooling_shapes_and_counts():
    config = config_with("{type: conv2d, filters: 32, kernel_size: 3, padding: same}",
                         "{type: max_pooling2d, pool_size: 2}",
                         "{type: conv2d, filters: 8, kernel_size: [3, 2], strides: 2}",
                         "{type: flatten}", "{type: dropout, rate: 0.2}", "{type: dense, units: 10}")
    shapes, problems = infer_shapes(config, (8, 8, 1))
    assert not problems
    assert [layer.output_shape for layer in shapes] == [(8, 8, 32), (4, 4, 32), (1, 2, 8), (16,), (16,),
                                                         (10,)]
    assert shapes[0].formula == "3×3×1×32 + 32 = 320"
    assert shapes[2].params == 3 * 2 * 32 * 8 + 8


@pytest.mark.parametrize("layers, shape, path, fragment", [
    (["{type: conv2d, filters: 4}"], (64,), "model.layers[0]", "needs an image"),
    (["{type: conv2d, filters: 4, kernel_size: 9}"], (8, 8, 1), "model.layers[0].kernel_size", "larger"),
    (["{type: conv2d, filters: 4}", "{type: dense, units: 10}"], (8, 8, 1), "model.layers[1]", "flatten"),
    (["{type: flatten}", "{type: max_pooling2d}"], (8, 8, 1), "model.layers[1]", "before flatten"),
])
def test_shape_problems_are_named_at_the_layer(layers, shape, path, fragment):
    _, problems = infer_shapes(config_with(*layers), shape)
    assert problems[0].path == path
    assert fragment in problems[0].message + (problems[0].hint or "")


@pytest.mark.parametrize("loss, units, kind, classes, path, fragment", [
    ("sparse_categorical_crossentropy", 3, "classes", 10, "model.layers[0].units", "10 classes"),
    ("sparse_categorical_crossentropy", 1, "continuous", 0, "compile.loss", "continuous"),
    ("binary_crossentropy", 10, "classes", 10, "compile.loss", "2 classes"),
    ("binary_crossentropy", 2, "classes", 2, "model.layers[0].units", "1 output unit"),
    ("mean_squared_error", 3, "continuous", 0, "model.layers[0].units", "units: 1"),
    ("mean_squared_error", 1, "classes", 3, "compile.loss", "classes"),
    ("categorical_crossentropy", 4, "multilabel", 4, "compile.loss", "multi-label"),
])
def test_output_layer_must_fit_the_task(loss, units, kind, classes, path, fragment):
    config = config_from_text(f"data: {{source: digits}}\ncompile: {{loss: {loss}}}\n"
                              f"model: {{layers: [{{type: dense, units: {units}}}]}}\n")
    problems = output_problems(config, (units,), kind, classes, 1.5)
    assert problems and problems[0].path == path
    assert fragment in problems[0].message + (problems[0].hint or "")


def test_fitting_outputs_have_no_problems():
    config = config_from_text("data: {source: digits}\ncompile: {loss: binary_crossentropy}\n"
                              "model: {layers: [{type: dense, units: 1}]}\n")
    assert output_problems(config, (1,), "classes", 2) == []
