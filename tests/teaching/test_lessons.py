"""Every lesson runs (its --quick form), and its measured numbers show the relation it teaches.

Each relation is checked against something the lesson did not compute itself: hand arithmetic, NumPy,
or a second way of getting the same number.
"""

import json
import math
import os
import re
from pathlib import Path

import pytest

from nnlearn.teaching.lessons import LESSONS
from tests.conftest import invoke

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("NNLEARN_UPDATE_SNAPSHOTS") == "1"  # NNLEARN_UPDATE_SNAPSHOTS=1 pytest ... -k snapshot


def numbers_of(name: str) -> dict:
    """Run one lesson through the CLI, quick, check the text a person reads (check_text), and return its
    measured numbers. Each lesson runs once: its test checks both what it measured and how it says it."""
    result = invoke("lesson", name, "--quick", "--json", env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["name"] == name and data["explanation"]
    check_text(name, data, result.stderr)
    return data["numbers"]


def check_text(name: str, data: dict, text: str) -> None:
    """The lesson as a learner reads it at 80 columns: every row and column labelled by hand in the
    course's words (a key with no label of its own would show as a code name), every line within 80
    columns, and the labels as stored in tests/teaching/snapshots/lesson_NAME.txt (run the lesson tests with
    NNLEARN_UPDATE_SNAPSHOTS=1 to write them again after a change made on purpose)."""
    labelled = {f"{key}.{entry}" if isinstance(value, dict) else key
                for key, value in data["numbers"].items() for entry in (value if isinstance(value, dict) else [0])}
    assert labelled <= set(data["labels"]), sorted(labelled - set(data["labels"]))
    assert all(len(line) <= 80 for line in text.splitlines()), [line for line in text.splitlines() if len(line) > 80]
    shape = shape_of(text)
    assert shape.count("title: ") == 1 and "explanation: " in shape and "header: " in shape
    path = SNAPSHOTS / f"lesson_{name}.txt"
    if UPDATE:
        path.write_text(shape)
    assert shape == path.read_text(), f"{name}'s text changed; if on purpose: NNLEARN_UPDATE_SNAPSHOTS=1"


NUMBER = re.compile(r"(?<![\w.])[-+−]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[-+]?\d+)?|nan|inf)(?![\w])")
VALUES = {"yes", "no", "—"}


def shape_of(text: str) -> str:
    """A lesson's text as its labels and structure, without the measured numbers (which vary with the
    TensorFlow version): every number becomes #, a yes / no / — cell too; the explanation is unwrapped
    into one line and a table's header read across its lines, so neither depends on where words wrapped."""
    out, header, explanation, in_panel = [], [], [], False

    def plain(part: str) -> str:
        part = part.strip()
        return "#" if part in VALUES else NUMBER.sub("#", part)

    for line in text.splitlines():
        cells = [cell.strip() for cell in re.split("[│┃]", line)[1:-1]]
        if line.startswith("╭"):
            out.append("title: " + line.strip("╭╮─ "))
            in_panel = True
        elif in_panel and line.startswith("│"):
            explanation.append(" ".join(cells))
        elif line.startswith("╰"):
            out.append("explanation: " + NUMBER.sub("#", " ".join(explanation)))
            in_panel = False
        elif line.startswith("┏"):
            header = []
        elif line.startswith("┃"):
            header = [f"{before} {now}".strip() for before, now in zip(header, cells)] if header else cells
        elif line.startswith("┡"):
            out.append("header: " + " | ".join(plain(cell) for cell in header))
        elif line.startswith("│"):
            out.append("row: " + " | ".join(plain(cell) for cell in cells))
        elif line.strip() and not line.startswith("└"):
            out.append("text: " + plain(line))
    return "\n".join(out) + "\n"


def test_the_list_and_a_misspelt_name():
    result = invoke("lesson", "--json")
    assert [item["name"] for item in json.loads(result.stdout)["lessons"]] == [lesson.name for lesson in LESSONS]
    assert len(LESSONS) == 13
    misspelt = invoke("lesson", "sofmax")
    assert misspelt.exit_code == 2 and "did you mean 'softmax'" in misspelt.output



@pytest.mark.tensorflow
@pytest.mark.slow
def test_logistic_regression_by_hand_equals_keras():
    n = numbers_of("logistic-regression")
    assert n["max_abs_w_difference"] < 1e-4 and abs(n["numpy_b"] - n["keras_b"]) < 1e-4
    assert n["numpy_b"] != 0  # the hand-written loop really moved b
    assert n["numpy_accuracy"] == n["keras_accuracy"] > 0.95


@pytest.mark.tensorflow
@pytest.mark.slow
def test_linear_collapse():
    import numpy as np

    n = numbers_of("linear-collapse")
    assert n["max_abs_output_difference"] < 1e-4
    # the equivalent single layer is a real 2×1 map, not the identity or zero
    assert np.array(n["equivalent_W"]).shape == (2, 1) and np.abs(n["equivalent_W"]).sum() > 0
    assert n["xor_relu_accuracy"] > 0.9 and n["xor_relu_accuracy"] - n["xor_linear_accuracy"] > 0.2
    assert n["xor_linear_accuracy"] < 0.8  # a straight line cannot separate xor
    assert n["moons_relu_accuracy"] > n["moons_linear_accuracy"]


def epochs(value):
    return math.inf if value is None else value


@pytest.mark.tensorflow
@pytest.mark.slow
def test_relu_reaches_the_target_sooner_than_sigmoid():
    n = numbers_of("relu-vs-sigmoid")
    assert n["relu_epochs_to_target"] is not None and n["relu_final_loss"] <= n["target_loss"]
    assert epochs(n["relu_epochs_to_target"]) < epochs(n["sigmoid_epochs_to_target"])


@pytest.mark.tensorflow
@pytest.mark.slow
def test_softmax_against_numpy():
    import numpy as np

    n = numbers_of("softmax")
    z = np.array(n["z"])
    expected = np.exp(z) / np.exp(z).sum()  # NumPy, independently of the lesson
    assert n["tf_nn_softmax"] == pytest.approx(expected.tolist(), rel=1e-6)
    # the course counts classes from 1 (a₁ is the first), Keras' labels from 0
    assert n["class_k"] == [1, 2, 3, 4] and n["keras_label"] == n["true_class"] - 1
    assert n["keras_loss"] == pytest.approx(-math.log(expected[n["true_class"] - 1]), rel=1e-6)
    assert n["minus_log_a_y"] == pytest.approx(n["keras_loss"], rel=1e-6)


@pytest.mark.tensorflow
@pytest.mark.slow
def test_from_logits_is_finite_where_the_naive_loss_is_not():
    n = numbers_of("from-logits")
    # each case shows the logits and the true class it used (counted from 1, as the course does)
    assert n["case"] == ["z = (2, 1, 0.1), y = 1", "z = (2, 1, 0.1), y = 3", "z = (1000, 0, -1000), y = 1",
                         "z = (1000, 0, -1000), y = 3"]
    # moderate logits [2, 1, 0.1], true class 1 (the first): −log softmax by hand
    by_hand = -(2.0 - math.log(math.exp(2.0) + math.exp(1.0) + math.exp(0.1)))
    assert n["naive_loss"][0] == pytest.approx(by_hand, rel=1e-5)
    assert n["from_logits_loss"][0] == pytest.approx(by_hand, rel=1e-5) == n["exact_loss"][0]
    # extreme logits [1000, 0, −1000]: the losses are 0 and 2000, exactly
    assert n["from_logits_loss"][2] == pytest.approx(0.0, abs=1e-3)
    assert n["from_logits_loss"][3] == pytest.approx(2000.0, rel=1e-6)
    assert n["from_logits_gradient_finite"] == [True, True, True, True]
    assert n["naive_loss"][2] in ("nan", "inf") or n["naive_loss"][3] in ("nan", "inf")
    assert not (n["naive_gradient_finite"][2] and n["naive_gradient_finite"][3])


@pytest.mark.tensorflow
@pytest.mark.slow
def test_multiclass_sums_to_one_multilabel_does_not():
    n = numbers_of("multiclass-vs-multilabel")
    assert n["multiclass_output_sums_first3"] == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)
    assert any(abs(total - 1) > 0.05 for total in n["multilabel_output_sums_first3"])
    assert n["multilabel_labels_per_example"] > 1  # several labels at once: softmax could not express it
    assert n["multiclass_accuracy"] > 0.9 and n["multilabel_per_label_accuracy"] > 0.7


