"""tools/plotlib.py - shared helpers of the odpsim plotting scripts.

Finds an interpreter with matplotlib: the `python3` on PATH may be a
separate interpreter without Debian's modules, so when matplotlib is not
importable we re-run the script with /usr/bin/python3 (Debian's, where
python3-matplotlib installs), or say exactly what to install.
"""
import csv
import os
import sys


def need_matplotlib():
    """Import matplotlib (Agg backend) or re-exec / exit with a clear error."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        return plt
    except ImportError:
        debian = "/usr/bin/python3"
        if (os.path.realpath(sys.executable) != os.path.realpath(debian)
                and os.path.exists(debian)
                and not os.environ.get("ODPSIM_PLOT_REEXEC")):
            os.environ["ODPSIM_PLOT_REEXEC"] = "1"
            os.execv(debian, [debian] + sys.argv)
        sys.exit("%s: matplotlib is not installed for %s; install Debian's "
                 "package: sudo apt-get install python3-matplotlib (then run "
                 "with /usr/bin/python3)" % (os.path.basename(sys.argv[0]),
                                             sys.executable))


def read_series(path):
    """series.csv -> (times in seconds, {column: [values]}, {column: mode})

    mode is "level" (value at the sample) or "delta" (increase over the
    interval), from the file's "# ... modes:" comment line."""
    try:
        with open(path, newline="") as f:
            lines = f.read().splitlines()
    except OSError as e:
        sys.exit("%s: %s" % (path, e.strerror))
    modes_line = [l for l in lines if l.startswith("#") and "modes:" in l]
    rows = list(csv.reader(l for l in lines if not l.startswith("#")))
    if not rows or rows[0][0] != "time_ps":
        sys.exit("%s: not an odpsim series.csv (no time_ps header)" % path)
    head = rows[0]
    if modes_line:
        modes = modes_line[0].split("modes:", 1)[1].strip().split(",")
    else:
        modes = ["time"] + ["level"] * (len(head) - 1)
    if len(modes) != len(head):
        sys.exit("%s: modes line has %d fields, header %d" % (path, len(modes),
                                                              len(head)))
    cols = {h: [] for h in head[1:]}
    times = []
    for n, r in enumerate(rows[1:], start=2):
        if len(r) != len(head):
            sys.exit("%s:%d: %d fields, header has %d" % (path, n, len(r),
                                                          len(head)))
        times.append(int(r[0]) / 1e12)
        for h, v in zip(head[1:], r[1:]):
            cols[h].append(float(v))
    return times, cols, dict(zip(head, modes))
