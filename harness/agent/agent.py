#!/usr/bin/env python3
"""harness on-device agent: job.json in, result.json (+ outputs.npz) out.

This file is pushed to the device ALONE. It must run on Python >= 3.8 with only the
standard library, numpy and the runtime a job names (onnxruntime by default; ncnn, MNN,
OpenVINO, LiteRT, TensorRT (+ cuda-python), Core ML (coremltools) or ONNX Runtime's QNN / NNAPI
providers through the adapters in the "runtimes" section, each imported only when a job names
it). It never imports the host package.

Usage:  python3 agent.py JOB_JSON            (writes <out_dir>/result.json)
        python3 agent.py --job-from-stdin    (imports numpy and onnxruntime first, prints
                                              "ready", then reads JOB_JSON's path as one line
                                              on stdin: the host starts it before its cell;
                                              stdin closed before a line: exit 0, nothing run)
        python3 agent.py --probe             (prints a JSON environment check, exit 0/3; its
                                              "runtimes_missing" says why a runtime cannot run here)

Job protocol (version 1), all paths absolute on the device. The one definition is the host's
harness/protocol package (typed models + JSON Schema files); this summary follows it:
{
  "protocol": 1,
  "kind": "single" | "text-generation" | "translation",
  "models": {"model": PATH}            # role -> onnx path (translation: encoder,
                                        #  decoder, decoder_with_past)
  "inputs": PATH | null,                # .npz; keys "<label>/<input name>" (label may
                                        #  be "" -> key "/<name>"); one measured series per label
  "params": {...},                      # kind-specific (see each kind's function); single:
                                        #  {"feedback": {input: output}} feeds each step the
                                        #  previous step's output (streaming / stateful models)
  "provider": "CPUExecutionProvider",
  "provider_options": {...},
  "runtime": null | {"name": "ncnn", "options": {...}, "settings": {...},
                     "io": {"inputs": [{"onnx", "artifact", "perm", "layout"}], "outputs": [...]}},
                                        #  a runtime other than ONNX Runtime (single jobs)
  "session": {"intra_op_num_threads": 2, "inter_op_num_threads": 1,
              "graph_optimization_level": "all", "allow_spinning": true},
  "measure": {"warmup": 3, "warmup_s": 0.2, "min_iterations": 10,
              "min_seconds": 1.0, "max_seconds": 10.0, "max_iterations": 1000000,
              "contention_cores": null, "contention_retries": 2},
                                        #  a steady window while others took more than
                                        #  contention_cores cores is measured again (at
                                        #  most contention_retries times; the quietest kept)
  "probes": [ {"name": N, "kind": "file", "path": P, "interval_s": 0.1}
            | {"name": N, "kind": "command", "argv": [...], "interval_s": 1.0}
                                        #  (an argv item "{pid}" is the runner's own pid)
            | {"name": N, "kind": "stream", "argv": [...]} ],
  "idle_s": 0.0,                        # probe-only idle window before measuring
  "snapshots": {"name": PATH, ...},     # files read before and after the cell
  "save_outputs": true,
  "out_dir": PATH,
  "handoff_s": 0.0,                     # > 0, job from stdin: print "warm-up" when the first
                                        #  warm-up begins; keep warming up until "go" comes on
                                        #  stdin (or EOF, or handoff_s s), then once more. The
                                        #  host starts the next cell's runner meanwhile
  "test_slowdown": 0.0                  # TEST-ONLY: sleep this fraction of each timed call
}

Result (result.json):
{
  "protocol": 1, "status": "ok" | "failed", "error": str|null, "traceback": str|null,
  "env": {"python", "numpy", "onnxruntime", "platform", "machine", "pid", "runtimes": {name: version}},
  "providers": {"requested", "available", "session", "placement": {ep: {"nodes", "time_us"}},
                "used", "fallback", "requested_fraction", "placement_method"},
                                        #  placement is {} (method "single provider") when
                                        #  the CPU EP alone was requested: nothing to profile
  "session": {applied session settings},
  "load_ms": {role: ms},
  "first_inference_ms": {series label: ms},
  "series": {name: {"unit": "ms", "samples": [...], "warmup_n": k, "stopped_by": reason}},
  "memory": {"peak_rss_mb", "baseline_rss_mb", "method"},   # the measured session only: read
                                        #  before the EP-placement profiling session exists
  "load": {"loadavg_before": [1m, 5m, 15m] | null, "cpu_count": n,
           "windows": {"<series>": {"wall_s", "busy_s", "self_s"}}, "error": str|null,
           "retries": {"<series>": n}},   # windows measured again for contention (absent: none)
                                        #  busy_s: the whole machine's busy CPU seconds
                                        #  (/proc/stat) in that steady window; self_s: this
                                        #  runner's own (threads + reaped children)
  "probes": {name: {"t": [...], "v": [...], "overhead_s": x, "error": str|null}},
  "windows": {"idle": [t0, t1], "<series>": [t0, t1]},   # time.monotonic() on the device
  "snapshots": {"before": {name: text}, "after": {name: text}},
  "measure_s": seconds spent in load + first inference + warm-up + steady windows,
  "held_s": of measure_s, the warm-up held for a handoff past the job's own rule,
  "outputs": "outputs.npz" | null
}
Series names: "latency_ms[@label]" for single; kinds may add others (e.g. "ttft_ms@p16").
"""

from __future__ import annotations

import json
import os
import platform
import resource
import select
import subprocess
import sys
import threading
import time
import traceback

PROTOCOL = 1
READY = "ready"  # stdout, --job-from-stdin: start-up done
WARM_UP = "warm-up"  # stdout: a handoff job's first warm-up began
GO = "go"  # stdin, from the host: the steady windows may begin

# numpy is glue here (npz files, argmax); ONNX Runtime runs its own threads. OpenBLAS's thread pool
# would only spin at import: ~110 ms of CPU on the 2-core host (measured), spent beside the warm-up
# of the cell that hands off to this runner. A device's own setting is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

_OPT_LEVELS = {
    "disable": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
}


