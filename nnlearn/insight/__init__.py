"""What a trained model does: evaluation, predictions, the inside of the network, the diagnosis."""