@pytest.mark.tensorflow
@pytest.mark.slow
def test_adam_reaches_the_target_sooner():
    from nnlearn.config.learning_rates import usual_rate

    n = numbers_of("adam-vs-gd")
    # a fair race: each optimizer at nnlearn's usual rate for it (0.01 and 0.001)
    assert (n["sgd_learning_rate"], n["adam_learning_rate"]) == (usual_rate("sgd"), usual_rate("adam"))
    assert n["adam_epochs_to_target"] is not None and n["adam_final_loss"] <= n["target_loss"]
    assert epochs(n["adam_epochs_to_target"]) < epochs(n["sgd_epochs_to_target"])


@pytest.mark.tensorflow
@pytest.mark.slow
def test_dense_vs_conv_parameters_by_hand():
    n = numbers_of("dense-vs-conv")
    assert n["dense_params"] == (64 * 64 + 64) + (64 * 10 + 10)
    # conv 3×3×1→16 (same), pool to 4×4, conv 3×3×16→16 (valid, 2×2), flatten 64, dense 10
    assert n["conv_params"] == (9 * 1 * 16 + 16) + (9 * 16 * 16 + 16) + (2 * 2 * 16 * 10 + 10)
    assert n["conv_params"] < n["dense_params"]
    assert n["conv_test_accuracy"] > 0.9 and n["dense_test_accuracy"] > 0.9


