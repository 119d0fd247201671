"""`nnlearn eject`: the config as a standalone, plain tf.keras script (tensorflow, numpy and
scikit-learn only), with the same data, split, normalisation and seed.

The three steps stay visible: Sequential([...]), compile(...), fit(...).
"""

from __future__ import annotations

from pathlib import Path

from nnlearn.config.schema import Config
from nnlearn.data.dataset import read_table
from nnlearn.data.sources import IMAGE_SUFFIXES, Source
from nnlearn.data.tabular import MISSING_MARKERS
from nnlearn.model.keras_calls import layer_calls, loss_call, metric_calls, optimizer_call
from nnlearn.model.task import is_classifier, task_of

HEADER = '''\
"""{name}: a plain tf.keras script made by `nnlearn eject`.

Needs only tensorflow, numpy and scikit-learn. Run it: python {file}

{numbers}
"""

import os

# TensorFlow's C++ messages (CUDA probing, graph details) say nothing about this model: show only fatal
# ones. It must be set before TensorFlow is imported, which reads it once.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

# TensorFlow prints a few start-up lines (oneDNN, CUDA probing) before it reads that setting: point
# stderr (file descriptor 2) at /dev/null for the import alone; errors after it still show.
stderr, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
os.dup2(devnull, 2)
try:
    import tensorflow as tf
finally:
    os.dup2(stderr, 2)
    os.close(stderr)
    os.close(devnull)
from sklearn import datasets
from sklearn.model_selection import train_test_split

keras = tf.keras
SEED = {seed}
keras.utils.set_random_seed(SEED)  # seeds Python, NumPy and TensorFlow
tf.config.experimental.enable_op_determinism()  # same seed, same machine: the same numbers
'''

SHUFFLED_FIT = '''
# Step 3: minimise the cost. Each epoch visits the training rows in an order drawn from (SEED, epoch)
# alone; fit(x, y, shuffle=True) would draw other orders, and another order leads gradient descent to
# other weights (with few units, sometimes to a worse local minimum).
def epoch_rows(epoch):
    seed = tf.stack([tf.constant(SEED, tf.int64), epoch])
    order = tf.random.experimental.stateless_shuffle(tf.range(len(rest)), seed=seed)
    return tf.data.Dataset.from_tensor_slices(order).batch({batch_size})


x_train, y_train = tf.constant(x[rest]), tf.constant(y[rest])
batches = tf.data.Dataset.range({epochs}).flat_map(epoch_rows).map(
    lambda batch: (tf.gather(x_train, batch), tf.gather(y_train, batch)))
# shuffle=False: the batches above are already in each epoch's order (fit cannot reorder a Dataset)
model.fit(batches, {validation}epochs={epochs}, steps_per_epoch=-(-len(rest) // {batch_size}), shuffle=False,
          verbose=2)
'''

EVALUATE = '''
# Each split measured after training (fit's log shows a mean over each epoch, while the weights were
# still changing); the test rows are data the model never saw
for split, part in zip({splits!r}, [{rows}]):
    results = model.evaluate(x[part], y[part], verbose=0, return_dict=True)
    for name, value in results.items():
        print(f"{{split}} {{name}}: {{value:.6f}}")
'''

STANDARDIZED_TARGET = '''
# data.standardize_target: the model learns z = (y - mean) / std, with the training rows' mean (one per
# output) and standard deviation (one number); the numbers printed at the end are back in y's own units
y = y.reshape(len(y), -1).astype(np.float64)
target_mean = y[rest].mean(axis=0)
target_std = np.sqrt(np.mean((y[rest] - target_mean) ** 2))
y = ((y - target_mean) / target_std).astype(np.float32)
'''

EVALUATE_IN_UNITS = '''
# Each split measured after training (fit's log shows a mean over each epoch, while the weights were
# still changing), in y's own units: a squared error times std², an absolute error times std, r2 as it is;
# the test rows are data the model never saw
UNITS = {{"loss": target_std ** 2, "mse": target_std ** 2, "mae": target_std}}
for split, part in zip({splits!r}, [{rows}]):
    results = model.evaluate(x[part], y[part], verbose=0, return_dict=True)
    for name, value in results.items():
        print(f"{{split}} {{name}}: {{float(value) * UNITS.get(name, 1.0):.6f}}")
'''

