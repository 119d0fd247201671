"""Commands built from the stages: validate, sweep, watch, lr-find, smoke."""
