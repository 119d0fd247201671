"""What x and y are: bundled, synthetic, CSV, NPZ and image sources; splits; big CSVs read from disk."""