SPLIT = '''
# The split: {test_split} of the rows for testing, {validation_split} for validation, seeded{stratified}.
rows = len(x)
n_test = max(1, round(rows * {test_split}))
n_validation = {n_validation}
indices = np.arange(rows)
rest, test = train_test_split(indices, test_size=n_test, random_state=SEED, stratify={stratify_all})
'''

STREAMED_SPLIT = '''
# The split: {test_split} of the rows for testing, {validation_split} for validation, seeded but not
# stratified: nnlearn streamed this file from disk (data.stream), deciding each row's split before any
# row was read. (This script holds the whole file in memory, as a plain script does.)
rows = len(x)
n_test = max(1, round(rows * {test_split}))
n_validation = {n_validation}
order = np.random.default_rng(SEED).permutation(rows)
test, validation = np.sort(order[:n_test]), np.sort(order[n_test:n_test + n_validation])
rest = np.sort(order[n_test + n_validation:])
'''

NORMALIZE = {
    "standard": "offset, scale = x[rest].mean(axis=0), x[rest].std(axis=0)  # training rows only",
    "minmax": "offset, scale = x[rest].min(axis=0), x[rest].max(axis=0) - x[rest].min(axis=0)  # training rows",
    "none": "offset, scale = np.zeros(x.shape[1]), np.ones(x.shape[1])",
}


SIGNALS = """\
# Noisy waves of 64 steps: sine, square or sawtooth, each with its own frequency, phase, amplitude, offset
rng = np.random.default_rng(SEED)
y = np.arange({rows}) % 3  # 0 sine, 1 square, 2 sawtooth
rng.shuffle(y)
t = np.arange(64) / 64
cycles = rng.uniform(1.5, 4.0, ({rows}, 1))
phase = rng.uniform(0, 1, ({rows}, 1))
position = cycles * t[None, :] + phase  # in cycles
waves = np.stack([np.sin(2 * np.pi * position), np.sign(np.sin(2 * np.pi * position)), 2 * (position % 1.0) - 1])
x = waves[y, np.arange({rows})] * rng.uniform(0.5, 1.5, ({rows}, 1)) + rng.uniform(-0.5, 0.5, ({rows}, 1))
x += rng.normal(0, {noise}, x.shape)
"""

IMAGES = """\
# One sub-folder per class, as keras.utils.image_dataset_from_directory reads them
folder = DATA
classes = sorted(entry.name for entry in folder.iterdir() if entry.is_dir() and not entry.name.startswith("."))
files, y = [], []
for label, name in enumerate(classes):
    found = sorted(path for path in (folder / name).rglob("*")
                   if path.suffix.lower() in {suffixes!r} and path.is_file())
    files += found
    y += [label] * len(found)
y = np.array(y)


def decode(path):
    \"\"\"TensorFlow's own decoding and bilinear resizing, as image_dataset_from_directory does.\"\"\"
    image = tf.io.decode_image(tf.io.read_file(str(path)), channels={channels}, expand_animations=False)
    return tf.image.resize(image, {size!r}).numpy().reshape(-1)


x = np.stack([decode(path) for path in files])
"""


TABLE = """\
MISSING = {missing!r}  # cells that hold no value
with open(DATA, newline='', encoding='utf-8-sig') as handle:
    table = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
header = [name.strip() for name in table[0]]
cells = {{name: np.array([row[i].strip() for row in table[1:]], dtype=object) for i, name in enumerate(header)}}
missing = {{name: np.isin(column, MISSING) for name, column in cells.items()}}
# Rows with a missing target, or a missing cell in a column set to drop, are left out
keep = ~missing[{target!r}]
for name in {drop!r}:
    keep &= ~missing[name]
cells = {{name: column[keep] for name, column in cells.items()}}
missing = {{name: gaps[keep] for name, gaps in missing.items()}}
labels = cells[{target!r}]
x = np.zeros((len(labels), 0))  # the features are made after the split, from the training rows
"""

