"""What differs between configs: every resolved value named by its dotted key (`model.layers[0].units`).

One definition for `nnlearn compare`, `watch` (what a save changed) and a saved run's config edited since
it was trained.
"""

from __future__ import annotations


def flatten(node, prefix: str = "") -> dict[str, object]:
    """{"model": {"layers": [{"units": 3}]}} -> {"model.layers[0].units": 3}."""
    if isinstance(node, dict):
        flat: dict[str, object] = {}
        for key, value in node.items():
            flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(node, list) and node and all(isinstance(item, dict) for item in node):
        flat = {}
        for index, value in enumerate(node):
            flat.update(flatten(value, f"{prefix}[{index}]"))
        return flat
    return {prefix: node}


def differences(configs: list[dict]) -> dict[str, list]:
    """{key: [its value in each config, None where absent]} for every key whose values are not all equal,
    in the order the keys first appear."""
    flat = [flatten(config) for config in configs]
    keys = dict.fromkeys(key for config in flat for key in config)
    values = {key: [config.get(key) for config in flat] for key in keys}
    return {key: found for key, found in values.items() if any(value != found[0] for value in found[1:])}


def changes(before: dict, after: dict) -> list[tuple[str, object, object]]:
    """(key, before, after) for every value that differs between two configs."""
    return [(key, old, new) for key, (old, new) in differences([before, after]).items()]