# ---------------------------------------------------------------------------- memory
def read_vm_kb(field):
    """A VmXXX field of /proc/self/status in kB, or None where /proc is absent."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


MEASURED_SESSION_ONLY = " (measured session only)"


def peak_memory():
    """(peak_rss_mb, method): VmHWM where Linux has it, else getrusage's ru_maxrss.

    Called before the EP-placement profiling session is created: a second session next to
    the timed one overstated the peak by 25-50 % (measured), so the method says so.
    """
    hwm = read_vm_kb("VmHWM")
    if hwm is not None:
        return hwm / 1024.0, "VmHWM" + MEASURED_SESSION_ONLY
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0  # bytes on macOS, kB on Linux
    return ru / scale, "ru_maxrss" + MEASURED_SESSION_ONLY


def current_rss_mb():
    rss = read_vm_kb("VmRSS")
    return None if rss is None else rss / 1024.0


# ---------------------------------------------------------------------------- host load
def machine_busy_s(tick):
    """Busy CPU seconds of the whole machine since boot: /proc/stat's "cpu" line minus idle
    and iowait (guest time is already inside user/nice). None where /proc/stat is unreadable."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 6:
        return None
    ticks = [int(v) for v in fields[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / tick


def own_cpu_s():
    """CPU seconds of this runner: every thread (ORT's pool, probe threads) and reaped children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def load_average():
    try:
        return list(os.getloadavg())
    except (AttributeError, OSError):
        return None


class LoadMeter(object):
    """Readings around each steady window from which the host derives the CPU time that
    other processes took (contention): the machine's busy time minus the runner's own."""

    def __init__(self):
        try:
            self.tick = float(os.sysconf("SC_CLK_TCK"))
        except (AttributeError, ValueError, OSError):
            self.tick = 100.0
        self.last = None
        self.error = None
        self.retried = 0

    def read(self):
        return time.monotonic(), machine_busy_s(self.tick), own_cpu_s()

    def close_window(self, before, after):
        if before[1] is None or after[1] is None:
            self.error = "/proc/stat unreadable: no machine-wide CPU time"
            self.last = None
            return
        self.last = {"wall_s": after[0] - before[0], "busy_s": after[1] - before[1], "self_s": after[2] - before[2]}

    def others_cores(self):
        """CPU other processes used per wall second in the last window (None: not measured)."""
        w = self.last
        if not w or w["wall_s"] <= 0:
            return None
        return max(0.0, w["busy_s"] - w["self_s"]) / w["wall_s"]


# ---------------------------------------------------------------------------- probes
RUNNER_PID = "{pid}"  # in a command probe's argv: this process's pid (e.g. dumpsys meminfo)

class ProbeSampler(object):
    """Samples device files/commands on a thread during the cell; raw text only.

    The host parses the raw values (units, signs, rails): the agent stays generic.
    Each probe records the seconds its own reads took (``overhead_s``).
    """

    def __init__(self, specs):
        self.specs = specs or []
        self.data = {}
        self._stop = threading.Event()
        self._threads = []
        self._procs = []

    def start(self):
        for spec in self.specs:
            rec = {"t": [], "v": [], "overhead_s": 0.0, "error": None}
            self.data[spec["name"]] = rec
            kind = spec.get("kind", "file")
            target = {"file": self._poll_file, "command": self._poll_command, "stream": self._stream}.get(kind)
            if target is None:
                rec["error"] = "unknown probe kind %r" % kind
                continue
            th = threading.Thread(target=target, args=(spec, rec), name="probe-" + spec["name"])
            th.daemon = True
            th.start()
            self._threads.append(th)

    def stop(self):
        self._stop.set()
        for p in self._procs:
            try:
                p.terminate()
            except OSError:
                pass
        for th in self._threads:
            th.join(timeout=5)
        for p in self._procs:
            try:
                p.wait(timeout=2)
            except Exception:
                p.kill()
        return self.data

    def _poll_file(self, spec, rec):
        interval = float(spec.get("interval_s", 0.1))
        while not self._stop.is_set():
            t0 = time.monotonic()
            try:
                with open(spec["path"]) as f:
                    rec["v"].append(f.read().strip())
                rec["t"].append(t0)
            except OSError as exc:
                rec["error"] = str(exc)
                return
            rec["overhead_s"] += time.monotonic() - t0
            self._stop.wait(interval)

    def _poll_command(self, spec, rec):
        interval = float(spec.get("interval_s", 1.0))
        argv = [str(os.getpid()) if a == RUNNER_PID else a for a in spec["argv"]]
        while not self._stop.is_set():
            t0 = time.monotonic()
            try:
                out = subprocess.run(
                    argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10
                ).stdout.decode("utf-8", "replace")
                rec["t"].append(t0)
                rec["v"].append(out.strip())
            except (OSError, subprocess.SubprocessError) as exc:
                rec["error"] = str(exc)
                return
            rec["overhead_s"] += time.monotonic() - t0
            self._stop.wait(interval)

    def _stream(self, spec, rec):
        try:
            proc = subprocess.Popen(
                spec["argv"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True
            )
        except OSError as exc:
            rec["error"] = str(exc)
            return
        self._procs.append(proc)
        for line in proc.stdout:
            rec["t"].append(time.monotonic())
            rec["v"].append(line.rstrip("\n"))
            if self._stop.is_set():
                break


def read_snapshots(paths):
    out = {}
    for name, path in (paths or {}).items():
        try:
            with open(path) as f:
                out[name] = f.read().strip()
        except OSError as exc:
            out[name] = None
            out[name + ".error"] = str(exc)
    return out


# ---------------------------------------------------------------------------- sessions
def session_options(ort, settings, profile_prefix=None):
    so = ort.SessionOptions()
    applied = {}
    if settings.get("intra_op_num_threads") is not None:
        so.intra_op_num_threads = int(settings["intra_op_num_threads"])
        applied["intra_op_num_threads"] = so.intra_op_num_threads
    if settings.get("inter_op_num_threads") is not None:
        so.inter_op_num_threads = int(settings["inter_op_num_threads"])
        applied["inter_op_num_threads"] = so.inter_op_num_threads
    level = settings.get("graph_optimization_level", "all")
    so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, _OPT_LEVELS.get(level, level))
    applied["graph_optimization_level"] = level
    if settings.get("allow_spinning") is not None:
        value = "1" if settings["allow_spinning"] else "0"
        so.add_session_config_entry("session.intra_op.allow_spinning", value)
        applied["allow_spinning"] = settings["allow_spinning"]
    if profile_prefix:
        so.enable_profiling = True
        so.profile_file_prefix = profile_prefix
    return so, applied


def providers_arg(job):
    req = job.get("provider", "CPUExecutionProvider")
    opts = job.get("provider_options") or {}
    provs = [(req, {k: str(v) for k, v in opts.items()})]
    if req != "CPUExecutionProvider":
        provs.append(("CPUExecutionProvider", {}))
    return provs


def create_session(ort, job, path, profile_prefix=None):
    so, applied = session_options(ort, job.get("session") or {}, profile_prefix)
    t0 = time.perf_counter()
    sess = ort.InferenceSession(path, sess_options=so, providers=providers_arg(job))
    return sess, (time.perf_counter() - t0) * 1000.0, applied


def ep_placement(ort, job, path, run_once, out_dir):
    """Run once with ORT profiling in a separate session; count nodes and time per EP.

    Kept out of the timed runs. Returns {ep: {"nodes": n, "time_us": t}}, or {} when the CPU
    EP is the only provider asked for: every node runs on it, and a second, profiled session
    would only cost the cell its load time again.
    """
    if [name for name, _ in providers_arg(job)] == ["CPUExecutionProvider"]:
        return {}
    prefix = os.path.join(out_dir, "ort_profile")
    sess, _, _ = create_session(ort, job, path, profile_prefix=prefix)
    run_once(sess)
    prof_path = sess.end_profiling()
    placement = {}
    try:
        with open(prof_path) as f:
            events = json.load(f)
        for ev in events:
            if ev.get("cat") != "Node" or not str(ev.get("name", "")).endswith("_kernel_time"):
                continue
            ep = (ev.get("args") or {}).get("provider", "unknown")
            slot = placement.setdefault(ep, {"nodes": 0, "time_us": 0})
            slot["nodes"] += 1
            slot["time_us"] += int(ev.get("dur", 0))
    finally:
        try:
            os.remove(prof_path)
        except OSError:
            pass
    return placement


def summarize_providers(ort, job, sess, placement):
    requested = job.get("provider", "CPUExecutionProvider")
    total = sum(v["nodes"] for v in placement.values()) or 0
    on_req = placement.get(requested, {}).get("nodes", 0)
    frac = (float(on_req) / total) if total else None
    only = list(sess.get_providers()) == [requested]
    if not placement and only:
        frac = 1.0  # a single provider ran every node: nothing was profiled
    if placement:
        used = max(placement.items(), key=lambda kv: kv[1]["nodes"])[0]
    else:
        used = sess.get_providers()[0]
    fallback = requested not in sess.get_providers() or (frac is not None and frac < 0.5)
    return {
        "requested": requested,
        "available": ort.get_available_providers(),
        "session": sess.get_providers(),
        "placement": placement,
        "used": used,
        "fallback": bool(fallback),
        "requested_fraction": frac,
        "placement_method": "profiled run" if placement else ("single provider" if only else "unknown"),
    }


# ---------------------------------------------------------------------------- timing
class Stopwatch(object):
    """Accumulates time spent in measurement windows (for orchestration overhead)."""

    def __init__(self):
        self.total = 0.0

    def add(self, seconds):
        self.total += seconds


def timed_call(fn, slowdown):
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    if slowdown:
        time.sleep(dt * slowdown)  # test-only knob: a known, injected regression
        dt = time.perf_counter() - t0
    return dt


def say(line):
    """A protocol line on stdout. A host gone meanwhile is no error here: its stdin's EOF tells."""
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, OSError, ValueError):
        pass


class Handoff(object):
    """The job's handoff: while this runner warms up, the host starts the next cell's runner.

    The first warm-up is announced on stdout and held (more discarded calls, past the job's own
    rule) until the host answers "go" on stdin, stdin closes or handoff_s passes; one more call
    then warms up on a quiet device. No steady window shares the device with a start-up.
    """

    def __init__(self, max_s, fd):
        self.max_s = max_s
        self.fd = fd
        self.pending = max_s > 0 and fd is not None
        self.held_s = 0.0
        self._t0 = None
        self._done = False
        self._buf = b""

    def begin(self):
        """At a warm-up's start: True (and announced) for the first one of a handoff job."""
        if not self.pending:
            return False
        self.pending = False
        self._t0 = time.perf_counter()
        say(WARM_UP)
        return True

    def answered(self):
        """Non-blocking: has "go" come (or EOF, or handoff_s passed)?"""
        if not self._done:
            if time.perf_counter() - self._t0 >= self.max_s:
                self._done = True
            else:
                while not self._done and select.select([self.fd], [], [], 0)[0]:
                    chunk = os.read(self.fd, 64)
                    self._buf += chunk
                    self._done = not chunk or (GO + "\n").encode() in self._buf
        return self._done

    def hold(self, call):
        """After the job's own warm-up: keep calling until answered, then once more."""
        t0 = time.perf_counter()
        n = 0
        while not self.answered():
            call()
            n += 1
        call()
        self.held_s = time.perf_counter() - t0
        return n + 1


def measure(fn, m, slowdown=0.0, watch=None, meter=None, handoff=None):
    """Warm-up (discarded), then steady-state samples under the stopping rule.

    Returns (samples_ms, warmup_n, stopped_by, window) where window is the monotonic
    [start, end] of the steady phase, for aligning probe samples. With a LoadMeter, its
    readings bracket the steady phase (``meter.last``). A Handoff may hold the first warm-up.
    """
    warmup = int(m.get("warmup", 3))
    warmup_s = float(m.get("warmup_s", 0.2))
    min_it = int(m.get("min_iterations", 10))
    min_s = float(m.get("min_seconds", 1.0))
    max_s = float(m.get("max_seconds", 10.0))
    max_it = int(m.get("max_iterations", 1000000))
    t_start = time.perf_counter()
    n_warm = 0
    held = handoff is not None and handoff.begin()
    while n_warm < warmup or (time.perf_counter() - t_start) < warmup_s:
        timed_call(fn, slowdown)
        n_warm += 1
        if time.perf_counter() - t_start > max_s:
            break
    if held:
        n_warm += handoff.hold(lambda: timed_call(fn, slowdown))
    limit = m.get("contention_cores")
    retries = int(m.get("contention_retries", 2)) if limit is not None and meter is not None else 0
    best = None
    for attempt in range(retries + 1):
        window = steady_window(fn, slowdown, meter, min_it, min_s, max_s, max_it)
        others = window[3]
        if best is None or (others is not None and (best[3] is None or others < best[3])):
            best = window
        if limit is None or others is None or others <= float(limit):
            break
    if meter is not None:
        meter.last = best[4]
        meter.retried = attempt  # windows measured again because others took more than the limit
    if watch is not None:
        watch.add(time.perf_counter() - t_start)
    return best[0], n_warm, best[1], best[2]


def steady_window(fn, slowdown, meter, min_it, min_s, max_s, max_it):
    """One steady window under the stopping rule: (samples_ms, stopped_by, [w0, w1], others' cores,
    load readings). Contention: a window during which other processes took more than the job's
    measure.contention_cores is measured again, up to measure.contention_retries times, and the
    quietest kept; the result's load.retries says how many were measured again per series."""
    samples = []
    load_before = meter.read() if meter is not None else None
    w0 = time.monotonic()
    s0 = time.perf_counter()
    stopped_by = "max_seconds"
    while True:
        samples.append(timed_call(fn, slowdown) * 1000.0)
        elapsed = time.perf_counter() - s0
        if len(samples) >= min_it and elapsed >= min_s:
            stopped_by = "min_iterations+min_seconds"
            break
        if elapsed >= max_s:
            stopped_by = "max_seconds"
            break
        if len(samples) >= max_it:
            stopped_by = "max_iterations"
            break
    w1 = time.monotonic()
    if meter is None:
        return samples, stopped_by, [w0, w1], None, None
    meter.close_window(load_before, meter.read())
    return samples, stopped_by, [w0, w1], meter.others_cores(), meter.last


# ---------------------------------------------------------------------------- inputs
def load_feed_sets(np, path):
    """npz keys "<label>/<input>" -> {label: {input: array}} (ordered by label)."""
    sets = {}
    if not path:
        return sets
    with np.load(path, allow_pickle=False) as z:
        for key in z.files:
            label, _, name = key.rpartition("/")
            sets.setdefault(label, {})[name] = z[key]
    return dict(sorted(sets.items()))


def series_name(base, label):
    return base + ("@" + label if label else "")


def load_role(ort, job, ctx, role):
    """Create the session for one model role, counting its load time."""
    sess, load_ms, applied = create_session(ort, job, job["models"][role])
    ctx.watch.add(load_ms / 1000.0)
    ctx.result["load_ms"][role] = load_ms
    ctx.result["session"] = applied
    return sess


def require_feed_sets(np, job, want):
    feed_sets = load_feed_sets(np, job.get("inputs"))
    if not feed_sets:
        raise ValueError("job for kind %r has no inputs%s" % (job.get("kind"), want))
    return feed_sets


# ---------------------------------------------------------------------------- kinds
def feedback_pairs(sess, params):
    """params["feedback"] {input: output} -> [(input, output index)], checked against the model."""
    pairs = (params or {}).get("feedback") or {}
    inputs = set(i.name for i in sess.get_inputs())
    outputs = [o.name for o in sess.get_outputs()]
    out = []
    for inp, src in sorted(pairs.items()):
        if inp not in inputs:
            raise ValueError("feedback names input %r, not an input of the model (%s)" % (inp, sorted(inputs)))
        if src not in outputs:
            raise ValueError("feedback feeds %r from output %r, not an output of the model (%s)" % (inp, src, outputs))
        out.append((inp, outputs.index(src)))
    return out


def run_single(ort, np, job, ctx):
    """One model, one sess.run per iteration; a series per feed set (e.g. batch size).

    With params["feedback"] ({input: output}), each timed step feeds the previous step's
    output (a streaming model's state); the first inference runs on the given inputs.
    """
    path = job["models"]["model"]
    sess = load_role(ort, job, ctx, "model")
    feed_sets = require_feed_sets(np, job, "")
    feedback = feedback_pairs(sess, job.get("params"))
    outputs = {}
    slowdown = float(job.get("test_slowdown") or 0.0)
    for label, given in feed_sets.items():
        feeds = dict(given)  # the state inputs change from step to step
        t0 = time.perf_counter()
        first = sess.run(None, feeds)
        first_ms = (time.perf_counter() - t0) * 1000.0
        ctx.watch.add(first_ms / 1000.0)
        ctx.result["first_inference_ms"][label or "default"] = first_ms
        for meta, value in zip(sess.get_outputs(), first):
            outputs[label + "/" + meta.name] = np.asarray(value)
        for inp, idx in feedback:
            feeds[inp] = first[idx]

        if feedback:
            def once(feeds=feeds):
                outs = sess.run(None, feeds)
                for inp, idx in feedback:
                    feeds[inp] = outs[idx]
        else:
            def once(feeds=feeds):
                sess.run(None, feeds)

        samples, n_warm, stopped, window = measure(once, job.get("measure") or {}, slowdown, ctx.watch, ctx.load,
                                                     ctx.handoff)
        name = series_name("latency_ms", label)
        ctx.result["series"][name] = {
            "unit": "ms",
            "samples": samples,
            "warmup_n": n_warm,
            "stopped_by": stopped,
        }
        ctx.steady_window(name, window)
    first_feeds = next(iter(feed_sets.values()))
    ctx.place_after_peak(ort, job, sess, path, lambda s: s.run(None, first_feeds))
    return outputs


# ---------------------------------------------------------------------------- generation kinds
_NP_TYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64"}


def _empty_past(np, sess, batch, prefix="past_key_values."):
    """Zero-length past tensors for every past input, sized from the model's declared shapes.

    Layout [batch, heads, past_len, head_dim]: dim 0 is the batch, dim 2 the past length.
    """
    past = {}
    for meta in sess.get_inputs():
        if not meta.name.startswith(prefix):
            continue
        shape = []
        for i, d in enumerate(meta.shape):
            if i == 0:
                shape.append(batch)
            elif i == 2:
                shape.append(0)
            elif isinstance(d, int):
                shape.append(d)
            else:
                raise ValueError("cannot size input %s: dim %d is symbolic (%r)" % (meta.name, i, d))
        past[meta.name] = np.zeros(shape, dtype=_NP_TYPES.get(meta.type, "float32"))
    return past


def _named(sess, outs):
    return dict(zip([o.name for o in sess.get_outputs()], outs))


def _present_to_past(named, only=None):
    """present.N.x -> past_key_values.N.x (optionally only names containing ``only``)."""
    past = {}
    for name, value in named.items():
        if name.startswith("present.") and (only is None or only in name):
            past["past_key_values." + name[len("present."):]] = value
    return past


class _Timer(object):
    """Times calls like measure() does (same test_slowdown knob); collects ms per call."""

    def __init__(self, slowdown):
        self.slowdown = slowdown

    def call(self, fn):
        box = []
        ms = timed_call(lambda: box.append(fn()), self.slowdown) * 1000.0
        return box[0], ms


class _NumpySteps(object):
    """Decode steps through the public ``InferenceSession.run`` (feeds and outputs as numpy).

    The path for sessions that are not ORT's (the recording session that collects calibration
    data) and for a job with ``params.kv_cache: numpy`` (the overhead benchmark's baseline).
    """

    method = "numpy"

    def __init__(self, np, sess):
        self.np = np
        self.sess = sess
        self.names = [o.name for o in sess.get_outputs()]
        self.logits_at = self.names.index("logits")
        self.present = [(i, "past_key_values." + n[len("present."):])
                        for i, n in enumerate(self.names) if n.startswith("present.")]

    def empty_past(self):
        return _empty_past(self.np, self.sess, 1)

    def _run(self, feeds):
        return self.sess.run(None, feeds)

    def run(self, feeds, past):
        feeds.update(past)
        outs = self._run(feeds)
        return outs[self.logits_at], dict((name, outs[i]) for i, name in self.present)

    def array(self, value):
        return value


class _DirectSteps(_NumpySteps):
    """Decode steps with the KV cache as ORT's own OrtValues (``kv_cache: direct``; the llm kind's default).

    The KV cache stays the OrtValues ORT returned: each present.N.* goes back in as the next step's
    past_key_values.N.* through the session's C++ binding (``run_with_ort_values``), with no numpy
    array made or read per cache tensor; only the step's three small feeds become OrtValues (over
    their numpy buffers, no copy). The logits are read as a numpy view of ORT's buffer after the
    call. The timed call still holds the binding's conversion of the feed dict and its output list
    (10-20 us a step more than ``iobinding``'s, benchmarks/test_decode_overhead.py).
    """

    method = "direct"

    def __init__(self, ort, np, sess):
        _NumpySteps.__init__(self, np, sess)
        c = ort.capi._pybind_state
        self._call = sess._sess.run_with_ort_values  # checked by decode_steps
        self._from_numpy = c.OrtValue.ortvalue_from_numpy
        self._cpu = c.OrtDevice(c.OrtDevice.cpu(), c.OrtDevice.default_memory(), 0)
        self._options = c.RunOptions()

    def empty_past(self):
        self._held = _empty_past(self.np, self.sess, 1)  # an OrtValue over numpy does not hold the array
        return dict((name, self._from_numpy(value, self._cpu)) for name, value in self._held.items())

    def run(self, feeds, past):
        from_numpy, cpu = self._from_numpy, self._cpu
        values = dict((name, from_numpy(value, cpu)) for name, value in feeds.items())
        values.update(past)
        outs = self._call(values, self.names, self._options)
        return outs[self.logits_at], dict((name, outs[i]) for i, name in self.present)

    def array(self, value):
        return value.numpy()  # a view of ORT's buffer on the CPU

    def decode(self, past, token, total, n_steps, feeds_of, pick, slowdown):
        """``n_steps`` greedy decode steps on ``past`` (the cache after ``total`` tokens): ms per step.

        ``pick(logits)`` chooses each next token after the timed call. The timed call holds what the
        native runner's holds — the step's feeds, the run, the cache hand-over — with the interpreter's
        part cut to one dict of OrtValues: every step's small feeds (``feeds_of(ids, total)``: views of
        arrays built once) are made OrtValues before the first step, and the token goes into the one
        [1, 1] buffer its OrtValue reads. That takes 7-9 us a step off the tiny decoder (in one process,
        interleaved) and is what an app's loop over the C API does.
        """
        from_numpy, cpu, call, names, options = self._from_numpy, self._cpu, self._call, self.names, self._options
        ids = self.np.zeros((1, 1), dtype=self.np.int64)
        steps = [dict((name, from_numpy(value, cpu)) for name, value in feeds_of(ids, t).items())
                 for t in range(total + 1, total + n_steps + 1)]
        present, logits_at, clock = self.present, self.logits_at, time.perf_counter
        step_ms = []
        for feeds in steps:
            ids[0, 0] = token
            t0 = clock()
            feeds.update(past)
            outs = call(feeds, names, options)
            past = [(name, outs[i]) for i, name in present]
            dt = clock() - t0
            if slowdown:
                time.sleep(dt * slowdown)  # the test-only knob, as timed_call applies it
                dt = clock() - t0
            step_ms.append(dt * 1000.0)
            feeds.clear()  # this step's dict held the last cache: release it now, not at the loop's end
            token = pick(outs[logits_at].numpy())
        return step_ms


class _BoundSteps(_DirectSteps):
    """Decode steps on a bound session: the default (``kv_cache: iobinding``).

    Before each step's timed call, and outside it, the step's small feeds (made OrtValues before the
    first step) and the last step's present.N.* OrtValues (as past_key_values.N.*) are bound as the
    session's inputs through IoBinding and its outputs bound to the CPU, unallocated (ORT allocates
    them in Run, as it does for the native runner's Run); the timed call is the binding's Run alone
    (``run_with_iobinding``): no feed dict, no name look-up, no output list is made inside it. That
    is what the native runner times per step (runner/src/kinds.cpp, lm_generate). The prefill and
    other one-off calls go through ``direct``'s ``run``. Outputs are rebound every step: a bound,
    allocated output would be reused, and the present tensors grow by one position per step.
    """

    method = "iobinding"

    def __init__(self, ort, np, sess):
        _DirectSteps.__init__(self, ort, np, sess)
        self._binding = sess.io_binding()._iobinding
        self._run_bound = sess._sess.run_with_iobinding  # checked by decode_steps

    def decode(self, past, token, total, n_steps, feeds_of, pick, slowdown):
        """``n_steps`` greedy decode steps on ``past`` (the cache after ``total`` tokens): ms per step.

        ``pick(logits)`` chooses each next token after the timed call; the token goes into the one
        [1, 1] buffer its OrtValue reads, bound (with the step's mask and positions and the cache)
        before the call.
        """
        from_numpy, cpu, names, options = self._from_numpy, self._cpu, self.names, self._options
        bind_input, bind_output, binding, run = (self._binding.bind_ortvalue_input, self._binding.bind_output,
                                                 self._binding, self._run_bound)
        ids = self.np.zeros((1, 1), dtype=self.np.int64)
        steps = [[(name, from_numpy(value, cpu)) for name, value in feeds_of(ids, t).items()]
                 for t in range(total + 1, total + n_steps + 1)]
        present, logits_at, clock = self.present, self.logits_at, time.perf_counter
        past = list(past.items()) if isinstance(past, dict) else past
        step_ms = []
        try:
            for feeds in steps:
                ids[0, 0] = token
                for name, value in feeds:
                    bind_input(name, value)
                for name, value in past:
                    bind_input(name, value)
                binding.clear_binding_outputs()
                for name in names:
                    bind_output(name, cpu)
                t0 = clock()
                run(binding, options)
                dt = clock() - t0
                if slowdown:
                    time.sleep(dt * slowdown)  # the test-only knob, as timed_call applies it
                    dt = clock() - t0
                step_ms.append(dt * 1000.0)
                outs = binding.get_outputs()
                past = [(name, outs[i]) for i, name in present]
                token = pick(outs[logits_at].numpy())
        finally:  # the binding holds the last cache and the feeds' buffers: let them go
            binding.clear_binding_inputs()
            binding.clear_binding_outputs()
        return step_ms


KV_CACHE_PATHS = ("iobinding", "direct", "numpy")  # the first is the text-generation kind's default


def decode_steps(ort, np, sess, method="iobinding"):
    """How the KV cache travels between decode steps (``params.kv_cache``); a session that is not
    ORT's own (no C++ binding under it) takes the public API."""
    if method not in KV_CACHE_PATHS:
        raise ValueError("params.kv_cache is %r; one of %s" % (method, list(KV_CACHE_PATHS)))
    binding = getattr(sess, "_sess", None)
    native = ort is not None and hasattr(binding, "run_with_ort_values") and hasattr(binding, "run_with_iobinding")
    if method == "iobinding" and native:
        return _BoundSteps(ort, np, sess)
    if method == "direct" and native:
        return _DirectSteps(ort, np, sess)
    return _NumpySteps(np, sess)


def lm_generate(np, sess, prompt_ids, n_tokens, timer, keep=False, steps=None):
    """Greedy generation with KV cache: prefill (the first token), then n_tokens-1 decode steps.

    A model without past_key_values inputs re-runs the whole sequence at each step. ``steps``
    (decode_steps) says how the cache travels between steps; default: through numpy. A path with
    its own decode loop (``iobinding``, ``direct``) runs the steps after the prefill.
    The prefill's timed call covers the feeds, the run and the cache hand-over; a decode step's,
    the path's call (``iobinding``: the Run alone on feeds bound before it, as the native runner
    times it; ``numpy``: the step's feeds, the run, the hand-over); the argmax is outside.

    Returns {"tokens", "ttft_ms", "step_ms"} plus, with keep, "prefill_logits" [P,V] and
    "step_logits" [n_tokens, V] (the distribution each token was picked from).
    """
    steps = steps or _NumpySteps(np, sess)
    names = set(i.name for i in sess.get_inputs())
    cached = any(n.startswith("past_key_values.") for n in names)  # else: re-run the whole sequence
    prompt_ids = np.asarray(prompt_ids, dtype=np.int64).reshape(1, -1)
    p_len = prompt_ids.shape[1]

    longest = p_len + max(n_tokens - 1, 0)  # the mask and positions of every step: views of these
    ones = np.ones((1, longest), dtype=np.int64)
    positions = np.arange(longest, dtype=np.int64).reshape(1, -1)

    def feeds_of(ids, total):
        feeds = {"input_ids": ids}
        if "attention_mask" in names:
            feeds["attention_mask"] = ones[:, :total]
        if "position_ids" in names:
            feeds["position_ids"] = positions[:, total - ids.shape[1]:total]
        return feeds

    def step(ids, total, past):
        return steps.run(feeds_of(ids, total), past)

    (logits, past), ttft = timer.call(lambda: step(prompt_ids, p_len, steps.empty_past()))
    logits = steps.array(logits)
    tokens = [int(np.argmax(logits[0, -1]))]
    out = {"ttft_ms": ttft, "step_ms": []}
    step_logits = []
    if keep:
        out["prefill_logits"] = np.array(logits[0], dtype=np.float32)
        step_logits.append(np.array(logits[0, -1], dtype=np.float32))

    def pick(logits):
        tokens.append(int(np.argmax(logits[0, -1])))
        if keep:
            step_logits.append(np.array(logits[0, -1], dtype=np.float32))
        return tokens[-1]

    total = p_len
    if cached and n_tokens > 1 and hasattr(steps, "decode"):  # an ORT session's path: its own tight loop
        out["step_ms"] = steps.decode(past, tokens[-1], total, n_tokens - 1, feeds_of, pick,
                                      getattr(timer, "slowdown", 0.0))
    else:
        for _ in range(n_tokens - 1):
            total += 1
            if cached:
                ids = np.array([[tokens[-1]]], dtype=np.int64)
            else:
                ids = np.concatenate([prompt_ids, np.array([tokens], dtype=np.int64)], axis=1)
            (logits, past), ms = timer.call(lambda ids=ids, total=total, past=past: step(ids, total, past))
            out["step_ms"].append(ms)
            pick(steps.array(logits))
    out["tokens"] = np.array(tokens, dtype=np.int64)
    if keep:
        out["step_logits"] = np.stack(step_logits)
    return out


def _measure_generation(ctx, job, once, runs, prompt, label, n_tok):
    """Generations under the stopping rule: TTFT, decode steps and whole generations as series (``once``
    appends one generation's {"ttft_ms", "step_ms"} to ``runs``)."""
    samples, n_warm, stopped, window = measure(once, job.get("measure") or {}, 0.0, ctx.watch, ctx.load, ctx.handoff)
    steady = runs[n_warm:]
    _append_series(ctx, "ttft_ms@" + prompt, [r["ttft_ms"] for r in steady], n_warm, stopped)
    if n_tok > 1:
        _append_series(ctx, "decode_ms@" + label, [ms for r in steady for ms in r["step_ms"]], n_warm, stopped)
    _append_series(ctx, "generation_ms@" + label, samples, n_warm, stopped)
    ctx.steady_window("generation_ms@" + label, window)


def _append_series(ctx, name, samples, n_warm, stopped, unit="ms"):
    s = ctx.result["series"].setdefault(name, {"unit": unit, "samples": [], "warmup_n": 0, "stopped_by": stopped})
    s["samples"].extend(samples)
    s["warmup_n"] += n_warm
    s["stopped_by"] = stopped


def _measure_grid(ctx, job, feed_sets, timer, generate, prefill=False):
    """Every generation-grid cell of a decoder (ORT decode steps or GenAI): a first generation kept (its
    tokens and step logits, with ``prefill`` the prompt's logits too, are the outputs), then the measured
    ones. ``generate(ids, n_tok, keep)``; the slowdown knob acts inside (per call), so every series
    shows it once."""
    outputs = {}
    for cell in _generation_grid(job, feed_sets, 16):
        label, prompt, n_tok = cell["label"], cell["prompt"], int(cell["generate"])
        if prompt not in feed_sets or "input_ids" not in feed_sets[prompt]:
            raise ValueError("grid cell %r names prompt %r, not in inputs (%s)" % (label, prompt, sorted(feed_sets)))
        ids = feed_sets[prompt]["input_ids"]
        first, first_ms = timer.call(lambda: generate(ids, n_tok, True))
        ctx.watch.add(first_ms / 1000.0)
        ctx.result["first_inference_ms"][label] = first_ms
        if prefill:
            outputs[prompt + "/prefill_logits"] = first["prefill_logits"]
        outputs[label + "/tokens"] = first["tokens"]
        outputs[label + "/logits"] = first["step_logits"]
        runs = []

        def once(ids=ids, n_tok=n_tok, runs=runs):
            runs.append(generate(ids, n_tok, False))

        _measure_generation(ctx, job, once, runs, prompt, label, n_tok)
    return outputs


def _generation_grid(job, feed_sets, default_generate):
    grid = (job.get("params") or {}).get("grid")
    if grid:
        return grid
    return [{"label": label + "g%d" % default_generate, "prompt": label, "generate": default_generate}
            for label in feed_sets]


def run_text_generation(ort, np, job, ctx):
    """Decoder LM with KV cache over a grid of prompt x generated lengths (llama-bench style).

    inputs: "<prompt label>/input_ids" [1,P]. params: {"grid": [{"label": "p32g16",
    "prompt": "p32", "generate": 16}, ...]} (default: 16 tokens per prompt).
    Series: "ttft_ms@p32" (prefill = time to first token), "decode_ms@p32g16" (one sample per
    decode step), "generation_ms@p32g16" (whole generations: the unit of the stopping rule).
    Outputs: "<prompt>/prefill_logits" [P,V], "<label>/tokens" [G], "<label>/logits" [G,V].
    params.kv_cache: how the KV cache travels between steps, "iobinding" (default), "direct" or
    "numpy" (see decode_steps); the result's session settings name the path ("kv_cache").
    """
    path = job["models"]["model"]
    sess = load_role(ort, job, ctx, "model")
    feed_sets = require_feed_sets(np, job, " (want '<label>/input_ids')")
    timer = _Timer(float(job.get("test_slowdown") or 0.0))
    steps = decode_steps(ort, np, sess, (job.get("params") or {}).get("kv_cache", "iobinding"))
    ctx.result["session"]["kv_cache"] = steps.method
    outputs = _measure_grid(ctx, job, feed_sets, timer,
                            lambda ids, n_tok, keep: lm_generate(np, sess, ids, n_tok, timer, keep=keep, steps=steps),
                            prefill=True)
    first_ids = next(iter(feed_sets.values()))["input_ids"]
    ctx.place_after_peak(ort, job, sess, path, lambda s: lm_generate(np, s, first_ids, 1, _Timer(0.0)))
    return outputs


def _llm_ids(np, params, vocab):
    """The token stream llama-bench's tests read: params.ids (the shipped text's ids, cycled) or,
    as llama-bench does, seeded pseudo-random ids."""
    ids = params.get("ids")
    if ids:
        ids = np.asarray(ids, dtype=np.int64)
        if ids.min() < 0 or ids.max() >= vocab:
            raise ValueError("params.ids holds a token outside the model's vocabulary of %d" % vocab)
    else:
        ids = np.random.RandomState(1).randint(0, vocab, size=8192).astype(np.int64)
    return np.resize(ids, 8192 + 4096)


def run_llm(ort, np, job, ctx):
    """llama-bench's tests on an ONNX decoder: the LLM runner's job kind "llm", the same series.

    params: {"pp": [512], "tg": [128], "depths": [0], "ids": [...], "kv_cache": "direct"}.
    Per depth D (a KV cache filled once with D tokens of the stream, untimed): "pp<N>@d<D>" =
    N prompt tokens in one call on that cache, "tg<N>@d<D>" = N greedy decode steps after it, both
    in tok/s, one sample per repetition; "ttft<N>_ms" (depth 0) = the prefill + the first argmax.
    A test past the model's position limit (params.n_ctx, if given) is skipped and listed.
    params.greedy N (with params.greedy_prompt, default 32): outputs "greedy_tokens", N int32 greedy
    tokens after the ids' first prompt tokens, untimed, as the LLM runner's (runners compare these).
    """
    params = job.get("params") or {}
    path = job["models"]["model"]
    sess = load_role(ort, job, ctx, "model")
    steps = decode_steps(ort, np, sess, params.get("kv_cache", "direct"))
    ctx.result["session"]["kv_cache"] = steps.method
    vocab = [o for o in sess.get_outputs() if o.name == "logits"][0].shape[-1]
    stream = _llm_ids(np, params, int(vocab))
    n_ctx = int(params.get("n_ctx") or len(stream))
    slowdown = float(job.get("test_slowdown") or 0.0)
    ones = np.ones((1, len(stream)), dtype=np.int64)
    positions = np.arange(len(stream), dtype=np.int64).reshape(1, -1)

    def call(first, n, past):
        feeds = {"input_ids": stream[first:first + n].reshape(1, -1), "attention_mask": ones[:, :first + n],
                 "position_ids": positions[:, first:first + n]}
        return steps.run(feeds, past)

    skipped = []
    first_call = [True]
    for depth in [int(d) for d in params.get("depths", [0])]:
        filled = steps.empty_past()
        if depth:
            _, filled = call(0, depth, filled)
        for pp in [int(n) for n in params.get("pp", [512]) if int(n) > 0]:
            name = "pp%d@d%d" % (pp, depth)
            if depth + pp > n_ctx:
                skipped.append("%s: past the model's context (%d)" % (name, n_ctx))
                continue
            ttft = []

            def pp_rep(pp=pp, depth=depth, filled=filled, ttft=ttft):
                t0 = time.perf_counter()
                logits, _ = call(depth, pp, filled)
                int(np.argmax(steps.array(logits)[0, -1]))
                ttft.append((time.perf_counter() - t0) * 1000.0)

            if first_call[0]:
                first_ms = timed_call(pp_rep, 0.0) * 1000.0
                ctx.watch.add(first_ms / 1000.0)
                ctx.result["first_inference_ms"][name] = first_ms
                first_call[0] = False
            del ttft[:]
            samples, n_warm, stopped, window = measure(pp_rep, job.get("measure") or {}, slowdown, ctx.watch,
                                                         ctx.load, ctx.handoff)
            _append_series(ctx, name, [pp * 1000.0 / ms for ms in samples], n_warm, stopped, unit="tok/s")
            ctx.steady_window(name, window)
            if depth == 0:
                _append_series(ctx, "ttft%d_ms" % pp, ttft[n_warm:], n_warm, stopped)
        for tg in [int(n) for n in params.get("tg", [128]) if int(n) > 0]:
            name = "tg%d@d%d" % (tg, depth)
            if depth + tg > n_ctx:
                skipped.append("%s: past the model's context (%d)" % (name, n_ctx))
                continue

            def tg_rep(tg=tg, depth=depth, filled=filled):
                past = filled
                tok = stream[depth]
                for i in range(tg):
                    feeds = {"input_ids": np.array([[tok]], dtype=np.int64),
                             "attention_mask": ones[:, :depth + i + 1], "position_ids": positions[:, depth + i:depth + i + 1]}
                    logits, past = steps.run(feeds, past)
                    tok = int(np.argmax(steps.array(logits)[0, -1]))  # greedy, as an app decodes

            samples, n_warm, stopped, window = measure(tg_rep, job.get("measure") or {}, slowdown, ctx.watch,
                                                         ctx.load, ctx.handoff)
            _append_series(ctx, name, [tg * 1000.0 / ms for ms in samples], n_warm, stopped, unit="tok/s")
            ctx.steady_window(name, window)
    if not ctx.result["series"]:
        raise ValueError("no test fits the model's context: %s" % skipped)
    if skipped:
        ctx.result["session"]["skipped"] = "; ".join(skipped)
    outputs = {}
    n_greedy = int(params.get("greedy") or 0)
    if n_greedy > 0:  # greedy continuation of the ids' first prompt tokens (untimed): runners compare these
        prompt = min(int(params.get("greedy_prompt", 32)), len(params.get("ids") or stream))
        logits, past = call(0, prompt, steps.empty_past())
        tokens = [int(np.argmax(steps.array(logits)[0, -1]))]
        while len(tokens) < n_greedy:
            at = prompt + len(tokens) - 1
            feeds = {"input_ids": np.array([[tokens[-1]]], dtype=np.int64), "attention_mask": ones[:, :at + 1],
                     "position_ids": positions[:, at:at + 1]}
            logits, past = steps.run(feeds, past)
            tokens.append(int(np.argmax(steps.array(logits)[0, -1])))
        outputs["greedy_tokens"] = np.array(tokens, dtype=np.int32)
    ctx.place_after_peak(ort, job, sess, path, lambda s: decode_steps(ort, np, s).run(
        {"input_ids": stream[:1].reshape(1, 1), "attention_mask": ones[:, :1], "position_ids": positions[:, :1]},
        decode_steps(ort, np, s).empty_past()))
    return outputs


def translate(np, sessions, src_ids, src_mask, n_tokens, start_id, timer, keep=False):
    """Encoder once, decoder for the first token, decoder_with_past for the rest (greedy).

    Always generates n_tokens (no early stop at EOS) so every run does the same work.
    """
    enc, dec, dec_past = sessions["encoder"], sessions["decoder"], sessions["decoder_with_past"]
    src_ids = np.asarray(src_ids, dtype=np.int64)
    src_mask = np.asarray(src_mask, dtype=np.int64)
    hidden, enc_ms = timer.call(lambda: enc.run(None, {"input_ids": src_ids, "attention_mask": src_mask})[0])
    start = np.full((src_ids.shape[0], 1), start_id, dtype=np.int64)
    named, first_ms = timer.call(lambda: _named(dec, dec.run(None, {
        "input_ids": start, "encoder_attention_mask": src_mask, "encoder_hidden_states": hidden})))
    past = _present_to_past(named)
    tokens = [int(np.argmax(named["logits"][0, -1]))]
    logits = [np.array(named["logits"][0, -1], dtype=np.float32)] if keep else None
    step_ms = []
    for _ in range(n_tokens - 1):
        feeds = {"input_ids": np.array([[tokens[-1]]], dtype=np.int64), "encoder_attention_mask": src_mask}
        feeds.update(past)
        named, ms = timer.call(lambda feeds=feeds: _named(dec_past, dec_past.run(None, feeds)))
        step_ms.append(ms)
        past.update(_present_to_past(named, only=".decoder."))
        tokens.append(int(np.argmax(named["logits"][0, -1])))
        if keep:
            logits.append(np.array(named["logits"][0, -1], dtype=np.float32))
    out = {"tokens": np.array(tokens, dtype=np.int64), "encoder_ms": enc_ms, "first_ms": first_ms, "step_ms": step_ms}
    if keep:
        out["logits"] = np.stack(logits)
        out["encoder_hidden"] = np.array(hidden, dtype=np.float32)
    return out


TRANSLATION_ROLES = ("encoder", "decoder", "decoder_with_past")


def run_translation(ort, np, job, ctx):
    """Marian-style encoder / decoder / decoder_with_past; one series set per source length.

    inputs: "<label>/input_ids", "<label>/attention_mask" (e.g. label "s16").
    params: {"max_new_tokens": 16, "decoder_start_token_id": 0}.
    Series: "encoder_ms@s16", "decoder_ms@s16" (one sample per with-past token),
    "sentence_ms@s16" (encoder + all decoder calls: the unit of the stopping rule).
    Outputs: "<label>/tokens", "<label>/logits" [n,V], "<label>/encoder_hidden".
    Three sessions share the cores: spinning is off unless the job says otherwise.
    """
    params = job.get("params") or {}
    settings = dict(job.get("session") or {})
    if settings.get("allow_spinning") is None:
        settings["allow_spinning"] = False
    job = dict(job, session=settings)
    missing = [r for r in TRANSLATION_ROLES if r not in job["models"]]
    if missing:
        raise ValueError("translation job lacks model role(s) %s" % missing)
    sessions = dict((role, load_role(ort, job, ctx, role)) for role in TRANSLATION_ROLES)
    feed_sets = require_feed_sets(np, job, " (want '<label>/input_ids')")
    n_new = int(params.get("max_new_tokens", 16))
    start_id = int(params.get("decoder_start_token_id", 0))
    timer = _Timer(float(job.get("test_slowdown") or 0.0))
    outputs = {}
    for label, feeds in feed_sets.items():
        ids = feeds["input_ids"]
        mask = feeds.get("attention_mask")
        if mask is None:
            mask = np.ones(ids.shape, dtype=np.int64)
        first, first_ms = timer.call(lambda: translate(np, sessions, ids, mask, n_new, start_id, timer, keep=True))
        ctx.watch.add(first_ms / 1000.0)
        ctx.result["first_inference_ms"][label or "default"] = first_ms
        for key in ("tokens", "logits", "encoder_hidden"):
            outputs[label + "/" + key] = first[key]
        runs = []

        def once(ids=ids, mask=mask, runs=runs):
            runs.append(translate(np, sessions, ids, mask, n_new, start_id, timer))

        samples, n_warm, stopped, window = measure(once, job.get("measure") or {}, 0.0, ctx.watch, ctx.load,
                                                     ctx.handoff)
        steady = runs[n_warm:]
        _append_series(ctx, series_name("encoder_ms", label), [r["encoder_ms"] for r in steady], n_warm, stopped)
        _append_series(ctx, series_name("decoder_ms", label), [ms for r in steady for ms in r["step_ms"]], n_warm,
                       stopped)
        _append_series(ctx, series_name("sentence_ms", label), samples, n_warm, stopped)
        ctx.steady_window(series_name("sentence_ms", label), window)
    first = next(iter(feed_sets.values()))
    ctx.place_after_peak(
        ort, job, sessions["decoder_with_past"], job["models"]["decoder_with_past"],
        lambda s: translate(np, dict(sessions, decoder_with_past=s), first["input_ids"],
                            first.get("attention_mask", np.ones(first["input_ids"].shape, dtype=np.int64)),
                            2, start_id, _Timer(0.0)))
    return outputs


KINDS = {"single": run_single, "text-generation": run_text_generation, "translation": run_translation,
         "llm": run_llm}


# ---------------------------------------------------------------------------- runtimes
# Runtimes other than ONNX Runtime (whose path above stays as it is). A job's "runtime" block
# names one; its adapter is imported only then. Adding a runtime: its host module
# (harness/runtimes/<name>.py), one adapter class here, one line in RUNTIME_ADAPTERS and in
# RUNTIME_DISTS. An adapter is built with (np, job) and offers:
#   load(paths)      -> create the runtime's session from the job's artifact files (timed: load_ms)
#   prepare(feeds)   -> the feeds as the runtime takes them (layouts, contiguity, input resizes),
#                       done before the timed calls, as a bare loop over its API would
#   run(native)      -> one inference: set inputs, infer, fetch outputs (the timed call)
#   outputs(raw)     -> {onnx output name: array in the ONNX layout} (fidelity; never timed)
#   applied          -> the settings it applied (the result's "session")
#   device, devices  -> where it ran and where it could have (the result's "providers")

RUNTIME_DISTS = {
    "onnxruntime": ("onnxruntime", "onnxruntime-gpu", "onnxruntime-openvino", "onnxruntime-qnn"),
    "ncnn": ("ncnn",),
    "mnn": ("MNN",),
    "openvino": ("openvino",),
    "litert": ("ai-edge-litert", "tflite-runtime"),
    "onnxruntime-genai": ("onnxruntime-genai",),
    "tensorrt": ("tensorrt", "tensorrt-cu13", "tensorrt-cu12", "tensorrt-cu11"),  # JetPack's: by its module
    "coreml": ("coremltools",),
    "qnn": (),  # ONNX Runtime execution providers: present when the probe's onnxruntime has them
    "nnapi": (),
    "llama.cpp": ("llama-cpp-python",),  # reported only: its cells run on the LLM runner (runner/llm/)
}


def runtime_versions():
    """runtime name -> installed version (distribution metadata: nothing is imported)."""
    try:
        from importlib import metadata
    except ImportError:  # Python < 3.8
        return {}
    out = {}
    for name, dists in RUNTIME_DISTS.items():
        for dist in dists:
            try:
                out[name] = metadata.version(dist)
                break
            except Exception:  # noqa: BLE001 - not installed
                continue
    return out


def _inverse(perm):
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return inv


def _threads(job, options):
    n = options.get("num_threads")
    if n is None:
        n = (job.get("session") or {}).get("intra_op_num_threads")
    return int(n) if n else None


class _Adapter(object):
    device = "CPU"

    def __init__(self, np, job):
        self.np = np
        rt = job["runtime"]
        self.options = dict(rt.get("options") or {})
        self.options.update(rt.get("settings") or {})  # the precision's settings win over the backend's
        self.io = rt.get("io") or {}
        self.inputs = self.io.get("inputs") or []
        self.outputs_map = self.io.get("outputs") or []
        self.threads = _threads(job, self.options)
        self.applied = {}
        self.devices = [self.device]
        self.version = None  # the runtime's own version string, once loaded

    def _to_artifact(self, feeds):
        """ONNX feeds -> [(artifact name, array)] in the artifact's layout, contiguous."""
        np = self.np
        out = []
        for t in self.inputs:
            arr = feeds[t["onnx"]]
            if t.get("perm"):
                arr = np.transpose(arr, t["perm"])
            out.append((t["artifact"], np.ascontiguousarray(arr)))
        return out

    def _from_artifact(self, values):
        """[array per output, in io order] -> {onnx name: array in the ONNX layout}."""
        np = self.np
        out = {}
        for t, value in zip(self.outputs_map, values):
            arr = np.array(value)
            if t.get("perm"):
                arr = np.transpose(arr, _inverse(t["perm"]))
            out[t["onnx"]] = arr
        return out

    def outputs(self, raw):
        return self._from_artifact(raw)


class OpenVinoAdapter(_Adapter):
    """OpenVINO: reads the .onnx; INFERENCE_PRECISION_HINT from the precision's settings."""

    def load(self, paths):
        import openvino as ov

        core = ov.Core()
        self.device = str(self.options.get("device", "CPU"))
        self.devices = list(core.available_devices)
        config = {"PERFORMANCE_HINT": str(self.options.get("performance_hint", "LATENCY"))}
        if self.threads:
            config["INFERENCE_NUM_THREADS"] = self.threads
        hint = self.options.get("INFERENCE_PRECISION_HINT")
        if hint:
            config["INFERENCE_PRECISION_HINT"] = str(hint)
        compiled = core.compile_model(core.read_model(paths["model"]), self.device, config)
        self.request = compiled.create_infer_request()
        self.names = [o.get_any_name() for o in compiled.outputs]
        self.version = str(ov.get_version())
        self.applied = {"device": self.device}
        for key in ("INFERENCE_PRECISION_HINT", "INFERENCE_NUM_THREADS", "PERFORMANCE_HINT"):
            try:
                self.applied[key] = str(compiled.get_property(key))
            except Exception:  # noqa: BLE001 - a device without the property
                pass

    def prepare(self, feeds):
        return dict(self._to_artifact(feeds))

    def run(self, native):
        self.request.infer(native)
        return [self.request.get_output_tensor(i).data for i in range(len(self.names))]

    def outputs(self, raw):
        by_name = dict(zip(self.names, raw))
        values = [by_name.get(t["artifact"], raw[i] if i < len(raw) else None) for i, t in enumerate(self.outputs_map)]
        return self._from_artifact(values)


class NcnnAdapter(_Adapter):
    """ncnn: .param + .bin from pnnx; no batch dimension, so a batch of N is N extractions."""

    def load(self, paths):
        import ncnn

        net = ncnn.Net()
        net.opt.use_vulkan_compute = bool(self.options.get("use_vulkan_compute", False))
        if self.options.get("lightmode") is not None:
            net.opt.lightmode = bool(self.options["lightmode"])
        if self.threads:
            net.opt.num_threads = self.threads
        for key in ("use_fp16_storage", "use_fp16_packed", "use_fp16_arithmetic"):
            if key in self.options:
                setattr(net.opt, key, bool(self.options[key]))
        if net.load_param(paths["model"]) != 0 or net.load_model(paths["weights"]) != 0:
            raise RuntimeError("ncnn could not load %s / %s" % (paths["model"], paths["weights"]))
        self.ncnn, self.net = ncnn, net
        self.version = getattr(ncnn, "__version__", None)
        self.applied = {"num_threads": net.opt.num_threads, "use_vulkan_compute": net.opt.use_vulkan_compute,
                        "use_fp16_storage": net.opt.use_fp16_storage,
                        "use_fp16_arithmetic": net.opt.use_fp16_arithmetic}
        self.device = "vulkan" if net.opt.use_vulkan_compute else "CPU"
        self.devices = [self.device]

    def prepare(self, feeds):
        named = self._to_artifact(feeds)
        batch = named[0][1].shape[0] if named and named[0][1].ndim >= 2 else 1
        return [[(name, self.ncnn.Mat(self.np.ascontiguousarray(arr[i]))) for name, arr in named]
                for i in range(batch)]

    def run(self, native):
        outs = []
        for item in native:
            ex = self.net.create_extractor()
            for name, mat in item:
                ex.input(name, mat)
            got = []
            for t in self.outputs_map:
                ret, mat = ex.extract(t["artifact"])
                if ret != 0:
                    raise RuntimeError("ncnn extract %r failed (%d)" % (t["artifact"], ret))
                got.append(self.np.array(mat))
            outs.append(got)
        return outs

    def outputs(self, raw):
        np = self.np
        return {t["onnx"]: np.stack([item[i] for item in raw]) for i, t in enumerate(self.outputs_map)}


class MnnAdapter(_Adapter):
    """MNN: one .mnn file through its Module API (MNN.nn)."""

    def load(self, paths):
        import MNN

        config = {"precision": str(self.options.get("precision", "high")),
                  "backend": str(self.options.get("backend", "CPU"))}
        if self.threads:
            config["numThread"] = self.threads
        rt = MNN.nn.create_runtime_manager((config,))
        in_names = [t["artifact"] for t in self.inputs]
        out_names = [t["artifact"] for t in self.outputs_map]
        self.MNN = MNN
        self.net = MNN.nn.load_module_from_file(paths["model"], in_names, out_names, runtime_manager=rt)
        self.applied = dict(config)
        self.version = MNN.version() if hasattr(MNN, "version") else None
        self.device = config["backend"]
        self.devices = [self.device]

    def prepare(self, feeds):
        F = self.MNN.expr
        return [F.const(arr, list(arr.shape), F.NCHW) for _, arr in self._to_artifact(feeds)]

    def run(self, native):
        outs = self.net.forward(native)
        return [o.read() for o in outs]


class LiteRtAdapter(_Adapter):
    """LiteRT: a .tflite through ai_edge_litert's Interpreter (tflite_runtime where that is what
    the board has); inputs fed in the artifact's layout (NHWC after onnx2tf)."""

    def load(self, paths):
        try:
            import ai_edge_litert as module
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            import tflite_runtime as module
            from tflite_runtime.interpreter import Interpreter
        self.version = getattr(module, "__version__", None)
        self.interp = Interpreter(model_path=paths["model"], num_threads=self.threads)
        self.interp.allocate_tensors()
        self.in_details = self.interp.get_input_details()
        self.out_details = self.interp.get_output_details()
        self.applied = {"num_threads": self.threads}
        self._shape = None

    def _index(self, details, name, i):
        for d in details:
            if d["name"] == name or d["name"].split(":")[0] == name:
                return d["index"]
        return details[i]["index"]  # onnx2tf renames tensors: by position

    def prepare(self, feeds):
        named = self._to_artifact(feeds)
        idx = [self._index(self.in_details, name, i) for i, (name, _) in enumerate(named)]
        shape = [tuple(arr.shape) for _, arr in named]
        if shape != self._shape:  # a new batch size: resize and allocate before any timed call
            for j, (_, arr) in zip(idx, named):
                self.interp.resize_tensor_input(j, list(arr.shape))
            self.interp.allocate_tensors()
            self.out_details = self.interp.get_output_details()
            self._shape = shape
        return list(zip(idx, [arr for _, arr in named]))

    def run(self, native):
        for j, arr in native:
            self.interp.set_tensor(j, arr)
        self.interp.invoke()
        return [self.interp.get_tensor(d["index"]) for d in self.out_details]

    def outputs(self, raw):
        names = [d["name"] for d in self.out_details]
        values = []
        for i, t in enumerate(self.outputs_map):
            values.append(raw[names.index(t["artifact"])] if t["artifact"] in names else raw[i])
        return self._from_artifact(values)


class GenAIAdapter(object):
    """ONNX Runtime GenAI (text-generation jobs): a model folder run by its own generation loop.

    job["models"]: "config" (genai_config.json) and "model" (the decoder), pushed one by one;
    they are linked back into a folder under the names the config gives. Options: "provider"
    (GenAI's name: "cpu" default, "cuda", "dml", "qnn", ...). Threads: the job's
    intra_op_num_threads, overlaid on the config's decoder session options. Greedy search with
    min_length = max_length: every run makes the same number of tokens, EOS or not.
    """

    kinds = ("text-generation",)

    def __init__(self, np, job):
        import onnxruntime_genai as og

        self.np, self.og, self.job = np, og, job
        rt = job["runtime"]
        self.options = dict(rt.get("options") or {})
        self.options.update(rt.get("settings") or {})
        self.provider = str(self.options.get("provider", "cpu"))
        self.threads = (job.get("session") or {}).get("intra_op_num_threads")
        self.version = getattr(og, "__version__", None)

    def folder(self):
        """The pushed files as one folder (symlinks; copies where links are refused)."""
        models = self.job["models"]
        with open(models["config"]) as f:
            config = json.load(f)
        folder = os.path.join(self.job["out_dir"], "genai-model")
        if not os.path.isdir(folder):
            os.makedirs(folder)
        names = {"config": "genai_config.json", "model": config["model"]["decoder"]["filename"]}
        for role, path in models.items():
            dest = os.path.join(folder, names.get(role, os.path.basename(role)))
            if os.path.lexists(dest):
                os.remove(dest)
            try:
                os.symlink(os.path.abspath(path), dest)
            except OSError:
                import shutil

                shutil.copyfile(path, dest)
        return folder

    def load(self):
        og = self.og
        config = og.Config(self.folder())
        config.clear_providers()
        if self.provider != "cpu":
            config.append_provider(self.provider)
        if self.threads:
            config.overlay(json.dumps({"model": {"decoder": {"session_options": {
                "intra_op_num_threads": int(self.threads)}}}}))
        self.model = og.Model(config)
        self.applied = {"provider": self.provider, "intra_op_num_threads": self.threads}

    def generate(self, prompt_ids, n_tokens, timer, keep=False):
        """lm_generate's record through GenAI: append_tokens + the first generate_next_token (which
        picks from the prefill's logits) is the time to first token; each generate_next_token after
        it is one decode step. With keep, the logits of every pick (read untimed: get_logits runs
        the pending step, which the next generate_next_token then finds done)."""
        og, np = self.og, self.np
        ids = np.asarray(prompt_ids, dtype=np.int32).reshape(-1)
        params = og.GeneratorParams(self.model)
        total = int(ids.size + n_tokens)
        params.set_search_options(max_length=total, min_length=total, do_sample=False, batch_size=1)
        gen = og.Generator(self.model, params)
        logits = []

        def prefill():
            gen.append_tokens(ids)
            if keep:
                logits.append(np.array(gen.get_logits(), dtype=np.float32).reshape(-1))
            gen.generate_next_token()

        _, ttft = timer.call(prefill)
        tokens = [int(gen.get_next_tokens()[0])]
        out = {"ttft_ms": ttft, "step_ms": []}
        for _ in range(n_tokens - 1):
            if keep:
                logits.append(np.array(gen.get_logits(), dtype=np.float32).reshape(-1))
            _, ms = timer.call(gen.generate_next_token)
            out["step_ms"].append(ms)
            tokens.append(int(gen.get_next_tokens()[0]))
        out["tokens"] = np.array(tokens, dtype=np.int64)
        if keep:
            out["step_logits"] = np.stack(logits)
        return out

    def run_kind(self, np, job, ctx):
        """The text-generation kind's series (see run_text_generation), the decoder's logits per
        pick as "<label>/logits"; no "<prompt>/prefill_logits" (GenAI keeps the last position's)."""
        t0 = time.perf_counter()
        self.load()
        load_ms = (time.perf_counter() - t0) * 1000.0
        ctx.watch.add(load_ms / 1000.0)
        ctx.result["load_ms"]["model"] = load_ms
        ctx.result["session"] = dict((k, v) for k, v in self.applied.items() if isinstance(v, (int, str, bool)))
        ctx.result["env"]["runtimes"] = {"onnxruntime-genai": self.version or "unknown"}
        feed_sets = require_feed_sets(np, job, " (want '<label>/input_ids')")
        timer = _Timer(float(job.get("test_slowdown") or 0.0))
        outputs = _measure_grid(ctx, job, feed_sets, timer,
                                lambda ids, n_tok, keep: self.generate(ids, n_tok, timer, keep=keep))
        requested = "onnxruntime-genai:%s" % self.provider
        ctx.result["providers"] = {
            "requested": requested, "available": [requested], "session": [requested], "placement": {},
            "used": requested, "fallback": False, "requested_fraction": 1.0, "placement_method": "single provider",
        }
        return outputs


class OrtProviderAdapter(_Adapter):
    """An ONNX Runtime execution provider as a runtime (QNN, NNAPI): the build's ONNX variant with
    that provider requested. A device whose ONNX Runtime lacks it, or a session that did not
    register it, fails the cell: never the whole model on the CPU provider instead. The CPU provider
    still takes the nodes the accelerator's provider does not (``session_providers`` says so;
    ``disable_cpu_ep_fallback: true`` makes such a model fail to load instead)."""

    provider = ""
    install = ""
    #: backend options that are not the provider's own (session settings of the agent)
    agent_options = ("num_threads", "disable_cpu_ep_fallback")
    #: option -> ONNX Runtime session config entry
    config_entries: dict = {}

    def load(self, paths):
        import onnxruntime as ort

        have = list(ort.get_available_providers())
        if self.provider not in have:
            raise RuntimeError("onnxruntime %s here has no %s (its providers: %s); not run on the CPU provider instead"
                               % (ort.__version__, self.provider, ", ".join(have)))
        so = ort.SessionOptions()
        applied = {"provider": self.provider}
        if self.threads:
            so.intra_op_num_threads = self.threads
            applied["intra_op_num_threads"] = self.threads
        if self.options.get("disable_cpu_ep_fallback"):
            so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
            applied["disable_cpu_ep_fallback"] = True
        for option, entry in self.config_entries.items():
            if option in self.options:
                so.add_session_config_entry(entry, str(self.options[option]))
                applied[option] = str(self.options[option])
        skip = set(self.agent_options) | set(self.config_entries)
        provider_options = dict((k, str(v)) for k, v in self.options.items() if k not in skip)
        providers = [(self.provider, provider_options)]
        if not applied.get("disable_cpu_ep_fallback"):  # ORT refuses the CPU provider named beside that setting
            providers.append("CPUExecutionProvider")
        sess = ort.InferenceSession(paths["model"], sess_options=so, providers=providers)
        got = list(sess.get_providers())
        if self.provider not in got:
            raise RuntimeError("onnxruntime did not register %s for this model (the session has %s); not run on "
                               "the CPU provider instead" % (self.provider, ", ".join(got)))
        applied.update(provider_options)
        applied["session_providers"] = ",".join(got)
        self.sess = sess
        self.names = [o.name for o in sess.get_outputs()]
        self.version = ort.__version__
        self.applied = applied
        self.device = self.provider
        self.devices = have

    def prepare(self, feeds):
        return dict(self._to_artifact(feeds))

    def run(self, native):
        return self.sess.run(None, native)

    def outputs(self, raw):
        by_name = dict(zip(self.names, raw))
        return self._from_artifact([by_name[t["artifact"]] for t in self.outputs_map])

    @classmethod
    def probe(cls, facts, version):
        """(version, details, why missing): present when the probe's ONNX Runtime has the provider."""
        providers = facts.get("providers")
        if not isinstance(providers, list):
            return None, {}, "no onnxruntime here (%s)" % facts.get("onnxruntime_error", "not importable")
        if cls.provider not in providers:
            return None, {}, ("onnxruntime %s here has no %s (its providers: %s); %s"
                              % (facts.get("onnxruntime"), cls.provider, ", ".join(providers), cls.install))
        return facts.get("onnxruntime"), {"provider": cls.provider}, None


class QnnAdapter(OrtProviderAdapter):
    """QNNExecutionProvider: backend_path (libQnnHtp.so default) and QNN's other provider options."""

    provider = "QNNExecutionProvider"
    install = ("QNN needs onnxruntime-qnn (Windows on Snapdragon) or an ONNX Runtime built with QNN, and QNN's "
               "backend libraries (libQnnHtp.so) from the Qualcomm AI Engine Direct SDK")

    def __init__(self, np, job):
        _Adapter.__init__(self, np, job)
        self.options.setdefault("backend_path", "libQnnHtp.so")


class NnapiAdapter(OrtProviderAdapter):
    """NnapiExecutionProvider: ONNX Runtime's Python binding creates it with flags 0 (no options)."""

    provider = "NnapiExecutionProvider"
    config_entries = {"partitioning_stop_ops": "ep.nnapi.partitioning_stop_ops"}
    install = "NNAPI needs Android and an ONNX Runtime built with NNAPI (ORT's Android package)"


def _cuda_runtime():
    """cuda-python's runtime module (``cuda.bindings.runtime`` from 12.6, ``cuda.cudart`` before)."""
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        from cuda import cudart
    return cudart


def _cuda(cudart, result, what):
    """cuda-python returns (error, *values): the values, or RuntimeError naming the call."""
    err, values = result[0], result[1:]
    if err != cudart.cudaError_t.cudaSuccess:
        raise RuntimeError("CUDA %s failed: %s" % (what, err))
    return values[0] if len(values) == 1 else (values or None)


def _trt_shapes(text):
    """trtexec's ``name:1x3x224x224,other:1x8`` -> {name: (1, 3, 224, 224), ...}."""
    out = {}
    for item in (text or "").split(","):
        if item:
            name, _, dims = item.rpartition(":")
            out[name] = tuple(int(d) for d in dims.split("x"))
    return out


def _trt_version(trt):
    return tuple(int(p) for p in trt.__version__.split(".")[:2])


class TensorRtAdapter(_Adapter):
    """TensorRT: builds the engine on the device from the build's ONNX (Python API, or trtexec with
    ``builder: trtexec``), cached by model, flags, shapes, TensorRT version and GPU; the build is
    reported as load_ms.engine_build, apart from the load (deserialize + execution context). A timed
    call is what trtexec times by default: inputs host->device, enqueue, outputs device->host, sync."""

    device = "GPU"

    def __init__(self, np, job):
        _Adapter.__init__(self, np, job)
        self.out_dir = job.get("out_dir")
        self.outside_load_ms = {}
        self.buffers = []
        self._shape = None

    def load(self, paths):
        import hashlib

        import tensorrt as trt

        cudart = _cuda_runtime()
        self.trt, self.cudart = trt, cudart
        dev = int(self.options.get("device_id", 0))
        _cuda(cudart, cudart.cudaSetDevice(dev), "cudaSetDevice(%d)" % dev)
        gpu = _cuda(cudart, cudart.cudaGetDeviceProperties(dev), "cudaGetDeviceProperties").name
        gpu = gpu.decode("utf-8", "replace").rstrip("\0") if isinstance(gpu, bytes) else str(gpu)
        flags = str(self.options.get("flags", "")).split()
        shapes = dict((k, str(self.options.get(k, ""))) for k in ("min_shapes", "opt_shapes", "max_shapes"))
        builder = str(self.options.get("builder", "python"))
        model = paths["model"]
        digest = hashlib.sha256()
        stem = os.path.basename(model).split(".")[0]
        if len(stem) == 64 and all(c in "0123456789abcdef" for c in stem):
            digest.update(stem.encode("ascii"))  # pushed through the device cache: named by its sha256
        else:
            with open(model, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
        for part in [" ".join(flags), json.dumps(shapes, sort_keys=True), trt.__version__, gpu,
                     str(self.options.get("workspace_mb", ""))]:
            digest.update(part.encode("utf-8"))
        cache = str(self.options.get("engine_cache") or os.path.join(os.path.dirname(os.path.abspath(model)),
                                                                       "tensorrt-engines"))
        if not os.path.isdir(cache):
            os.makedirs(cache)
        engine_path = os.path.join(cache, digest.hexdigest()[:24] + ".engine")
        logger = trt.Logger(trt.Logger.WARNING)
        cached = os.path.isfile(engine_path)
        if not cached:
            t0 = time.perf_counter()
            tmp = engine_path + ".part%d" % os.getpid()
            if builder == "trtexec":
                self._build_trtexec(model, tmp, flags, shapes)
            else:
                self._build_python(logger, model, tmp, flags, shapes)
            os.replace(tmp, engine_path)
            self.outside_load_ms["engine_build"] = (time.perf_counter() - t0) * 1000.0
        with open(engine_path, "rb") as f:
            plan = f.read()
        self.runtime = trt.Runtime(logger)
        self.engine = self.runtime.deserialize_cuda_engine(plan)
        if self.engine is None:
            raise RuntimeError("TensorRT %s could not deserialize %s" % (trt.__version__, engine_path))
        self.context = self.engine.create_execution_context()
        self.stream = _cuda(cudart, cudart.cudaStreamCreate(), "cudaStreamCreate")
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.in_names = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.out_names = [n for n in names if n not in self.in_names]
        self.version = trt.__version__
        self.device = "GPU %d: %s" % (dev, gpu)
        self.devices = [self.device]
        self.applied = {"builder": builder, "flags": " ".join(flags), "engine_cached": cached, "gpu": gpu}
        self.applied.update(shapes)

    def _build_python(self, logger, model, dest, flags, shapes):
        trt = self.trt
        builder = trt.Builder(logger)
        explicit = 0
        if _trt_version(trt) < (10, 0):  # explicit batch is TensorRT 10's only mode (its flag is gone)
            explicit = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
        network = builder.create_network(explicit)
        parser = trt.OnnxParser(network, logger)
        if not parser.parse_from_file(model):
            errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
            raise RuntimeError("TensorRT's ONNX parser refused %s: %s" % (model, "; ".join(errors) or "no reason"))
        config = builder.create_builder_config()
        if self.options.get("workspace_mb"):
            config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(self.options["workspace_mb"]) << 20)
        if "--noTF32" in flags:
            config.clear_flag(trt.BuilderFlag.TF32)
        if "--fp16" in flags:
            config.set_flag(trt.BuilderFlag.FP16)
        if "--int8" in flags:
            config.set_flag(trt.BuilderFlag.INT8)
        lo, opt, hi = (_trt_shapes(shapes[k]) for k in ("min_shapes", "opt_shapes", "max_shapes"))
        profile = builder.create_optimization_profile()
        for i in range(network.num_inputs):
            name = network.get_input(i).name
            if name not in opt:
                raise RuntimeError("the engine profile has no shape for input %r (it has %s)" % (name, sorted(opt)))
            profile.set_shape(name, lo[name], opt[name], hi[name])
        config.add_optimization_profile(profile)
        plan = builder.build_serialized_network(network, config)
        if plan is None:
            raise RuntimeError("TensorRT %s could not build an engine from %s with %s (its log above says why)"
                               % (trt.__version__, model, " ".join(flags) or "no flags"))
        with open(dest, "wb") as f:
            f.write(bytes(plan))

    def _build_trtexec(self, model, dest, flags, shapes):
        import shutil

        exe = self.options.get("trtexec") or shutil.which("trtexec") or "/usr/src/tensorrt/bin/trtexec"
        if not os.path.isfile(str(exe)):
            raise RuntimeError("builder trtexec: no trtexec on PATH nor at %s (set the backend's trtexec option)" % exe)
        only = "--skipInference" if _trt_version(self.trt) >= (8, 6) else "--buildOnly"
        argv = [str(exe), "--onnx=%s" % model, "--saveEngine=%s" % dest, only] + flags
        argv += ["--%s=%s" % (k.replace("_shapes", "Shapes"), v) for k, v in sorted(shapes.items()) if v]
        if self.options.get("workspace_mb"):
            argv.append("--memPoolSize=workspace:%dM" % int(self.options["workspace_mb"]))
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        if proc.returncode != 0 or not os.path.isfile(dest):
            raise RuntimeError("trtexec exited %d: %s" % (proc.returncode, proc.stdout[-1500:]))

    def prepare(self, feeds):
        np, trt, cudart = self.np, self.trt, self.cudart
        named = dict(self._to_artifact(feeds))
        inputs = []
        for name in self.in_names:
            arr = np.ascontiguousarray(named[name].astype(trt.nptype(self.engine.get_tensor_dtype(name)), copy=False))
            if self.context.set_input_shape(name, tuple(arr.shape)) is False:
                raise RuntimeError("TensorRT refused shape %s for input %s (outside the engine's profile %s..%s)" % (
                    tuple(arr.shape), name, self.options.get("min_shapes"), self.options.get("max_shapes")))
            inputs.append((name, arr))
        for ptr in self.buffers:
            _cuda(cudart, cudart.cudaFree(ptr), "cudaFree")
        self.buffers = []
        native = {"inputs": [], "outputs": []}
        for name, arr in inputs:
            ptr = _cuda(cudart, cudart.cudaMalloc(max(arr.nbytes, 1)), "cudaMalloc")
            self.buffers.append(ptr)
            self.context.set_tensor_address(name, int(ptr))
            native["inputs"].append((ptr, arr))
        for name in self.out_names:
            shape = tuple(self.context.get_tensor_shape(name))
            host = np.empty(shape, dtype=trt.nptype(self.engine.get_tensor_dtype(name)))
            ptr = _cuda(cudart, cudart.cudaMalloc(max(host.nbytes, 1)), "cudaMalloc")
            self.buffers.append(ptr)
            self.context.set_tensor_address(name, int(ptr))
            native["outputs"].append((ptr, host))
        return native

    def run(self, native):
        cudart, stream = self.cudart, self.stream
        h2d, d2h = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        for ptr, host in native["inputs"]:
            _cuda(cudart, cudart.cudaMemcpyAsync(ptr, host.ctypes.data, host.nbytes, h2d, stream), "H2D")
        if not self.context.execute_async_v3(int(stream)):
            raise RuntimeError("TensorRT execute_async_v3 failed")
        for ptr, host in native["outputs"]:
            _cuda(cudart, cudart.cudaMemcpyAsync(host.ctypes.data, ptr, host.nbytes, d2h, stream), "D2H")
        _cuda(cudart, cudart.cudaStreamSynchronize(stream), "cudaStreamSynchronize")
        return [host for _, host in native["outputs"]]

    def outputs(self, raw):
        by_name = dict(zip(self.out_names, raw))
        return self._from_artifact([by_name[t["artifact"]] for t in self.outputs_map])

    @classmethod
    def probe(cls, facts, version):
        """TensorRT's version (pip's distribution, else JetPack's module), trtexec's path, the GPU."""
        import shutil

        details = {"trtexec": shutil.which("trtexec") or next(
            (p for p in ("/usr/src/tensorrt/bin/trtexec",) if os.path.isfile(p)), None)}
        gpu = _gpu_name()
        details["gpu"] = gpu
        if version is None:
            try:
                import tensorrt

                version = tensorrt.__version__
            except Exception as exc:  # noqa: BLE001 - not installed, or its libraries missing
                return None, details, ("no TensorRT Python module here (%s: %s): JetPack's python3-libnvinfer, or "
                                       "pip install tensorrt" % (type(exc).__name__, exc))
        try:
            _cuda_runtime()
        except ImportError:
            return None, details, "TensorRT %s here but no cuda-python for device buffers: pip install cuda-python" % (
                version)
        if gpu is None:
            return None, details, "TensorRT %s here but no NVIDIA GPU (nvidia-smi and the Jetson device tree name none)" % (
                version)
        return version, details, None


def _gpu_name():
    """The GPU's name: nvidia-smi's, else a Jetson's device tree model; None when neither names one."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, universal_newlines=True, timeout=20)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        with open("/proc/device-tree/model") as f:
            model = f.read().rstrip("\0\n")
        return model if "jetson" in model.lower() else None
    except OSError:
        return None


class CoreMlAdapter(_Adapter):
    """Core ML: the zipped .mlpackage unpacked into the cell's folder (load_ms.unpack, apart from the
    load), loaded with coremltools' MLModel and compute_units; a timed call is one predict()."""

    def __init__(self, np, job):
        _Adapter.__init__(self, np, job)
        self.out_dir = job.get("out_dir")
        self.outside_load_ms = {}

    def load(self, paths):
        import zipfile

        import coremltools as ct

        t0 = time.perf_counter()
        with zipfile.ZipFile(paths["model"]) as zf:
            top = sorted(set(n.split("/")[0] for n in zf.namelist()))
            zf.extractall(self.out_dir)
        self.outside_load_ms["unpack"] = (time.perf_counter() - t0) * 1000.0
        units = str(self.options.get("compute_units", "ALL"))
        self.model = ct.models.MLModel(os.path.join(self.out_dir, top[0]), compute_units=getattr(ct.ComputeUnit, units))
        self.version = ct.__version__
        self.applied = {"compute_units": units}
        self.device = units
        self.devices = [u.name for u in ct.ComputeUnit]

    def prepare(self, feeds):
        return dict(self._to_artifact(feeds))

    def run(self, native):
        return self.model.predict(native)

    def outputs(self, raw):
        return self._from_artifact([raw[t["artifact"]] for t in self.outputs_map])

    @classmethod
    def probe(cls, facts, version):
        if platform.system() != "Darwin":
            return None, {}, "Core ML runs on macOS only (this device is %s %s)" % (platform.system(),
                                                                                  platform.machine())
        details = {"macos": platform.mac_ver()[0], "machine": platform.machine()}
        if version is None:
            return None, details, "no coremltools here: pip install coremltools"
        return version, details, None