@pytest.mark.tensorflow
@pytest.mark.slow
def test_derivative_by_hand():
    n = numbers_of("derivative")
    # J(w) for the lesson's three points, computed here with math alone
    xs, ys, b = [(1.0, 2.0), (-1.0, 0.5), (0.3, -2.0)], [1.0, 0.0, 1.0], 0.1
    # the lesson shows the data and both weights it used
    assert list(zip(n["x1"], n["x2"])) == xs and n["y"] == ys and (n["w1"], n["w2"], n["b"]) == (0.3, -0.2, b)

    def cost(w0):
        total = 0.0
        for (x0, x1), y in zip(xs, ys):
            a = 1 / (1 + math.exp(-(w0 * x0 - 0.2 * x1 + b)))
            total += -y * math.log(a) - (1 - y) * math.log(1 - a)
        return total / len(xs)

    assert n["J"] == pytest.approx(cost(0.3), rel=1e-9)
    assert n["J_nudged"] == pytest.approx(cost(0.301), rel=1e-9)
    assert n["change_in_J"] == pytest.approx(n["k_times_epsilon"], rel=1e-2)


@pytest.mark.tensorflow
@pytest.mark.slow
def test_backprop_and_finite_differences_agree_at_very_different_costs():
    n = numbers_of("backprop-cost")
    inputs, first, second, outputs = n["units"]
    params_by_hand = inputs * first + first + first * second + second + second * outputs + outputs
    assert n["params_P"] == params_by_hand and n["nodes_N"] == first + second + outputs
    assert n["finite_difference_forward_passes"] == 2 * params_by_hand
    assert n["max_abs_gradient_difference"] < 1e-6 * max(1.0, n["largest_gradient"])
    assert n["largest_gradient"] > 0


