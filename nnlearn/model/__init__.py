"""Step 1 and 2: the task, the shapes through every layer, the Keras calls, building, the saved-model check.

Importing this package does not import TensorFlow; only `build` does."""
