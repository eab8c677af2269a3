"""harness: cross-platform on-device ML benchmarking."""

__version__ = "0.1.0"
