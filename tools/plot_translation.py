#!/usr/bin/python3
"""tools/plot_translation.py DIR [DIR...] [-o OUT.png] - the translation-miss
curve (README: "The translation-miss curve").

Each DIR is a campaign of workloads/translation.ini (odpsim sweep -o DIR)
with workload.bw.buffer on one --grid axis; each becomes one panel of
write_bw bandwidth against the buffer (the working set of both NICs'
translations), one line per combination of the other axes that vary
(link rate, page size, IOMMU mode, offsets, the MTT cache's levels ...),
over seeds the mean.  The top axis gives the buffer in multiples of the
MTT cache's reach with 4 KiB entries (--reach-entries x 4 KiB), the
unit of issue 13's "1/4 to 64 times the reach".
Writes OUT (default DIR/translation.png, of the first DIR) and its .svg.
"""
import argparse
import json
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import plotlib  # noqa: E402

BUF = "workload.bw.buffer"
NAMES = {
    "link.ab.rate": lambda v: "%g Gb/s" % (int(v) / 1e9),
    "vmm.huge_pages": lambda v: "2 MiB pages" if str(v) in ("true", "1")
    else "4 KiB pages",
    "iommu.mode": lambda v: "IOMMU %s" % v if v != "off" else "MTT only",
    "workload.bw.offsets": lambda v: "%s slots" % v,
    "nic.mtt_l1_entries": lambda v: "L1 MTT cache %s entries" % v
    if int(v) else "one MTT cache level",
    "nic.mtt_cache_policy": lambda v: "%s replacement" % v,
}


def size_label(v, _pos):
    return "%g" % v


def times_label(v, _pos):
    return "1/%g" % (1 / v) if 0 < v < 1 else "%g" % v


def die(msg):
    sys.exit("plot_translation.py: %s" % msg)


def label_of(axis, v):
    f = NAMES.get(axis)
    return f(v) if f else "%s=%s" % (axis.split(".")[-1], v)


def load(d):
    path = os.path.join(d, "campaign.sqlite")
    if not os.path.isfile(path):
        die("%s: no campaign database (odpsim sweep ... -o %s first)"
            % (path, d))
    try:
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        axes = [n for (n,) in db.execute(
            "SELECT name FROM params ORDER BY ord")]
        cur = db.execute("SELECT * FROM runs WHERE status = 'ok'")
        names = [c[0] for c in cur.description]
        runs = {r[0]: dict(zip(names, r)) for r in cur}
        bw = dict(db.execute("SELECT key, bw_gbps FROM workloads "
                             "WHERE workload = 'bw'"))
    except sqlite3.Error as e:
        die("%s: not a campaign database (%s)" % (path, e))
    if BUF not in axes:
        die("%s: %s is not a --grid axis of this campaign" % (d, BUF))
    if not runs:
        die("%s: no run is recorded as ok" % path)
    others = [a for a in axes if a != BUF and
              len({r.get(a) for r in runs.values()}) > 1]
    lines = {}
    for k, r in runs.items():
        if bw.get(k) is None:
            continue
        key = tuple((a, r.get(a)) for a in others)
        lines.setdefault(key, {}).setdefault(int(r[BUF]), []).append(bw[k])
    return lines, os.path.basename(os.path.normpath(d))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dirs", nargs="+", help="campaign directories")
    ap.add_argument("-o", "--out", help="PNG to write")
    ap.add_argument("--reach-entries", type=int, default=1024,
                    help="MTT cache entries (first level) of the runs: "
                    "the reach is that times 4 KiB (default 1024, "
                    "[nic] mtt_cache_entries' default)")
    ap.add_argument("--title", action="append", default=[],
                    help="a panel's title (once per DIR)")
    a = ap.parse_args()
    panels = [load(d) for d in a.dirs]
    plt = plotlib.need_matplotlib()
    from matplotlib.ticker import FuncFormatter, LogLocator
    n = len(panels)
    fig, axs = plt.subplots(1, n, figsize=(6.2 * n, 4.6), squeeze=False)
    reach = a.reach_entries * 4096
    for i, (lines, name) in enumerate(panels):
        ax = axs[0][i]
        for key in sorted(lines, key=lambda t: [str(v) for _, v in t]):
            pts = lines[key]
            xs = sorted(pts)
            ys = [sum(pts[x]) / len(pts[x]) for x in xs]
            lab = ", ".join(label_of(ax_, v) for ax_, v in key) or "bw"
            huge = any(a_ == "vmm.huge_pages" and str(v) in ("true", "1")
                       for a_, v in key)
            ax.plot([x / 2**20 for x in xs], ys, marker="o", ms=3.5,
                    ls="--" if huge else "-", label=lab)
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_locator(LogLocator(base=4))
        ax.xaxis.set_major_formatter(FuncFormatter(size_label))
        ax.set_xlabel("buffer (working set of each NIC's translations), MiB")
        ax.set_ylabel("write_bw bandwidth, Gb/s")
        ax.set_ylim(bottom=0)
        ax.grid(True, which="both", alpha=0.3)
        ax.set_title(a.title[i] if i < len(a.title) else name, fontsize=10)
        top = ax.secondary_xaxis(
            "top", functions=(lambda m, r=reach: m * 2**20 / r,
                              lambda t, r=reach: t * r / 2**20))
        top.xaxis.set_major_locator(LogLocator(base=4))
        top.xaxis.set_major_formatter(FuncFormatter(times_label))
        top.set_xlabel("times the MTT cache reach with 4 KiB entries "
                       "(%d MiB)" % (reach >> 20), fontsize=8)
        ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    out = a.out or os.path.join(a.dirs[0], "translation.png")
    fig.savefig(out, dpi=80)
    fig.savefig(os.path.splitext(out)[0] + ".svg")
    print("wrote %s" % out)


if __name__ == "__main__":
    main()
