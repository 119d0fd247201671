"""The run folder: its layout and every read and write of its files, checkpoints, snapshots, the catalog."""
