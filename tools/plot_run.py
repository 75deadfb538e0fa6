#!/usr/bin/python3
"""tools/plot_run.py DIR - plot one run's outputs (odpsim run --out DIR).

Reads DIR/series.csv (and DIR/summary.json when present) and writes
DIR/run.png and DIR/run.svg: one panel per kind of series (the last dotted
part of the column name: resident_pages, faults, moves...), one line per
host, on a common time axis.  Columns counted per interval are shown as
rates (per second).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plotlib  # noqa: E402


def main():
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        sys.exit("usage: plot_run.py DIR   (DIR written by odpsim run --out DIR)")
    d = sys.argv[1]
    plt = plotlib.need_matplotlib()
    times, cols, modes = plotlib.read_series(os.path.join(d, "series.csv"))
    if not times:
        sys.exit("%s/series.csv: no samples (run longer than series_interval)" % d)
    summary = {}
    sp = os.path.join(d, "summary.json")
    if os.path.exists(sp):
        with open(sp) as f:
            summary = json.load(f)
    # group columns by their metric: "a.vmm.resident_pages" -> "vmm.resident_pages"
    groups = {}
    for name in cols:
        parts = name.split(".", 1)
        metric = parts[1] if len(parts) == 2 else name
        groups.setdefault(metric, []).append(name)
    n = len(groups)
    if n == 0:
        sys.exit("%s/series.csv: no series columns" % d)
    dt = times[1] - times[0] if len(times) > 1 else times[0]
    fig, axes = plt.subplots(n, 1, figsize=(10, 2.2 * n + 0.8), sharex=True,
                             squeeze=False)
    # throughput first, then the NIC, then the VMM
    order = sorted(groups.items(), key=lambda kv: (
        not kv[0].endswith("bytes"), not kv[0].startswith("nic"), kv[0]))
    for ax, (metric, names) in zip(axes[:, 0], order):
        rate = modes[names[0]] == "delta"
        gbps = rate and metric.endswith("bytes")
        for name in names:
            ys = cols[name]
            if rate and dt > 0:
                ys = [y / dt * (8e-9 if gbps else 1) for y in ys]
            ax.plot([t * 1e3 for t in times], ys, label=name.split(".")[0],
                    linewidth=1.2)
        unit = " Gb/s" if gbps else (" /s" if rate else "")
        ax.set_ylabel(metric + unit, fontsize=8)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
    axes[-1, 0].set_xlabel("simulated time (ms)")
    title = "%s  policy=%s  seed=%s" % (
        os.path.basename(summary.get("scenario", d)),
        summary.get("policy", "?"), summary.get("seed", "?"))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    for ext in ("png", "svg"):
        out = os.path.join(d, "run." + ext)
        fig.savefig(out, dpi=110)
        print("wrote", out)


if __name__ == "__main__":
    main()
