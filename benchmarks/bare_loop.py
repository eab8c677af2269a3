"""The timing tail shared by the bare loops that benchmarks run beside the harness (Python source, run with
``python -c``): after a setup that defines ``run()`` and ``seconds``, the workload's warm-up (5 runs and at
least 0.2 s), then ``run()`` timed one call at a time for ``seconds`` and at least 30 calls; its last line
is ``{"median_ms": ...}``."""

TIMED_RUNS = r"""
warm_end = time.perf_counter() + 0.2  # the workload's warm-up: 5 runs and at least 0.2 s
for i in range(1000000):
    if i >= 5 and time.perf_counter() >= warm_end:
        break
    run()
samples, end = [], time.perf_counter() + seconds
while time.perf_counter() < end or len(samples) < 30:
    t0 = time.perf_counter(); run(); samples.append((time.perf_counter() - t0) * 1000)
print(json.dumps({"median_ms": statistics.median(samples)}))
"""