RUNTIME_ADAPTERS = {"openvino": OpenVinoAdapter, "ncnn": NcnnAdapter, "mnn": MnnAdapter, "litert": LiteRtAdapter,
                    "onnxruntime-genai": GenAIAdapter, "tensorrt": TensorRtAdapter, "coreml": CoreMlAdapter,
                    "qnn": QnnAdapter, "nnapi": NnapiAdapter}


def probe_runtimes(facts):
    """The probe's runtimes: installed distributions, then each adapter with a ``probe`` decides for
    its own runtime (a GPU, macOS or an ONNX Runtime provider it needs). Returns (versions,
    {runtime: why it cannot run here}, {runtime: details})."""
    versions = runtime_versions()
    missing, details = {}, {}
    for name, adapter in RUNTIME_ADAPTERS.items():
        probe = getattr(adapter, "probe", None)
        if probe is None:
            continue
        try:
            version, info, why = probe(facts, versions.get(name))
        except Exception as exc:  # noqa: BLE001 - a probe's failure says why the runtime is missing
            version, info, why = None, {}, "its probe failed: %s: %s" % (type(exc).__name__, exc)
        versions.pop(name, None)
        if version is not None:
            versions[name] = str(version)
        if why:
            missing[name] = why
        if info:
            details[name] = info
    return versions, missing, details


