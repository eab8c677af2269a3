"""Analysis: pure functions over numbers and frames (no I/O)."""
