"""nnlearn: turn a YAML file into a tf.keras Sequential model, train it, evaluate it, explain it.

The library functions import TensorFlow only when they train or evaluate:

    import nnlearn
    run = nnlearn.train("configs/softmax_digits.yaml", ["fit.epochs=5"])
    print(run.metrics["test"]["accuracy"])
"""

from nnlearn.versions import __version__

__all__ = ["__version__", "train", "evaluate", "load_config"]


def train(config_path, overrides=(), out=None, progress=None, expect=()):
    """Train a config file and save a run; see nnlearn.training.train.train."""
    from nnlearn.training.train import train as train_run

    return train_run(config_path, overrides, out=out, progress=progress, expect=expect)


def evaluate(run_dir, expect=()):
    """Evaluate a saved run on its test split again; see nnlearn.insight.evaluation.evaluate."""
    from nnlearn.insight.evaluation import evaluate as evaluate_run
    from nnlearn.runs.rundir import RunDir

    return evaluate_run(RunDir.open(run_dir), expect)


def load_config(config_path, overrides=()):
    """Read and validate a config file; see nnlearn.config.loading.load_config."""
    from nnlearn.config.loading import load_config as load

    return load(config_path, overrides)