COLUMNS = """
# Fill missing cells and one-hot encode text with what the training rows hold (never the test rows)
parts = []
for name, fill_with, text in {columns!r}:  # (column, its missing setting, whether it holds text)
    column, gaps = cells[name], missing[name]
    seen = column[rest][~gaps[rest]]
    seen = seen if text else seen.astype(np.float64)
    fill = None  # error or drop: no gaps are left
    if fill_with == "mean":
        fill = seen.mean()
    elif fill_with == "median":
        fill = np.median(seen)
    elif fill_with == "most_frequent":
        values, counts = np.unique(seen, return_counts=True)
        fill = values[np.argmax(counts)]  # ties: the smallest
    if text:  # one 0/1 column per category of the training rows; an unseen category is all zeros
        categories = np.array(sorted(set(seen)), dtype=object)
        parts.append((np.where(gaps, fill, column)[:, None] == categories[None, :]).astype(np.float64))
    else:
        numbers = np.where(gaps, "nan", column).astype(np.float64)
        parts.append(np.where(gaps, np.nan if fill is None else fill, numbers)[:, None])
x = np.concatenate(parts, axis=1)
"""

PIXELS = "offset, scale = np.zeros(x.shape[1]), np.full(x.shape[1], 255.0)  # pixels ÷ 255 → 0..1"


def _numbers_note(config: Config, streamed: bool) -> str:
    """What the script's numbers are, next to nnlearn's for the same config and seed."""
    lines = ["Numbers: the same data, split, normalisation, initial weights and order of the training rows as",
             "nnlearn, so on the same machine and TensorFlow version the numbers it prints at the end equal",
             "those in the run's metrics.json (another machine or version can differ in the last digits, and a",
             "long training can then drift further). fit's own log shows each epoch's mean over its batches."]
    if streamed:
        lines += ["Not the order of the rows: nnlearn streamed this file (data.stream) and shuffled it within",
                  "windows, while this script shuffles it whole, so its numbers differ from nnlearn's."]
    if config.fit.early_stopping:
        lines += ["Not early stopping: this script trains all the epochs, so its numbers differ from nnlearn's."]
    return "\n".join(lines)


def _uses_columns(config: Config, source: Source) -> bool:
    """A CSV whose columns are filled, dropped, left out or one-hot encoded."""
    data = config.data
    return (source.kind == "csv"
            and (data.missing != "error" or data.text != "error" or bool(data.columns) or bool(data.ignore)))


def _setting(config: Config, name: str, key: str) -> str:
    own = config.data.columns.get(name)
    return getattr(own, key) if own is not None and getattr(own, key) else getattr(config.data, key)


def _dropped(config: Config, source: Source) -> list[str]:
    names = _feature_columns(config, source) + [config.data.target]
    return [name for name in names if _setting(config, name, "missing") == "drop"]


def _feature_columns(config: Config, source: Source) -> list[str]:
    header = read_table(source.path, config.data.target).header
    return [name for name in header if name != config.data.target and name not in config.data.ignore]


def _columns_code(config: Config, source: Source, text_columns: set[str]) -> str:
    columns = [(name, _setting(config, name, "missing"), name in text_columns)
               for name in _feature_columns(config, source)]
    return COLUMNS.format(columns=columns)


FOUND = """\
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()  # a notebook has no __file__
DATA = HERE / FILE if (HERE / FILE).exists() else Path(FILE)
if not DATA.exists():
    raise SystemExit(f"Cannot find {FILE} in this script's folder ({HERE}) or in the folder you run it from "
                     f"({Path.cwd()}): run it from the folder that holds {FILE}, or change FILE above.")
"""


def _located(path: Path, script: Path | None) -> str:
    """The code that finds the data file `path`, and a comment saying what sharing the script takes."""
    def inside(folder: Path) -> str | None:
        try:
            return path.relative_to(folder.resolve()).as_posix()
        except ValueError:
            return None

    beside = inside(script.parent) if script is not None else None
    if beside is not None:
        return (f"# The data, relative to this script: share the script together with {beside!r}, kept where it\n"
                "# is. It is looked for in this script's folder, then in the folder you run the script from.\n"
                f"FILE = {beside!r}\n" + FOUND)
    here = inside(Path.cwd())
    if here is not None:
        return ("# The data, relative to the folder the script was ejected in. It is looked for in this script's\n"
                "# folder, then in the folder you run the script from.\n"
                f"FILE = {here!r}\n" + FOUND)
    return ("# The data lies outside the script's folder and the folder it was ejected in: change this path "
            "when you\n# share the script\n"
            f"FILE = {str(path)!r}\n"
            "DATA = Path(FILE)\n"
            "if not DATA.exists():\n"
            '    raise SystemExit(f"Cannot find {FILE}: change FILE above to where the data file is.")\n')