def run_runtime_single(np, job, ctx):
    """A single-model job on a runtime other than ONNX Runtime: the same protocol-1 measurement as
    run_single (load, first inference, warm-up, steady samples under the stopping rule)."""
    name = job["runtime"]["name"]
    if name not in RUNTIME_ADAPTERS:
        raise ValueError("this agent has no %r runtime adapter (it has %s)" % (name, sorted(RUNTIME_ADAPTERS)))
    if (job.get("params") or {}).get("feedback"):
        raise ValueError("params.feedback (stateful models) is run on onnxruntime only, not %s" % name)
    sess = RUNTIME_ADAPTERS[name](np, job)
    t0 = time.perf_counter()
    sess.load(job["models"])
    load_ms = (time.perf_counter() - t0) * 1000.0
    ctx.watch.add(load_ms / 1000.0)
    outside = getattr(sess, "outside_load_ms", None) or {}  # e.g. TensorRT's engine build: reported apart
    for part, ms in outside.items():
        ctx.result["load_ms"][part] = ms
        load_ms -= ms
    ctx.result["load_ms"]["model"] = load_ms
    ctx.result["session"] = dict((k, v) for k, v in sess.applied.items() if isinstance(v, (int, str, bool)))
    ctx.result["env"]["runtimes"] = {name: sess.version or "unknown"}
    feed_sets = require_feed_sets(np, job, "")
    outputs = {}
    slowdown = float(job.get("test_slowdown") or 0.0)
    for label, given in feed_sets.items():
        native = sess.prepare(given)
        t0 = time.perf_counter()
        first = sess.run(native)
        first_ms = (time.perf_counter() - t0) * 1000.0
        ctx.watch.add(first_ms / 1000.0)
        ctx.result["first_inference_ms"][label or "default"] = first_ms
        for out_name, value in sess.outputs(first).items():
            outputs[label + "/" + out_name] = value

        def once(native=native):
            sess.run(native)

        samples, n_warm, stopped, window = measure(once, job.get("measure") or {}, slowdown, ctx.watch, ctx.load,
                                                     ctx.handoff)
        series = series_name("latency_ms", label)
        ctx.result["series"][series] = {"unit": "ms", "samples": samples, "warmup_n": n_warm, "stopped_by": stopped}
        ctx.steady_window(series, window)
    requested = "%s:%s" % (name, sess.device)
    ctx.result["providers"] = {
        "requested": requested, "available": ["%s:%s" % (name, d) for d in sess.devices], "session": [requested],
        "placement": {}, "used": requested, "fallback": False, "requested_fraction": 1.0,
        "placement_method": "single provider",
    }
    return outputs


