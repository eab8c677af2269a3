"""The published static site: overview, runs, compares, series, devices, regressions + feeds."""
