#!/usr/bin/env python3
"""The layer rule, checked on every #include "..." line of the tree.

Each folder of src/ is a layer; include/pqtls/*.h are the layers' public
headers. A file may include its own layer's headers (public, or internal ones
inside its own folder) and the public headers of the layers below it, never
one above it or of a sibling tool (docs/architecture.md has the picture).
The build keeps internal headers apart already (each layer's library has
only its own folder as a PRIVATE include directory); this check covers the
public headers too, and fails with the file, the line and the rule.

Usage: check_layers.py ROOT      check the tree at ROOT
       check_layers.py --self-test   prove the check can fail
"""
import os
import re
import sys
import tempfile

# What each layer may use, besides itself (closed under "below").
ALLOWED = {
    "common": set(),
    "crypto": {"common"},
    "tls": {"crypto", "common"},
    "net": {"tls", "crypto", "common"},
    "report": {"common"},
    "mask": {"net", "tls", "crypto", "common", "report"},
    "scan": {"tls", "crypto", "common", "report"},
    "observe": {"mask", "net", "tls", "crypto", "common", "report"},
    "advise": {"observe", "mask", "net", "tls", "crypto", "common", "report"},
    "store": {"scan", "tls", "crypto", "common", "report"},
    "host": {"tls", "crypto", "common"},
    "provider": {"crypto", "common"},
    "bench": {"net", "tls", "crypto", "common", "report"},
    "cli": {"host", "store", "scan", "advise", "observe", "mask", "net", "tls", "crypto", "common", "report", "bench"},
}

# The public headers and the layer each belongs to.
HEADERS = {
    "err.h": "common", "common.h": "common",
    "crypto.h": "crypto", "mlkem.h": "crypto", "hybrid.h": "crypto", "groups.h": "crypto",
    "tls.h": "tls", "wire.h": "tls", "record.h": "tls", "hello.h": "tls", "names.h": "tls",
    "keyschedule.h": "tls", "ja4.h": "tls",
    "net.h": "net", "quic.h": "net",
    "json.h": "report", "html.h": "report",
    "mask.h": "mask",
    "scan.h": "scan",
    "observe.h": "observe",
    "advise.h": "advise",
    "store.h": "store",
    "host.h": "host",
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(rel):
    """The layer of a file, by its path relative to the root, or None."""
    parts = rel.split("/")
    if parts[0] == "src" and len(parts) > 2:
        return parts[1]
    if parts[0] == "cli":
        return "cli"
    if parts[0] == "bench" and len(parts) == 2:
        return "bench"
    if parts[:2] == ["include", "pqtls"] and len(parts) == 3:
        return HEADERS.get(parts[2], "?")
    return None


def check(root):
    problems = []
    files = 0
    for top in ("src", "cli", "include", "bench"):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for name in sorted(names):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                layer = layer_of(rel)
                if layer is None:
                    continue
                files += 1
                if layer == "?":
                    problems.append(f"{rel}: public header not assigned to a layer "
                                    f"(add it to HEADERS in {os.path.relpath(__file__, root)})")
                    continue
                if layer not in ALLOWED:
                    problems.append(f"{rel}: folder src/{layer} is not a known layer")
                    continue
                with open(path, encoding="utf-8", errors="replace") as f:
                    for lineno, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if m:
                            problems += rule(root, rel, layer, lineno, m.group(1))
    return files, problems


def rule(root, rel, layer, lineno, target):
    where = f"{rel}:{lineno}: #include \"{target}\""
    if target.startswith("pqtls/"):
        name = target[len("pqtls/"):]
        owner = HEADERS.get(name)
        if owner is None:
            return [f"{where}: not a public header of any layer"]
        if owner != layer and owner not in ALLOWED[layer]:
            return [f"{where}: layer '{layer}' may not use layer '{owner}' "
                    f"(it may use: {', '.join(sorted(ALLOWED[layer])) or 'nothing'})"]
        return []
    # A private header: found next to the file or under its own layer's
    # folder, never in another layer's folder.
    here = os.path.dirname(os.path.join(root, rel))
    if layer in ("cli", "bench"):
        base = here
    elif rel.startswith("include/"):
        return [f"{where}: a public header may include only public headers"]
    else:
        base = os.path.join(root, "src", layer)
    for candidate in (os.path.join(here, target), os.path.join(base, target)):
        full = os.path.normpath(candidate)
        if os.path.exists(full):
            if layer_of(os.path.relpath(full, root)) not in (layer, None) or \
                    not full.startswith(os.path.normpath(base) + os.sep) and \
                    not full.startswith(os.path.normpath(here) + os.sep):
                return [f"{where}: reaches into another layer's internal headers"]
            return []
    if layer == "cli" and target in ("bench_kem.h", "bench_tls.h"):
        return []  # the benchmark library's headers (bench/), linked by cli
    return [f"{where}: no such header in layer '{layer}' (internal headers of "
            f"other layers are out of reach)"]


def self_test():
    with tempfile.TemporaryDirectory() as root:
        def put(rel, text):
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w") as f:
                f.write(text)
        put("include/pqtls/scan.h", "")
        put("include/pqtls/observe.h", "")
        put("include/pqtls/wire.h", "")
        put("src/crypto/ct.h", "")
        put("src/tls/ok.c", '#include "pqtls/wire.h"\n')
        put("src/tls/up.c", '#include "pqtls/scan.h"\n')
        put("src/scan/side.c", '#include "pqtls/observe.h"\n')
        put("src/scan/internal.c", '#include "crypto/ct.h"\n#include "../crypto/ct.h"\n')
        files, problems = check(root)
        expect = ["src/tls/up.c:1", "src/scan/side.c:1", "src/scan/internal.c:1",
                  "src/scan/internal.c:2"]
        missing = [e for e in expect if not any(p.startswith(e) for p in problems)]
        if missing or len(problems) != len(expect) or files != 8:
            print("self-test FAILED: expected violations", expect, "got", problems)
            return 1
    print("self-test ok: upward, sideways and internal includes are caught")
    return 0


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--self-test":
        return self_test()
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    files, problems = check(sys.argv[1])
    for p in problems:
        print("FAIL", p)
    if files == 0:
        print("FAIL no source files found under", sys.argv[1])
        return 1
    if problems:
        print(f"{len(problems)} include(s) break the layer rule in {files} files")
        return 1
    print(f"ok: {files} files, every include goes down the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
