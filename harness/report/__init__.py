"""Reports: the per-run HTML page (run_report) and the published site (site/)."""