def _data_code(config: Config, source_of_data: Source, script: Path | None) -> str:
    data = config.data
    source = data.source
    noise = data.noise
    if source == "signals":
        return SIGNALS.format(rows=data.n_samples, noise=noise if noise is not None else 0.3)
    if source in ("digits", "iris", "wine", "breast_cancer", "diabetes"):
        cast = "float64" if source == "diabetes" else "int64"
        return (f"bunch = datasets.load_{source}()\n"
                f"x, y = bunch.data.astype(np.float64), bunch.target.astype(np.{cast})\n")
    if source == "moons":
        return (f"x, y = datasets.make_moons({data.n_samples}, noise={noise if noise is not None else 0.2}, "
                "random_state=SEED)\n")
    if source == "circles":
        return (f"x, y = datasets.make_circles({data.n_samples}, noise={noise if noise is not None else 0.1}, "
                "factor=0.5, random_state=SEED)\n")
    if source == "blobs":
        return (f"x, y = datasets.make_blobs({data.n_samples}, n_features={data.n_features}, "
                f"centers={data.centers}, cluster_std={noise if noise is not None else 1.0}, random_state=SEED)\n")
    if source == "xor":
        return ("rng = np.random.default_rng(SEED)\n"
                f"corners = rng.uniform(-1, 1, size=({data.n_samples}, 2))\n"
                "y = ((corners[:, 0] > 0) != (corners[:, 1] > 0)).astype(np.int64)  # 1 when the signs differ\n"
                f"x = corners + rng.normal(0, {noise if noise is not None else 0.1}, size=corners.shape)\n")
    if source == "linear":
        return (f"x, y = datasets.make_regression({data.n_samples}, n_features={data.n_features}, "
                f"noise={noise if noise is not None else 10.0}, random_state=SEED)\n")
    if source == "multilabel":
        return (f"x, y = datasets.make_multilabel_classification({data.n_samples}, n_features={data.n_features}, "
                f"n_classes={data.n_labels}, random_state=SEED)\nx = x.astype(np.float64)\n")
    located = "from pathlib import Path\n\n" + _located(source_of_data.path, script)
    if source_of_data.kind == "images":
        return located + IMAGES.format(suffixes=IMAGE_SUFFIXES, channels=1 if data.color == "grayscale" else 3,
                                       size=tuple(data.image_size or (28, 28)))
    if source_of_data.kind == "npz":
        return (located + "with np.load(DATA, allow_pickle=False) as archive:\n"
                "    x, y = archive['x'].reshape(len(archive['x']), -1).astype(np.float64), archive['y']\n"
                "if y.ndim == 1:\n    y = np.unique(y, return_inverse=True)[1]\n")
    regression = task_of(config) == "regression"
    labels = ("y = np.array(labels, dtype=np.float64)\n" if regression else
              "try:  # class labels: numbers sorted as numbers, text sorted as text\n"
              "    y = np.unique(np.array(labels, dtype=np.float64), return_inverse=True)[1]\n"
              "except ValueError:\n"
              "    y = np.unique(np.array(labels), return_inverse=True)[1]\n")
    if _uses_columns(config, source_of_data):
        return "import csv\n" + located + TABLE.format(missing=sorted(MISSING_MARKERS), target=data.target,
                                                      drop=_dropped(config, source_of_data)) + labels
    return ("import csv\n" + located +
            "with open(DATA, newline='', encoding='utf-8-sig') as handle:\n"
            "    table = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]\n"
            "header = [name.strip() for name in table[0]]\n"
            f"target = header.index({data.target!r})\n"
            "x = np.array([[float(cell) for i, cell in enumerate(row) if i != target] for row in table[1:]])\n"
            "labels = [row[target].strip() for row in table[1:]]\n" + labels)


def _layer_code(call, seed: int) -> str:
    """One line of the Sequential list. A Dropout keeps the seed it trains with, written from SEED: left
    unseeded it would draw one from the global seed and so change the initial weights of the layers after it."""
    if call.name == "Dropout":
        return (f"    {call.code()[:-1]}, seed=SEED + {call.kwargs['seed'] - seed}),"
                "  # its own seed, so the layers after it start from the same weights\n")
    return f"    {call.code()},\n"


