"""The one table of usual learning rates, as the config's warning and the diagnosis's advice use it."""

from nnlearn.config.learning_rates import lowered_rate, usual_range, usual_rate


def test_a_rate_lint_calls_far_above_the_usual_range_goes_straight_back_to_the_usual_rate():
    low, high = usual_range("adam")
    assert (low, high) == (1e-5, 0.1)  # the range the config's warning names
    assert lowered_rate(high * 1.01, "adam") == (0.001, True)
    assert lowered_rate(high, "adam") == (high / 10, False)
    assert usual_rate("sgd") == 0.01 and lowered_rate(0.5, "sgd") == (0.05, False)
