#!/usr/bin/env python3
"""Man pages and bash completion for pqtls, from the built command's --help.

    gen-man.py PQTLS_BINARY SOURCE_DIR OUT_DIR

Writes OUT_DIR/man1/pqtls.1, OUT_DIR/man1/pqtls-COMMAND.1 for every command
`pqtls --help` lists, OUT_DIR/man5/pqtls-policy.5 (from docs/scan.md's
"Policy files" and "Stages and flags"), and OUT_DIR/completion/pqtls (bash).

The help texts in cli/*.c are the one source: CMake runs this after linking
pqtls, so the pages always describe the binary they are installed with.
Layout rules read from the help texts:
  "Usage: ..." and the "       pqtls ..." lines under it    -> SYNOPSIS
  "Exit codes..." / "Exit status..." blocks                 -> EXIT STATUS
  "Example(s):" blocks                                      -> EXAMPLES
  blocks of "  -x, --opt ARG   text" lines (with a header)  -> OPTIONS
  everything else                                           -> DESCRIPTION
"""
import os
import re
import subprocess
import sys

DATE = os.environ.get("PQTLS_MAN_DATE", "")


def run_help(binary, *args):
    r = subprocess.run([binary, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       check=False)
    if r.returncode != 0:
        sys.exit("gen-man: %s %s exited %d" % (binary, " ".join(args), r.returncode))
    return r.stdout.decode("utf-8")


def esc(s):
    """Text for a roff line: backslashes, and a leading control character."""
    s = s.replace("\\", "\\e")
    s = s.replace("-", "\\-") if False else s
    if s.startswith((".", "'")):
        s = "\\&" + s
    return s


def esc_opt(s):
    s = esc(s)
    return s.replace("-", "\\-")


def bold_opts(term):
    """'-t, --targets FILE' -> bold options, italic arguments."""
    out = []
    for tok in re.split(r"(\s+|,|\|)", term):
        if not tok or tok.isspace() or tok in (",", "|"):
            out.append(tok.replace(" ", " "))
        elif tok.startswith("-"):
            m = re.match(r"^(-[-\w]+)(=?)(.*)$", tok)
            if m and m.group(3):
                out.append("\\fB%s\\fR%s\\fI%s\\fR" % (esc_opt(m.group(1)), m.group(2),
                                                       esc(m.group(3))))
            else:
                out.append("\\fB%s\\fR" % esc_opt(tok))
        elif re.match(r"^[A-Z][A-Z0-9_/.\[\]]*$", tok.strip("[]")) and tok.strip("[]"):
            out.append("\\fI%s\\fR" % esc(tok))
        else:
            out.append(esc(tok))
    return "".join(out)


DEF = re.compile(r"^( {1,6})(\S(?:.*?\S)?) {2,}(\S.*)$")


def blocks(text):
    cur = []
    for line in text.rstrip("\n").split("\n"):
        if line.strip() == "":
            if cur:
                yield cur
                cur = []
        else:
            cur.append(line.rstrip())
    if cur:
        yield cur


def indent(line):
    return len(line) - len(line.lstrip(" "))


def is_item(line, opt_terms):
    m = DEF.match(line)
    return bool(m) and (opt_terms or m.group(2).startswith("-")
                        or re.match(r"^[\w-]+$", m.group(2)) is not None)


def render_lines(lines, opt_terms=False):
    """Body lines -> roff: unindented runs are filled text, 'TERM  text' runs are
    .TP lists (continuations are the deeper-indented lines), other indented
    lines are kept as they are (.nf)."""
    out = []
    if re.match(r"^\w+: \S", lines[0]) and len(lines) > 1 and all(
            indent(l) > 0 and not is_item(l, opt_terms) for l in lines[1:]):
        # "Probes: a b c\n        d e f": one wrapped list
        return [".PP", " ".join(esc(l.strip()) for l in lines)]
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        if indent(line) == 0:
            para = []
            while i < n and indent(lines[i]) == 0:
                para.append(esc(lines[i]))
                i += 1
            out.append(".PP")
            out.extend(para)
            continue
        m = DEF.match(line)
        if is_item(line, opt_terms):
            base = len(m.group(1))
            desc_col = line.index(m.group(3), base + len(m.group(2)))
            term = m.group(2)
            desc = [m.group(3)]
            i += 1
            while i < n and indent(lines[i]) > base and not (
                    is_item(lines[i], opt_terms) and indent(lines[i]) < desc_col - 1):
                desc.append(lines[i].strip())
                i += 1
            out.append(".TP")
            out.append(bold_opts(term) if term.startswith("-") else "\\fB%s\\fR" % esc(term))
            out.extend(esc(d) for d in desc)
            continue
        # indented text that is no list: keep its layout
        out.append(".PP")
        out.append(".RS 4")
        out.append(".nf")
        base = indent(line)
        out.append(esc(line[base:]))
        i += 1
        while i < n and indent(lines[i]) > 0 and not is_item(lines[i], opt_terms):
            l = lines[i]
            out.append(esc(l[base:] if indent(l) >= base else l.lstrip()))
            i += 1
        out.append(".fi")
        out.append(".RE")
    return out


CMD_LOOSE = re.compile(r"^(\s+\w+\s.*\b[A-Z]+) (\s*[a-z].*)$")


def fix_command_line(line):
    """'  mask CAPTURE | --log FMT FILE scrub ...': the synopsis ran into the
    summary column; split after its last upper-case argument."""
    if DEF.match(line):
        return line
    m = CMD_LOOSE.match(line)
    return "%s  %s" % (m.group(1), m.group(2).lstrip()) if m else line


def header_of(block):
    first = block[0]
    if indent(first) == 0 and first.endswith(":") and len(first) < 70:
        return first[:-1]
    return None


def synopsis(block, prog):
    out = []
    lines = list(block)
    lines[0] = re.sub(r"^Usage:\s*", "", lines[0])
    for line in lines:
        s = line.strip()
        if not s:
            continue
        if s.startswith("pqtls"):
            out.append(".PP" if out else ".nf")
            out.append(bold_synopsis(s))
        else:
            out.append(".RS 4")
            out.append(esc(s))
            out.append(".RE")
    if out and out[0] == ".PP":
        out[0] = ".nf"
    out = [l for l in out]
    return [".nf"] + [l for l in out if l not in (".nf", ".PP")] + [".fi"]


def bold_synopsis(s):
    words = s.split(" ")
    out = []
    for w in words:
        if w in ("pqtls",) or re.match(r"^[a-z][a-z0-9|-]*$", w) and not w.startswith("-"):
            out.append("\\fB%s\\fR" % esc_opt(w))
        else:
            out.append(bold_opts(w))
    return " ".join(out)


def examples(block):
    out = []
    body = block[1:] if header_of(block) else block
    base = min(indent(l) for l in body) if body else 0
    out.append(".PP")
    out.append(".RS 4")
    out.append(".nf")
    for l in body:
        out.append(esc(l[base:]))
    out.append(".fi")
    out.append(".RE")
    return out


def th(name, section, title):
    return [
        '.\\" Generated by scripts/gen-man.py from `%s --help`; do not edit.' % name.replace("-", " ", 1),
        '.TH "%s" "%d" "%s" "pqtls" "%s"' % (name.upper(), section, DATE, title),
        ".nh",
        ".ad l",
    ]


def page(prog, summary, text, see_also):
    sections = {"DESCRIPTION": [], "OPTIONS": [], "EXIT STATUS": [], "EXAMPLES": [],
                "SYNOPSIS": [], "COMMANDS": []}
    bl = list(blocks(text))
    # pqtls --help starts with "pqtls - summary"
    if bl and re.match(r"^pqtls - ", bl[0][0]):
        bl = bl[1:]
    for b in bl:
        h = header_of(b)
        first = b[0]
        if first.startswith("Usage:"):
            sections["SYNOPSIS"] += synopsis(b, prog)
            continue
        if re.match(r"^Exit (codes|status)", first):
            body = b[1:] if h else b
            if not h:  # "Exit codes: 0 done; 1 ..." on one paragraph
                body = [re.sub(r"^Exit (codes|status)[^:]*:\s*", "", b[0])] + b[1:]
            elif h not in ("Exit codes", "Exit status"):
                sections["EXIT STATUS"] += [".PP", esc(h) + ":"]
            sections["EXIT STATUS"] += render_lines(body, opt_terms=True)
            continue
        if h in ("Examples", "Example"):
            sections["EXAMPLES"] += examples(b)
            continue
        if h == "Commands":
            sections["COMMANDS"] += render_lines([fix_command_line(l) for l in b[1:]],
                                                 opt_terms=True)
            continue
        body = b[1:] if h else b
        is_opts = body and all(indent(l) > 0 for l in body) and DEF.match(body[0]) \
            and DEF.match(body[0]).group(2).startswith("-")
        if is_opts:
            if h and h != "Options":
                sections["OPTIONS"] += [".SS " + esc(h)]
            sections["OPTIONS"] += render_lines(body)
            continue
        if h and len(b) > 1 and indent(b[1]) > 0 and not h.endswith("stage"):
            # "A policy file:" and other headed indented examples
            sections["DESCRIPTION"] += [".PP", esc(h) + ":"] + examples(b)[1:]
            continue
        sections["DESCRIPTION"] += render_lines(b)
    if prog == "pqtls":
        sections["DESCRIPTION"] = [
            ".PP", "\\fBpqtls\\fR runs one command per invocation. Each command has its own",
            "manual page, \\fBpqtls\\-\\fR\\fICOMMAND\\fR(1), made from the same text as",
            "\\fBpqtls\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR and \\fBpqtls help\\fR \\fICOMMAND\\fR."]
    out = th(prog, 1, "pqtls manual")
    out += [".SH NAME", "%s \\- %s" % (esc_opt(prog), esc(summary))]
    for name in ("SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "EXIT STATUS", "EXAMPLES"):
        if sections[name]:
            out.append(".SH " + name)
            body = sections[name]
            if body and body[0] == ".PP" and name != "EXAMPLES":
                body = body[1:]
            out += body
    out.append(".SH SEE ALSO")
    out.append(",\n".join("\\fB%s\\fR(%d)" % (esc_opt(n), s) for n, s in see_also))
    return "\n".join(out) + "\n"


# ---- pqtls-policy(5) from docs/scan.md ---------------------------------------

def md_inline(s):
    s = esc(s)
    s = re.sub(r"`([^`]*)`", lambda m: "\\fB%s\\fR" % m.group(1), s)
    s = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", s)
    return s


def md_section(md, title):
    m = re.search(r"^## %s\n(.*?)(?=^## |\Z)" % re.escape(title), md, re.S | re.M)
    if not m:
        sys.exit("gen-man: docs/scan.md has no section '## %s'" % title)
    return m.group(1)


def md_to_roff(text):
    out = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        l = lines[i]
        if l.startswith("```"):
            i += 1
            out += [".PP", ".RS 4", ".nf"]
            while i < len(lines) and not lines[i].startswith("```"):
                out.append(esc(lines[i]))
                i += 1
            out += [".fi", ".RE"]
            i += 1
            continue
        if l.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            for r in rows[2:]:  # header and separator rows dropped
                out += [".TP", md_inline(r[0]), md_inline(" ".join(r[1:]))]
            continue
        if l.strip() == "":
            i += 1
            continue
        out.append(".PP")
        while i < len(lines) and lines[i].strip() and not lines[i].startswith(("```", "|")):
            out.append(md_inline(lines[i]))
            i += 1
    return out


def policy_page(src):
    with open(os.path.join(src, "docs", "scan.md"), encoding="utf-8") as f:
        md = f.read()
    pol = md_section(md, "Policy files")
    # the exit status table follows "Exit status, ..." in that section
    head, _, exits = pol.partition("Exit status")
    exits = "Exit status" + exits
    stages = md_section(md, "Stages and flags")
    stage_tbl, flag_tbl = re.findall(r"(^\|.*?)(?=\n[^|]|\Z)", stages, re.S | re.M)[:2]
    out = th("pqtls-policy", 5, "pqtls manual")
    out += [".SH NAME", "pqtls\\-policy \\- minimum post\\-quantum stage per target for pqtls scan",
            ".SH SYNOPSIS", ".nf",
            "\\fBpqtls scan\\fR \\fB\\-\\-policy\\fR \\fIFILE\\fR ...",
            "\\fIPATTERN\\fR \\fISTAGE\\fR [\\fBno\\-\\fR\\fIFLAG\\fR...]", ".fi",
            ".SH DESCRIPTION",
            ".PP",
            "One rule per line: a shell glob, the minimum stage, and flags the target must",
            "not have. \\(aq#\\(aq starts a comment; blank lines are ignored.",
            "A target that fails its rule is listed on standard error and makes",
            "\\fBpqtls scan\\fR exit with status 1."]
    out += md_to_roff(head)
    out += [".SH STAGES"] + md_to_roff(stage_tbl)
    out += [".SH FLAGS"] + md_to_roff(flag_tbl)
    out += [".SH EXIT STATUS"] + md_to_roff(exits)[2:]  # drop the lead-in line
    out += [".SH SEE ALSO", "\\fBpqtls\\-scan\\fR(1), \\fBpqtls\\fR(1)"]
    return "\n".join(out) + "\n"


# ---- bash completion ---------------------------------------------------------

def options_of(text):
    opts = set()
    for line in text.split("\n"):
        m = DEF.match(line)
        if m and m.group(2).startswith("-"):
            for tok in re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", m.group(2)):
                opts.add(tok)
    return sorted(opts)


def option_values(text):
    """--opt a|b|c, or '--opt X  one, two or three' -> candidate values."""
    vals = {}
    for m in re.finditer(r"(--[\w-]+)[ =]([a-z0-9]+(?:\|[a-z0-9]+)+)\b", text):
        vals.setdefault(m.group(1), m.group(2).split("|"))
    lines = text.split("\n")
    for k, line in enumerate(lines):
        m = DEF.match(line)
        if not m or not m.group(2).startswith("-"):
            continue
        term, desc = m.group(2), m.group(3)
        for nxt in lines[k + 1:]:
            if indent(nxt) <= len(m.group(1)) or is_item(nxt, False):
                break
            desc += " " + nxt.strip()
        names = re.findall(r"(?<![\w-])(--[A-Za-z][\w-]*)", term)
        if not names or names[-1] in vals:
            continue
        desc = re.sub(r"^[a-z ]+: ", "", desc)  # "mask a log instead: a, b, c"
        desc = re.sub(r"\([^)]*\)", "", desc)
        desc = re.sub(r"\s+,", ",", desc)
        mv = re.match(r"^([a-z0-9-]+(?: *, *(?!(?:or|and)\b)[a-z0-9-]+)*(?:,? +(?:or|and) +[a-z0-9-]+)?)\b", desc)
        if mv and re.search(r",|\bor\b|\band\b", mv.group(1)):
            vals[names[-1]] = [w for w in re.split(r"[,\s]+", mv.group(1))
                               if w and w not in ("or", "and")]
    return vals


def completion(binary, commands, helps, src):
    scan = helps["scan"]
    probes = []
    m = re.search(r"^Probes:(.*?)(?=\n\n|\Z)", scan, re.S | re.M)
    if m:
        probes = m.group(1).split()
    with open(os.path.join(src, "src", "crypto", "groups.c"), encoding="utf-8") as f:
        groups = re.findall(r"\{PQT_GROUP_\w+, \"([^\"]+)\"", f.read())
    # --alg takes the ML-KEM parameter sets, also by their group names
    kem_algs = ["ML-KEM-512", "ML-KEM-768", "ML-KEM-1024"] + [
        g for g in groups if re.match(r"^MLKEM[0-9]+$", g)]
    m = re.search(r"--starttls PROTO .*?\((.*?)\)", scan, re.S)
    starttls = [w for w in re.split(r"[,\s]+", m.group(1)) if w] if m else []
    lines = ["# bash completion for pqtls; generated by scripts/gen-man.py from",
             "# `pqtls COMMAND --help` and src/crypto/groups.c. Do not edit.",
             "_pqtls_commands='%s'" % " ".join(commands + ["help"]),
             "_pqtls_probes='%s'" % " ".join(probes),
             "_pqtls_groups='%s'" % " ".join(groups)]
    case = []
    for c in commands:
        text = helps[c]
        opts = options_of(text)
        lines.append("_pqtls_opts_%s='%s'" % (c, " ".join(opts)))
        vals = option_values(text)
        if c == "scan":
            vals["--probes"] = None
            vals["--starttls"] = starttls
        if c == "kem":
            vals["--alg"] = kem_algs
            vals.setdefault("--backend", ["portable", "avx2", "auto"])
        if c == "bench":
            vals["--alg"] = kem_algs
        arms = []
        for o, v in sorted(vals.items()):
            if v is None:
                continue
            arms.append("        %s) _pqtls_words '%s'; return ;;" % (o, " ".join(v)))
        if c == "scan":
            arms.append("        --probes) _pqtls_list \"$_pqtls_probes\"; return ;;")
            arms.append("        -f) _pqtls_words '%s'; return ;;" % " ".join(vals.get("--format", [])))
        if c == "history":
            arms.append("        -f) _pqtls_words '%s'; return ;;" % " ".join(vals.get("--format", [])))
        case.append("    %s)\n      case $prev in\n%s\n      esac ;;" % (c, "\n".join(arms)))
    sub = {"kem": "keygen encaps decaps", "bench": "kem tls"}
    lines.append(r'''
_pqtls_words() { COMPREPLY=($(compgen -W "$1" -- "$cur")); }
# comma-separated lists (--probes a,b,...): complete the last item
_pqtls_list() {
  local pre="" last="$cur"
  if [[ $cur == *,* ]]; then pre="${cur%%,*},"; last="${cur##*,}"; fi
  COMPREPLY=($(compgen -P "$pre" -W "$1" -- "$last"))
  [[ ${#COMPREPLY[@]} -eq 1 ]] && type compopt &>/dev/null && compopt -o nospace 2>/dev/null
}

_pqtls() {
  local cur prev cmd i
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  cmd=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in -*) ;; *) cmd=${COMP_WORDS[i]}; break ;; esac
  done
  if [[ -z $cmd ]]; then
    if [[ $cur == -* ]]; then _pqtls_words '--help -h --version -V'
    else _pqtls_words "$_pqtls_commands"; fi
    return
  fi
  if [[ $cmd == help ]]; then _pqtls_words "$_pqtls_commands"; return; fi
  case $cmd in
%s
  esac
  if [[ $cur == -* ]]; then
    local v="_pqtls_opts_${cmd}"
    _pqtls_words "${!v}"
    return
  fi
  case $cmd in
%s
  esac
  # files for targets, captures, outputs
  COMPREPLY=($(compgen -f -- "$cur"))
  type compopt &>/dev/null && compopt -o filenames 2>/dev/null
}
complete -F _pqtls pqtls''' % ("\n".join(case), "\n".join(
        "    %s) if [[ $((COMP_CWORD - i)) -eq 1 ]]; then _pqtls_words '%s'; return; fi ;;" % (k, v)
        for k, v in sub.items())))
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    binary, src, out = sys.argv[1:]
    top = run_help(binary, "--help")
    cmds = []
    summaries = {}
    m = re.search(r"^Commands:\n(.*?)(?=\n\n|\Z)", top, re.S | re.M)
    for line in m.group(1).split("\n"):
        d = DEF.match(fix_command_line(line))
        if not d:
            continue
        name = d.group(2).split()[0]
        if name == "help":
            continue
        cmds.append(name)
        summaries[name] = d.group(3)
    summary = re.match(r"^pqtls - (.*)$", top.split("\n")[0]).group(1)
    helps = {c: run_help(binary, c, "--help") for c in cmds}
    os.makedirs(os.path.join(out, "man1"), exist_ok=True)
    os.makedirs(os.path.join(out, "man5"), exist_ok=True)
    os.makedirs(os.path.join(out, "completion"), exist_ok=True)
    allpages = [("pqtls", 1)] + [("pqtls-" + c, 1) for c in cmds] + [("pqtls-policy", 5)]

    def write(path, text):
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    write(os.path.join(out, "man1", "pqtls.1"),
          page("pqtls", summary, top, [p for p in allpages if p[0] != "pqtls"]))
    for c in cmds:
        see = [("pqtls", 1)] + ([("pqtls-policy", 5)] if c == "scan" else [])
        write(os.path.join(out, "man1", "pqtls-%s.1" % c),
              page("pqtls-" + c, summaries[c], helps[c], see))
    write(os.path.join(out, "man5", "pqtls-policy.5"), policy_page(src))
    write(os.path.join(out, "completion", "pqtls"), completion(binary, cmds, helps, src))


if __name__ == "__main__":
    main()