@pytest.mark.tensorflow
@pytest.mark.slow
def test_bias_variance_overfits_at_lambda_0_and_underfits_at_a_large_lambda():
    n = numbers_of("bias-variance")
    lambdas, train, validation = n["lambdas"], n["train_loss"], n["validation_loss"]
    assert lambdas[0] == 0 and lambdas == sorted(lambdas)
    # λ = 0: the training points are memorised (J_train near 0) while J_cv is far higher, and it climbs
    # with the epochs after its lowest point (high variance)
    assert train[0] < 0.05 and validation[0] > train[0] + 0.5
    curve = n["no_regularization_validation_loss_by_epoch"]
    assert curve[-1] > min(curve) + 0.3
    assert n["no_regularization_train_loss_by_epoch"][-1] == min(n["no_regularization_train_loss_by_epoch"])
    # the largest λ: weights near 0, so the model says 0.5 everywhere: J_train = ln 2 by hand (high bias)
    assert train[-1] == pytest.approx(math.log(2), abs=0.02) and n["train_error"][-1] > 0.3
    assert n["sum_squared_weights"][-1] < 1e-3 * n["sum_squared_weights"][0]
    # J_train grows with λ, Σw² shrinks; J_cv is lowest in between, and that λ is the one picked
    assert train == sorted(train) and n["sum_squared_weights"] == sorted(n["sum_squared_weights"], reverse=True)
    best = validation.index(min(validation))
    assert 0 < best < len(lambdas) - 1 and n["best_lambda"] == lambdas[best]
    # the penalty trained on is Keras' own L2(λ) = λ·Σw² (hand arithmetic on the reported numbers)
    for value, squares, keras_penalty in zip(lambdas, n["sum_squared_weights"], n["keras_l2_penalty"]):
        assert keras_penalty == pytest.approx(value * squares, rel=1e-4, abs=1e-9)
    assert n["lambda_in_course_terms"] == pytest.approx([2 * n["train_examples"] * value for value in lambdas])


@pytest.mark.tensorflow
@pytest.mark.slow
def test_learning_rate_too_small_good_and_diverging_against_numpy():
    import numpy as np
    from sklearn.datasets import make_regression

    n = numbers_of("learning-rate")
    # the lesson's data, and plain gradient descent on J = mean((w·x + b − y)²), in NumPy
    x, y = make_regression(200, n_features=3, noise=10.0, random_state=0)
    x = ((x - x.mean(axis=0)) / x.std(axis=0)).astype(np.float32).astype(np.float64)
    y = (y / y.std()).astype(np.float32).astype(np.float64)
    augmented = np.c_[x, np.ones(len(x))]
    curvature = np.linalg.eigvalsh(2 * augmented.T @ augmented / len(x)).max()
    assert n["largest_curvature"] == pytest.approx(curvature, rel=1e-6)
    rates = n["learning_rates"]
    assert rates["too_small"] < rates["good"] < 2 / curvature < rates["too_large"]
    assert n["epochs_measured"] == list(range(n["epochs"] + 1))  # epoch 0: before the first step
    for name, rate in rates.items():
        weights, losses = np.zeros(4), []
        for _ in range(n["epochs"]):
            error = augmented @ weights - y
            losses.append(np.mean(error ** 2))
            weights -= rate * 2 * augmented.T @ error / len(x)
        losses.append(np.mean((augmented @ weights - y) ** 2))  # after the last epoch: the final loss
        assert n[f"{name}_loss_by_epoch"] == pytest.approx(losses, rel=1e-3)
    small, good, large = (n[f"{name}_loss_by_epoch"] for name in ("too_small", "good", "too_large"))
    assert 0.8 * small[0] < small[-1] < small[0]  # barely moves
    assert good[-1] < 0.05 * good[0]
    assert all(later > earlier for earlier, later in zip(large, large[1:])) and large[-1] > 1e6 * large[0]
    # along the steepest direction each step multiplies the error by (α·curvature − 1)
    assert large[-1] / large[-2] == pytest.approx((rates["too_large"] * curvature - 1) ** 2, rel=0.02)


