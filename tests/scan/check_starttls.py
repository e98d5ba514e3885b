#!/usr/bin/env python3
"""Assertions for tests/scan/test_starttls.sh.

usage: check_starttls.py WORK_DIR   (scan.jsonl, scan.csv, report.html,
option.jsonl, targets.txt, main.json, required.json in WORK_DIR)
"""
import csv
import json
import re
import sys
from html.parser import HTMLParser

failures = 0
ALL_PROBES = ["browser", "x25519mlkem768", "secp256r1mlkem768", "secp384r1mlkem1024",
              "mlkem1024", "hrr-preference", "classical", "legacy-kyber", "split-sni",
              "split-key-share", "split-mss"]
DIALOGUE_ERRORS = {"starttls_not_offered", "starttls_refused", "service_refused",
                   "dialogue_syntax", "line_too_long", "message_too_large", "dialogue_too_long",
                   "data_after_starttls", "closed_in_dialogue", "reset_in_dialogue",
                   "dialogue_timeout"}


def check(cond, msg):
    global failures
    if not cond:
        failures += 1
        print("FAIL: " + msg)


def probes(o):
    return {p["name"]: p for p in o["probes"]}


def main():
    w = sys.argv[1]
    recs = [json.loads(line) for line in open(f"{w}/scan.jsonl", encoding="utf-8")]
    main_ports = json.load(open(f"{w}/main.json"))
    req_ports = json.load(open(f"{w}/required.json"))
    specs = [("main", s, p) for s, p in main_ports.items()] + \
            [("required", s, p) for s, p in req_ports.items()]
    check(len(recs) == len(specs), f"{len(recs)} records for {len(specs)} targets")

    # Input order, and the index and protocol of every record.
    for i, (o, (backend, spec, port)) in enumerate(zip(recs, specs)):
        name, mode = spec.split("=")
        check(o["index"] == i, f"record {i} has index {o['index']} ({o['target']})")
        check(o["port"] == port, f"record {i} is port {o['port']}, input order says {port} ({spec})")
        want_proto = "tls" if mode == "banner" else name
        check(o["protocol"] == want_proto, f"{spec}: protocol {o['protocol']}, expected {want_proto}")
        check(o["starttls"] == (None if mode == "banner" else name),
              f"{spec}: starttls {o['starttls']}")
        check(o["schema"] == "pqtls-scan/1", f"{spec}: schema {o['schema']}")
        check(isinstance(o.get("next_step"), str) and o["next_step"], f"{spec}: next_step")
        label = f"{backend}:{spec}"
        ps = probes(o)
        check(sorted(ps) == sorted(ALL_PROBES), f"{label}: probes {sorted(ps)}")

        if mode == "good":
            # Every probe, split ClientHellos and HRR continuation included,
            # got past the dialogue and was answered in TLS.
            for p in o["probes"]:
                check(p["error"] not in DIALOGUE_ERRORS and p["outcome"] != "starttls_failed",
                      f"{label}/{p['name']}: {p['outcome']} {p['error']} {p['detail']}")
                check(p["outcome"] in ("server_hello", "hrr", "alert"),
                      f"{label}/{p['name']}: outcome {p['outcome']} ({p['error']})")
            for n in ("browser", "x25519mlkem768"):
                p = ps[n]
                check(p["outcome"] == "server_hello" and p["group"] == "X25519MLKEM768" and
                      p["verified"] and p["version"] == "TLSv1.3",
                      f"{label}/{n}: X25519MLKEM768 verified ({p})")
            for n in ("split-sni", "split-key-share", "split-mss"):
                check(ps[n]["outcome"] in ("server_hello", "alert"),
                      f"{label}/{n}: the split ClientHello after the dialogue was answered "
                      f"({ps[n]['outcome']})")
            check(o["flags"] == [] and o["detail"] is None, f"{label}: flags {o['flags']}")
            if backend == "main":
                check(o["stage"] == "supported", f"{label}: stage {o['stage']}")
                check(ps["split-mss"]["group"] == "x25519", f"{label}: split-mss group")
            else:
                # X25519MLKEM768 alone: HRR continued on the same connection.
                p = ps["hrr-preference"]
                check(p["outcome"] == "hrr" and p["group"] == "X25519MLKEM768" and p["retried"]
                      and p["verified"], f"{label}: HRR continued over the dialogue ({p})")
                check(o["stage"] == "required", f"{label}: stage {o['stage']}")
                check(ps["classical"]["outcome"] == "alert", f"{label}: classical refused")
        elif mode in ("nostarttls", "refuse"):
            check(o["stage"] == "none" and o["flags"] == ["no-starttls"],
                  f"{label}: stage {o['stage']} flags {o['flags']}")
            want = "starttls_not_offered" if mode == "nostarttls" else "starttls_refused"
            if name == "postgres":
                want = "starttls_refused"  # 'N': the server has no TLS
            for p in o["probes"]:
                check(p["outcome"] == "starttls_failed" and p["error"] == want,
                      f"{label}/{p['name']}: {p['outcome']} {p['error']}, expected {want}")
            check(o["detail"] and "cleartext only" in o["detail"],
                  f"{label}: detail {o['detail']}")
            check("STARTTLS" in o["next_step"], f"{label}: next step {o['next_step']}")
        elif mode == "banner":
            what = {"smtp": "SMTP banner: scan smtp://", "imap": "IMAP banner: scan imap://",
                    "pop3": "POP3 banner: scan pop3://", "ssh": "SSH banner: not a TLS service"}
            check(o["stage"] == "none" and o["flags"] == ["plaintext-service"],
                  f"{label}: stage {o['stage']} flags {o['flags']}")
            check(o["detail"] and o["detail"].startswith(what[name]),
                  f"{label}: detail {o['detail']}")
            if name != "ssh":
                check(o["detail"].endswith(f"127.0.0.1:{port}"), f"{label}: {o['detail']}")
            for p in o["probes"]:
                check(p["outcome"] == "malformed" and p["error"] == "not_tls",
                      f"{label}/{p['name']}: {p['outcome']} {p['error']}")

    # --starttls smtp on a bare host:port.
    o = json.loads(open(f"{w}/option.jsonl").readline())
    check(o["protocol"] == "smtp" and o["starttls"] == "smtp" and o["stage"] == "supported" and
          o["target"].startswith("smtp://"), f"--starttls smtp: {o['target']} {o['stage']}")

    # CSV: same rows in the same order, protocol and index columns.
    rows = list(csv.DictReader(open(f"{w}/scan.csv", newline="")))
    check([r["target"] for r in rows] == [o["target"] for o in recs], "csv: input order")
    for r, o in zip(rows, recs):
        check(r["stage"] == o["stage"] and r["protocol"] == o["protocol"] and
              r["index"] == str(o["index"]) and r["detail"] == (o["detail"] or ""),
              f"csv: {r['target']} differs from the JSON")

    # HTML: rows in input order, each with its protocol and next step.
    d = Rows()
    d.feed(open(f"{w}/report.html", encoding="utf-8").read())
    check([r.get("name") for r in d.rows] == [o["target"] for o in recs], "html: input order")
    for r, o in zip(d.rows, recs):
        check(r.get("data-protocol") == o["protocol"], f"html: {o['target']} protocol")
        check(r.get("stage") == o["stage"], f"html: {o['target']} stage")
        nxt = r.get("next", "")
        check(o["next_step"] in nxt and "\u2192" in nxt, f"html: {o['target']} next step '{nxt}'")
    supported = [r for r in d.rows if r.get("stage") == "supported"]
    check(supported and all(r["next"].startswith("supported \u2192 to prefer:") for r in supported),
          "html: 'supported -> to prefer: ...'")

    table = open(f"{w}/scan.txt").read()
    check(re.search(r"SMTP banner: scan smtp://127\.0\.0\.1:\d+", table) is not None,
          "table: the detail line of the plaintext service")
    print(f"check_starttls: {len(recs)} targets, {failures} failures")
    return 1 if failures else 0


class Rows(HTMLParser):
    """The target rows of the HTML report: cell text by class."""

    def __init__(self):
        super().__init__()
        self.rows = []
        self.cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and a.get("class") == "target":
            self.rows.append({})
        elif tag == "td" and self.rows and self.cell is None:
            self.cell = [a.get("class"), ""]
            if "data-protocol" in a:
                self.rows[-1]["data-protocol"] = a["data-protocol"]

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.rows[-1][self.cell[0]] = self.cell[1].strip()
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[1] += data


if __name__ == "__main__":
    sys.exit(main())