# ---------------------------------------------------------------------------- driver
class Context(object):
    def __init__(self, result, handoff):
        self.result = result
        self.watch = Stopwatch()
        self.load = LoadMeter()
        self.handoff = handoff
        self._placement = None

    def steady_window(self, name, window):
        """Record a steady window and the load readings measure() took around it."""
        self.result["windows"][name] = window
        if self.load.last is not None:
            self.result["load"]["windows"][name] = self.load.last
        if self.load.retried:
            self.result["load"].setdefault("retries", {})[name] = self.load.retried
            self.load.retried = 0
        self.result["load"]["error"] = self.load.error

    def place_after_peak(self, ort, job, sess, path, run_once):
        """Defer the EP-placement profiling session until the peak memory has been read."""
        def place():
            placement = ep_placement(ort, job, path, run_once, job["out_dir"])
            return summarize_providers(ort, job, sess, placement)
        self._placement = place

    def placement(self):
        return self._placement() if self._placement is not None else None


def env_facts(import_ort=True, runtimes=False):
    """The probe's facts. ``import_ort`` False (a job on another runtime): ONNX Runtime is not
    imported, so its libraries stay out of that cell's peak memory. ``runtimes`` (the probe): the
    installed runtimes' versions, from distribution metadata (importlib.metadata costs ~6 MB of
    RSS, kept out of a job's peak: a job's adapter reports its own runtime's version)."""
    facts = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "pid": os.getpid(),
    }
    try:
        import numpy

        facts["numpy"] = numpy.__version__
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        facts["numpy_error"] = str(exc)
    if import_ort:
        try:
            import onnxruntime

            facts["onnxruntime"] = onnxruntime.__version__
            facts["providers"] = onnxruntime.get_available_providers()
        except Exception as exc:  # noqa: BLE001
            facts["onnxruntime_error"] = str(exc)
    if runtimes:
        facts["runtimes"], missing, details = probe_runtimes(facts)
        if missing:
            facts["runtimes_missing"] = missing  # the host's skip reason for a cell of such a runtime
        if details:
            facts["runtime_details"] = details
    return facts