@pytest.mark.tensorflow
@pytest.mark.slow
def test_lessons_report_what_they_measure_while_they_run():
    from nnlearn.teaching.lessons import run_lesson

    heard = []
    result = run_lesson("adam-vs-gd", quick=True, progress=lambda stage, fraction, detail: heard.append(
        (stage, fraction, detail)))
    stages = list(dict.fromkeys(stage for stage, _, _ in heard))
    assert stages == ["importing TensorFlow", "training with sgd until the loss reaches 0.5",
                      "training with adam until the loss reaches 0.5"]
    fractions = [fraction for _, fraction, _ in heard]
    assert fractions == sorted(fractions) and 0 <= fractions[0] and fractions[-1] <= 1
    # the last epoch heard is the one the lesson reports reaching the target at
    assert heard[-1][2].startswith(f"epoch {result.numbers['adam_epochs_to_target']}: ")
    piped = invoke("lesson", "derivative", "--quick")  # a log gets the result, not the progress
    assert piped.exit_code == 0 and "Measured just now" in piped.output
    assert "importing TensorFlow" not in piped.output and "measured in" not in piped.output


@pytest.mark.tensorflow
@pytest.mark.slow
def test_two_workers_with_half_a_batch_take_the_same_steps_as_one():
    import numpy as np

    n = numbers_of("data-parallel")
    assert n["gradient_of_64_rows"] == pytest.approx(n["mean_of_two_32_row_gradients"], abs=1e-12)
    one, two = np.array(n["one_worker_loss_by_epoch"]), np.array(n["two_workers_loss_by_epoch"])
    assert len(one) == len(two) == n["epochs"] and one[-1] < one[0]  # it learned
    assert np.abs(one - two).max() == pytest.approx(n["max_abs_loss_difference"])  # recomputed here
    assert np.abs(one - two).max() <= 1e-3 * one.max()  # float32 rounding, not another trajectory
    assert abs(n["one_worker_test_accuracy"] - n["two_workers_test_accuracy"]) <= 1 / 80 + 1e-9  # 1 of 80


def test_every_lesson_has_its_snapshot_and_a_test_that_checks_it():
    """Each lesson's test calls numbers_of, which checks its text against tests/teaching/snapshots/."""
    assert sorted(path.name for path in SNAPSHOTS.glob("lesson_*.txt")) == sorted(
        f"lesson_{lesson.name}.txt" for lesson in LESSONS)
    source = Path(__file__).read_text()
    assert all(f'numbers_of("{lesson.name}")' in source for lesson in LESSONS)


def test_a_lesson_shape_keeps_labels_and_drops_numbers():
    text = ("╭──── Softmax ────╮\n│ a₁ = e^z₁ / Σ, here 0.5 │\n│ and 2 more. │\n╰──────╯\n"
            "   Measured just now (3.2 s)\n┏━━━━━━━━━━┳━━━━━━━┓\n┃          ┃ loss: ┃\n┃ quantity ┃ exact ┃\n"
            "┡━━━━━━━━━━╇━━━━━━━┩\n│ J(w,b)   │ 1.449 │\n│ x₁ 2m    │   —   │\n│ -1,000   │  yes  │\n"
            "│ (2, 1.5) │ 4,417 │\n"
            "└──────────┴───────┘\n")
    assert shape_of(text) == ("title: Softmax\nexplanation: a₁ = e^z₁ / Σ, here # and # more.\n"
                              "text: Measured just now (# s)\nheader: quantity | loss: exact\n"
                              "row: J(w,b) | #\nrow: x₁ 2m | #\nrow: # | #\nrow: (#, #) | #\n")
