#!/bin/bash
# tests/man.sh - every option every command's --help lists (long and
# short) is in man/odpsim.1, in that command's section (OPTIONS OF RUN,
# OPTIONS OF COMPARE, OPTIONS OF SWEEP, VALIDATE, PARAMS, SNAPSHOT-INFO; the
# top level's in COMMON OPTIONS).  Run by tests/cli.sh.
set -u
ODPSIM=${ODPSIM:-build/odpsim}
here=$(cd "$(dirname "$0")/.." && pwd)
python3 - "$ODPSIM" "$here/man/odpsim.1" <<'PY'
import re, subprocess, sys
odpsim, man = sys.argv[1], sys.argv[2]
# the page as text: roff escapes and font changes dropped
raw = open(man).read()
sections, cur = {}, None
for line in raw.splitlines():
    m = re.match(r'^\.SH\s+"?(.*?)"?\s*$', line)
    if m:
        cur = m.group(1)
        continue
    if cur:
        t = line.replace("\\-", "-").replace("\\(em", "-")
        t = re.sub(r"\\f[BIRP]", "", t)
        t = re.sub(r"^\.(BR|BI|IR|RB|IB|B|I|TP|PP|IP)\s*", " ", t)
        sections[cur] = sections.get(cur, "") + " " + t.replace('"', " ")
where = {"": "COMMON OPTIONS", "run": "OPTIONS OF RUN",
         "compare": "OPTIONS OF COMPARE", "sweep": "OPTIONS OF SWEEP",
         "validate": "VALIDATE", "params": "PARAMS",
         "snapshot-info": "SNAPSHOT-INFO"}
missing, checked = [], 0
for cmd, sec in where.items():
    out = subprocess.run([odpsim] + ([cmd] if cmd else []) + ["--help-all"],
                         capture_output=True, text=True).stdout
    if sec not in sections:
        missing.append("no section %s for %s" % (sec, cmd or "the top level"))
        continue
    text = sections[sec]
    for line in out.splitlines():
        m = re.match(r"^\s+(-[\w?], )?(--[\w-]+)", line)
        if not m:
            continue
        for o in (m.group(1), m.group(2)):
            if not o:
                continue
            o = o.strip(", ")
            if o in ("--help", "--help-all", "-h", "-?"):
                continue
            checked += 1
            if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o), text):
                missing.append("%s: %s not in %s" % (cmd or "odpsim", o, sec))
# every command accepts --version, said once for all
if "--version" not in sections.get("COMMON OPTIONS", ""):
    missing.append("--version of every command not in COMMON OPTIONS")
if missing:
    print("\n".join("man.sh: FAIL: " + m for m in missing))
    sys.exit(1)
print("man.sh: %d options of %d commands documented" % (checked, len(where)))
PY
