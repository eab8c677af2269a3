"""The read side's decision layer: it loads from the store (through ``results``), decides with the pure
functions of ``analysis`` and returns plain objects that ``report`` and ``commands`` render.

Renderers make no decisions and never write the store; the only writes here are the alert sync that
`harness history`, `harness alerts` and a farm night ask for (``history.sync_alerts``).

- ``compare``: both sides of a comparison with the run-to-run noise each row needs;
- ``noise``: σ_run known before looking at the runs (calibration, history) and per-device noise scores;
- ``calibration``: σ_run per series from A/A runs (what `harness calibrate` stores);
- ``history``: series with change points, and alert sync;
- ``changes``: each device's latest run against each cell's last comparable successful cell;
- ``results_matrix``: the cross-device, cross-precision results matrix;
- ``site``: what the published pages show (latest change per device, overview cells, devices, alerts).
"""