def run_job(job, stdin_fd=None):
    """Run one job; ``stdin_fd`` is where a handoff's "go" comes from (a job given on stdin)."""
    import numpy as np

    other_runtime = (job.get("runtime") or {}).get("name")  # None: ONNX Runtime
    ort = None
    if other_runtime is None:
        import onnxruntime as ort

    out_dir = job["out_dir"]
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    result = {
        "protocol": PROTOCOL,
        "status": "failed",
        "error": None,
        "traceback": None,
        "env": env_facts(import_ort=other_runtime is None),
        "providers": None,
        "session": {},
        "load_ms": {},
        "first_inference_ms": {},
        "series": {},
        "memory": {},
        "load": {"loadavg_before": load_average(), "cpu_count": os.cpu_count(), "windows": {}, "error": None},
        "probes": {},
        "windows": {},
        "snapshots": {"before": read_snapshots(job.get("snapshots"))},
        "measure_s": 0.0,
        "held_s": 0.0,
        "outputs": None,
    }
    handoff = Handoff(float(job.get("handoff_s") or 0.0), stdin_fd)
    ctx = Context(result, handoff)
    baseline = current_rss_mb()
    sampler = ProbeSampler(job.get("probes"))
    sampler.start()
    try:
        idle_s = float(job.get("idle_s") or 0.0)
        if idle_s > 0:
            t0 = time.monotonic()
            time.sleep(idle_s)
            result["windows"]["idle"] = [t0, time.monotonic()]
        kind = job.get("kind", "single")
        if kind not in KINDS:
            raise ValueError("unknown job kind %r (agent knows %s)" % (kind, sorted(KINDS)))
        if other_runtime is not None:
            adapter = RUNTIME_ADAPTERS.get(other_runtime)
            kinds = getattr(adapter, "kinds", ("single",))
            if kind not in kinds:
                raise ValueError("runtime %s runs %s jobs, not %r" % (other_runtime, "/".join(kinds), kind))
            outputs = run_runtime_single(np, job, ctx) if kind == "single" else adapter(np, job).run_kind(np, job, ctx)
        else:
            outputs = KINDS[kind](ort, np, job, ctx)
        peak, method = peak_memory()  # before the placement session: the measured session only
        result["memory"] = {"peak_rss_mb": peak, "baseline_rss_mb": baseline, "method": method}
        placement = ctx.placement()
        if placement is not None or other_runtime is None:
            result["providers"] = placement
        if job.get("save_outputs", True) and outputs:
            np.savez(os.path.join(out_dir, "outputs.npz"), **outputs)
            result["outputs"] = "outputs.npz"
        result["status"] = "ok"
    except Exception as exc:  # noqa: BLE001 - a failed cell is data
        result["error"] = "%s: %s" % (type(exc).__name__, exc)
        result["traceback"] = traceback.format_exc()
    finally:
        result["probes"] = sampler.stop()
        result["snapshots"]["after"] = read_snapshots(job.get("snapshots"))
        result["measure_s"] = ctx.watch.total
        result["held_s"] = handoff.held_s
    return result


