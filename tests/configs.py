"""The small configs the tests train, shared with the scripts in scripts/ (which import them from here, with
no pytest): each trains in a second or two."""

TINY = """\
name: tiny
seed: 0
data:
  source: iris
  test_split: 0.2
  validation_split: 0.1
model:
  layers:
    - {type: dense, units: 8, activation: relu}
    - {type: dense, units: 3, activation: linear}
compile:
  loss: sparse_categorical_crossentropy
  optimizer: {type: adam, learning_rate: 0.05}
fit:
  epochs: 3
  batch_size: 32
"""

# Two moons with a ReLU layer and dropout; tests set fit.epochs with an override.
MOONS = """\
name: moons
data: {source: moons, n_samples: 400, noise: 0.2}
model:
  layers:
    - {type: dense, units: 16, activation: relu}
    - {type: dropout, rate: 0.2}
    - {type: dense, units: 1}
compile: {loss: binary_crossentropy, optimizer: {learning_rate: 0.01}}
fit: {epochs: 6, batch_size: 8}
"""

# A regression whose loss becomes NaN in its first epoch: raw (unscaled) diabetes features and plain
# gradient descent with a far too large learning rate.
DIVERGES = """\
name: diverges
data: {source: diabetes, normalize: none}
model:
  layers:
    - {type: dense, units: 8, activation: relu}
    - {type: dense, units: 1}
compile: {loss: mean_squared_error, optimizer: {type: sgd, learning_rate: 100}}
fit: {epochs: 5, batch_size: 32}
"""

# A linear target learned by one linear unit.
LINEAR_REGRESSION = """\
name: reg
data: {source: linear, n_samples: 200, n_features: 3}
model:
  layers:
    - {type: dense, units: 1}
compile: {loss: mean_squared_error, optimizer: {type: sgd, learning_rate: 0.05}}
fit: {epochs: 30}
"""

# one logistic unit on the y column of a table.csv the test writes beside it, every row trained on
TABLE = """\
name: table
data: {source: table.csv, target: y, validation_split: 0}
model:
  layers:
    - {type: dense, units: 1}
compile: {loss: binary_crossentropy}
fit: {epochs: 1}
"""
