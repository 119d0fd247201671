"""What nnlearn teaches about a config: explain, lint warnings, lessons, eject, gradcheck."""