def eject(prepared, script: Path | None = None) -> str:
    """The standalone script's text, for a prepared config (its data already loaded and checked).

    `script` is where the script will be written (None: printed); a data file under its folder is found
    from the script's own location, so the script and its data can be shared as one folder."""
    config, input_shape = prepared.config, prepared.input_shape
    data, compile_config, fit = config.data, config.compile, config.fit
    task = task_of(config)
    classification = is_classifier(task)
    stratify = task in ("binary", "multiclass")
    rows = ["\n# What x and y are\n", _data_code(config, prepared.source, script)]
    n_validation = (f"max(1, round(rows * {data.validation_split}))" if data.validation_split > 0 else "0")
    if prepared.feed.streamed:
        rows.append(STREAMED_SPLIT.format(test_split=data.test_split, validation_split=data.validation_split,
                                          n_validation=n_validation))
    else:
        rows.append(SPLIT.format(test_split=data.test_split, validation_split=data.validation_split,
                                 stratified=" and stratified by class" if stratify else "",
                                 n_validation=n_validation, stratify_all="y" if stratify else "None"))
    if data.validation_split > 0 and not prepared.feed.streamed:
        rows.append("rest, validation = train_test_split(rest, test_size=n_validation, random_state=SEED, "
                    f"stratify={'y[rest]' if stratify else 'None'})\n")
    if _uses_columns(config, prepared.source):
        dataset = prepared.dataset
        fitted = dataset.columns.columns if dataset.columns else []
        text_columns = {column.name for column in fitted if column.text}
        rows.append(_columns_code(config, prepared.source, text_columns))
    normalize = NORMALIZE[data.normalize]
    if prepared.source.kind == "images" and data.normalize != "none":
        normalize = PIXELS
    rows.append("\n# Normalise with statistics of the training rows only\n" + normalize + "\n"
                "scale = np.where(scale > 0, scale, 1.0)\n"
                f"x = ((x - offset) / scale).astype(np.float32).reshape((rows,) + {tuple(input_shape)!r})\n")
    if compile_config.loss == "categorical_crossentropy":
        rows.append("y = keras.utils.to_categorical(y)  # one-hot rows for categorical_crossentropy\n")
    elif not classification and data.standardize_target:
        rows.append(STANDARDIZED_TARGET)
    elif compile_config.loss == "binary_crossentropy" or not classification:
        rows.append("y = y.reshape(len(y), -1).astype(np.float32)\n")
    layers = "".join(_layer_code(call, config.seed) for call in layer_calls(config))
    rows.append(f"\n# Step 1: how the output is computed from x\nmodel = keras.Sequential([\n"
                f"    keras.Input(shape={tuple(input_shape)!r}),\n{layers}])\nmodel.summary()\n")
    loss, optimizer_code = loss_call(config).code(), optimizer_call(config).code()
    metrics = [call.code() for call in metric_calls(config)]
    rows.append(f"\n# Step 2: the loss and the optimizer\nmodel.compile(\n    loss={loss},\n"
                f"    optimizer={optimizer_code},\n    metrics=[{', '.join(metrics)}],\n)\n")
    validation = "validation_data=(x[validation], y[validation]), " if data.validation_split > 0 else ""
    if fit.shuffle and not prepared.feed.streamed:
        rows.append(SHUFFLED_FIT.format(batch_size=fit.batch_size, validation=validation, epochs=fit.epochs))
    else:
        rows.append(f"\n# Step 3: minimise the cost\nmodel.fit(x[rest], y[rest], {validation}epochs={fit.epochs}, "
                    f"batch_size={fit.batch_size}, shuffle={fit.shuffle}, verbose=2)\n")
    splits = ["train", "validation", "test"] if data.validation_split > 0 else ["train", "test"]
    rows.append((EVALUATE_IN_UNITS if not classification and data.standardize_target else EVALUATE).format(
        splits=splits, rows=", ".join(splits).replace("train", "rest")))
    return (HEADER.format(name=config.name, file=script.name if script else "model.py", seed=config.seed,
                          numbers=_numbers_note(config, prepared.feed.streamed)) + "".join(rows))
