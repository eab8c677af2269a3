"""The Atom feed of regression alerts (xml.etree escapes every value)."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

ATOM = "http://www.w3.org/2005/Atom"


def atom_feed(alerts: Sequence[dict[str, Any]], base_url: str) -> str:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    base = base_url.rstrip("/") + "/"
    ET.SubElement(feed, f"{{{ATOM}}}title").text = "harness regressions"
    ET.SubElement(feed, f"{{{ATOM}}}id").text = "urn:harness:regressions:" + hashlib.sha1(base.encode()).hexdigest()
    ET.SubElement(feed, f"{{{ATOM}}}link", href=base + "regressions.html")
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=base + "feed.xml")
    times = [str(a["at"]) for a in alerts if a.get("at")]
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = max(times) if times else datetime.now(timezone.utc).isoformat()
    for a in alerts:
        if a["state"] not in ("suspected", "confirmed"):
            continue
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        key = "\x1f".join(str(a[k]) for k in ("workload", "precision", "backend", "device_fingerprint", "metric",
                                               "run_id"))
        ET.SubElement(entry, f"{{{ATOM}}}id").text = "urn:harness:alert:" + hashlib.sha1(key.encode()).hexdigest()
        ET.SubElement(entry, f"{{{ATOM}}}title").text = (
            f"[{a['state']}] {a['device']} {a['workload']} {a['precision']}/{a['backend']} {a['metric']} "
            f"x{a['ratio']:.3f}")
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = str(a["at"])
        ET.SubElement(entry, f"{{{ATOM}}}link", href=base + a["series"])
        ET.SubElement(entry, f"{{{ATOM}}}summary").text = (
            f"{a['metric']} went from {a['before']:.4g} to {a['after']:.4g} at run {a['run_id']} "
            f"(build {a['build_id']}; previous build {a['prev_build_id']}). {a['note']}")
        author = ET.SubElement(entry, f"{{{ATOM}}}author")
        ET.SubElement(author, f"{{{ATOM}}}name").text = "harness"
    return ET.tostring(feed, encoding="unicode", xml_declaration=True)
