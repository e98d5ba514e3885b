#!/usr/bin/env python3
"""The pqtls history HTML report, as headless Chromium rendered it (its DOM),
against the JSON Lines report of the same store: every stacked bar segment
(scan x stage) has the JSON count, the regression, new and vanished lists
name the same targets, the counts in the text agree, and the report loads
nothing from the network.

usage: check_history_html.py DOM.html HISTORY.jsonl"""
import json
import sys
from html.parser import HTMLParser


class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.segs = {}
        self.rows = {"regression": set(), "new": set(), "vanished": set()}
        self.ids = {}
        self.timelines = 0
        self.external = []
        self._id = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "rect" and a.get("class") == "seg":
            self.segs[(a["data-scan"], a["data-stage"])] = int(a["data-count"])
        if tag == "tr" and a.get("class") in self.rows:
            self.rows[a["class"]].add(a["data-target"])
        if tag == "tr" and a.get("class") == "timeline":
            self.timelines += 1
        if tag in ("script", "img", "link", "iframe") or any(
                k in ("src", "href") and v and "://" in v for k, v in attrs):
            self.external.append(tag)
        self._id = a.get("id")

    def handle_data(self, data):
        if self._id and data.strip():
            self.ids.setdefault(self._id, data.strip())
        self._id = None


def main():
    dom = Dom()
    dom.feed(open(sys.argv[1], encoding="utf-8").read())
    recs = [json.loads(l) for l in open(sys.argv[2])]
    scans = [r for r in recs if r["type"] == "scan"]
    problems = []
    for s in scans:
        for stage, n in s["stages"].items():
            got = dom.segs.get((s["scan"], stage))
            if got != n:
                problems.append(f"bar {s['scan']} {stage}: DOM {got}, JSON {n}")
    for kind in ("regression", "new", "vanished"):
        want = {r["target"] for r in recs if r["type"] == kind}
        if dom.rows[kind] != want:
            problems.append(f"{kind} list: DOM {sorted(dom.rows[kind])}, JSON {sorted(want)}")
    head = recs[0]
    if dom.ids.get("scan-count") != str(head["scans"]):
        problems.append(f"scan count {dom.ids.get('scan-count')} != {head['scans']}")
    if dom.ids.get("regressions-count") != str(head["regressions"]):
        problems.append(f"regressions count {dom.ids.get('regressions-count')}")
    changed = sum(1 for r in recs if r["type"] == "target" and len(r["timeline"]) > 1)
    if dom.timelines != min(changed, 1000):
        problems.append(f"timelines: DOM {dom.timelines}, JSON targets that changed {changed}")
    if dom.external:
        problems.append(f"external resources: {dom.external}")
    for p in problems:
        print("FAIL", p)
    if not problems:
        print(f"ok: history HTML in Chromium matches the JSON: {len(scans)} scans x 4 stages, "
              f"{len(dom.rows['regression'])} regressions, {len(dom.rows['new'])} new, "
              f"{len(dom.rows['vanished'])} vanished, {dom.timelines} timelines")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
