from __future__ import annotations

from harness.probes import devicefs


def test_globs_expand_on_the_device_in_natural_order(dev, local):
    for n in (10, 2, 1):
        dev.zone(n, f"z{n}", 40000)
    got = devicefs.expand_globs(local, [dev.path("/sys/class/thermal/thermal_zone*/temp")])
    assert [p.split("/")[-2] for p in got] == ["thermal_zone1", "thermal_zone2", "thermal_zone10"]


def test_unmatched_glob_and_literal_missing_path_give_nothing(dev, local):
    assert devicefs.expand_globs(local, [dev.path("/sys/nothing*/x"), dev.path("/sys/absent")]) == []


def test_read_first_lines_skips_missing_files_without_shifting_values(dev, local):
    a = dev.write("/sys/a", "1")
    b = dev.write("/sys/b", "2 extra\nsecond line")
    got = devicefs.read_first_lines(local, [a, dev.path("/sys/missing"), b])
    assert got == {a: "1", b: "2 extra"}


def test_single_file_still_gets_a_header():
    text = "==> /sys/x <==\n42\n\n==> /dev/null <==\n"
    assert devicefs.parse_head(text) == {"/sys/x": "42"}
    assert devicefs.head_argv(["/sys/x"])[-1] == "/dev/null"
