"""Model builds: builders for the built-in workloads, precision converters, the manifest."""
