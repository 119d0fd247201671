"""The plain Keras script a learner writes from the course: the reference that nnlearn is timed against.

    python benchmarks/plain_script.py logistic_regression EPOCHS BATCH_SIZE [SEED]
    python benchmarks/plain_script.py cnn_digits EPOCHS BATCH_SIZE [SEED]

Load with scikit-learn, hold out a test split, standardise, `model.fit(x, y, validation_split=0.1)` on
NumPy arrays, evaluate on the test split. The models are those of configs/logistic_regression.yaml and
configs/cnn_digits.yaml. Prints the test accuracy as the last line.
"""

import sys

import tensorflow as tf
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split

keras = tf.keras
job, epochs, batch_size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
keras.utils.set_random_seed(seed)

if job == "logistic_regression":
    x, y = load_breast_cancer(return_X_y=True)
    model = keras.Sequential([keras.Input(shape=(30,)), keras.layers.Dense(1)])
    loss = keras.losses.BinaryCrossentropy(from_logits=True)
    accuracy = keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)
    learning_rate = 0.01
else:
    x, y = load_digits(return_X_y=True)
    model = keras.Sequential([
        keras.Input(shape=(8, 8, 1)),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10),
    ])
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    accuracy = "accuracy"
    learning_rate = 0.001

x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=seed, stratify=y)
mean, std = x_train.mean(axis=0), x_train.std(axis=0)
std[std == 0] = 1.0
x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
if job == "cnn_digits":
    x_train, x_test = x_train.reshape(-1, 8, 8, 1), x_test.reshape(-1, 8, 8, 1)

model.compile(loss=loss, optimizer=keras.optimizers.Adam(learning_rate=learning_rate), metrics=[accuracy])
model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, validation_split=0.1, verbose=0)
results = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
print(f"test accuracy {results['accuracy']:.4f}")
