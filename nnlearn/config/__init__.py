"""The config: the YAML with every value's place, `--set`, the schema, expectations, config differences."""