def write_json_atomic(path, obj):
    tmp = path + ".part"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


def read_line(fd):
    """One line from a raw fd, byte by byte: nothing read past it stays in a buffer, so a
    handoff's "go" is seen by select() on the same fd."""
    out = b""
    while not out.endswith(b"\n"):
        chunk = os.read(fd, 1)
        if not chunk:
            break
        out += chunk
    return out.decode("utf-8", "replace").strip()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    stdin_fd = None
    if argv and argv[0] == "--probe":
        facts = env_facts(runtimes=True)
        print(json.dumps(facts))
        return 0 if ("numpy" in facts and ("onnxruntime" in facts or facts.get("runtimes"))) else 3
    if argv and argv[0] == "--job-from-stdin":
        try:  # the slow part of a start, done before the job exists; a failure shows in run_job
            import numpy  # noqa: F401
            import onnxruntime  # noqa: F401
        except Exception:  # noqa: BLE001
            pass
        env_facts()  # platform's answers are cached: the job's own call is then cheap
        say(READY)
        stdin_fd = sys.stdin.fileno()
        line = read_line(stdin_fd)
        if not line:
            return 0
        argv = [line]
    if len(argv) != 1:
        sys.stderr.write("usage: agent.py JOB_JSON | --job-from-stdin | --probe\n")
        return 2
    with open(argv[0]) as f:
        job = json.load(f)
    if job.get("protocol") != PROTOCOL:
        sys.stderr.write("agent speaks protocol %d, job has %r\n" % (PROTOCOL, job.get("protocol")))
        return 2
    result = run_job(job, stdin_fd)
    write_json_atomic(os.path.join(job["out_dir"], "result.json"), result)
    return 0 if result["status"] == "ok" else 1


def run_as_program(argv=None):
    """main, then out without the interpreter's teardown: the result is written (atomically) and the
    probes are stopped, so module cleanup and ONNX Runtime's destructors (40-50 ms per cell,
    measured) are skipped. The host starts the agent through preflight.AGENT_BOOT, which imports
    this file as a module so that its bytecode is cached beside it (compiling it costs ~8 MB of
    peak RSS a cell would count); ``python3 agent.py`` runs it the same way."""
    code = main(argv)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, OSError, ValueError):  # a host gone: nobody reads them
            pass
    os._exit(code)


if __name__ == "__main__":
    run_as_program()
