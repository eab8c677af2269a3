"""Config: YAML the user edits (devices/, workloads/, farm.yaml) -> typed, validated models."""
