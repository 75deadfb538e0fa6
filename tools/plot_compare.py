#!/usr/bin/python3
"""tools/plot_compare.py DIR - plot a comparison (odpsim compare --out DIR).

Reads DIR/compare.json (one summary per policy, in the order compared) and
DIR/POLICY/series.csv, and writes DIR/compare.png and DIR/compare.svg:

  1. one lane per policy on a common simulated-time axis: throughput in
     Gb/s per host (from the HOST.nic.tx_bytes delta columns), and under it
     a strip that shades every sampling interval in which page faults, RNR
     NAKs, QP stalls or page invalidations happened (summed over hosts; the
     total is in the strip's label) - the cycle-by-cycle comparison;
  2. bar charts of the summary figures per policy: bandwidth per workload,
     registration time, page faults, RNR NAKs, QP stalls, invalidations,
     moves that failed on a pinned page, oracle violations; with a live
     migration (odpsim compare --migration: the columns are migration
     policies) also downtime, total time, bytes sent, remote faults and the
     longest workload stall, and each lane shades the downtime.

Figures are found by name suffix, as `odpsim compare` does, so new hosts
and counters need no change here.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plotlib  # noqa: E402

# the event strip: (column suffix, label, colour)
EVENTS = [
    ("nic.page_faults", "page faults", "tab:red"),
    ("nic.rnr_naks_sent", "RNR NAKs", "tab:orange"),
    ("nic.qp_stalls", "QP stalls", "tab:purple"),
    ("nic.page_invalidations", "invalidations", "tab:brown"),
]
TIME_UNITS = {"_ps": 1e-12, "_ns": 1e-9, "_us": 1e-6, "_ms": 1e-3, "_s": 1.0}


def matches(name, suffix):
    """HOST.nic.page_faults matches nic.page_faults (at a dot)."""
    return name == suffix or name.endswith("." + suffix)


def counter_sum(run, suffix):
    """Sum of the counters HOST.suffix, or None when the run has none."""
    vals = [v for k, v in run.get("counters", {}).items() if matches(k, suffix)]
    return sum(vals) if vals else None


def hist_max_s(run, stem):
    """Largest max of the histograms HOST.stem_UNIT, in seconds, or None."""
    best = None
    for name, h in run.get("histograms", {}).items():
        base, us, unit = name.rpartition("_")
        scale = TIME_UNITS.get("_" + unit)
        if us and scale and matches(base, stem):
            x = (h.get("max") or 0) * scale
            best = x if best is None else max(best, x)
    return best


def load(d):
    path = os.path.join(d, "compare.json")
    try:
        with open(path) as f:
            runs = json.load(f)
    except FileNotFoundError:
        sys.exit("%s: no such file (write it with: odpsim compare SCENARIO "
                 "--out %s)" % (path, d))
    except (OSError, ValueError) as e:
        sys.exit("%s: %s" % (path, e))
    if not isinstance(runs, list) or not runs or not all(
            isinstance(r, dict) and "policy" in r for r in runs):
        sys.exit("%s: not an odpsim comparison (an array of run summaries)"
                 % path)
    # the columns are registration policies, or migration policies when
    # the runs compare those (odpsim compare --migration)
    migs = [r.get("migration", {}).get("policy") for r in runs]
    by_mig = all(migs) and len(set(migs)) == len(runs) and \
        len(set(r["policy"] for r in runs)) == 1
    for r, m in zip(runs, migs):
        r["_label"] = m if by_mig else r["policy"]
    series = {}
    for r in runs:
        p = r["_label"]
        series[p] = plotlib.read_series(os.path.join(d, p, "series.csv"))
    return runs, series


def intervals(times, ys, dt):
    """Merged [start, end) time intervals (ms) where ys is non-zero."""
    out = []
    for t, y in zip(times, ys):
        if not y:
            continue
        a, b = (t - dt) * 1e3, t * 1e3
        if out and abs(out[-1][1] - a) < 1e-12:
            out[-1][1] = b
        else:
            out.append([a, b])
    return [(a, b - a) for a, b in out]


def lanes(fig, spec, runs, series, colors):
    n = len(runs)
    outer = spec.subgridspec(n, 1, hspace=0.5)
    first = None
    tmax = 0
    ymax = 0
    axes = []
    for i, r in enumerate(runs):
        p = r["_label"]
        times, cols, modes = series[p]
        dt = times[1] - times[0] if len(times) > 1 else (times[0] if times else 0)
        tmax = max([tmax] + times)
        gs = outer[i].subgridspec(2, 1, height_ratios=[3, 1], hspace=0.06)
        ax = fig.add_subplot(gs[0], sharex=first, sharey=first)
        first = first or ax
        strip = fig.add_subplot(gs[1], sharex=first)
        axes += [ax, strip]
        tx = sorted(c for c in cols if matches(c, "nic.tx_bytes"))
        ms = [t * 1e3 for t in times]
        styles = ["-", "--", ":", "-."]
        for k, c in enumerate(tx):
            if not any(cols[c]):
                continue
            ys = cols[c]
            if modes.get(c) == "delta" and dt > 0:
                ys = [y * 8 / dt / 1e9 for y in ys]
            ymax = max([ymax] + ys)
            ax.plot(ms, ys, color=colors[p], linestyle=styles[k % len(styles)],
                    linewidth=1.2, label="%s tx" % c.split(".")[0])
        mig = r.get("migration")
        if mig and mig.get("downtime_ps"):
            a = mig.get("frozen_at_ps", 0) / 1e9
            ax.axvspan(a, a + mig["downtime_ps"] / 1e9, color="0.6",
                       alpha=0.35, label="migration downtime")
            if mig.get("total_ps"):
                ax.axvline(mig.get("at_ps", 0) / 1e9, color="0.4",
                           linewidth=0.8, linestyle=":")
                ax.axvline((mig["at_ps"] + mig["total_ps"]) / 1e9,
                           color="0.4", linewidth=0.8, linestyle=":")
        ax.set_ylabel("Gb/s", fontsize=8)
        bw = ", ".join("%s %.2f" % (name, (w.get("bw_gbps") or 0))
                       for name, w in r.get("workloads", {}).items())
        ax.set_title("%s   %s   fingerprint %s" % (
            p, ("Gb/s: " + bw) if bw else "no workloads",
            r.get("fingerprint", "?")), fontsize=9, loc="left")
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper right")
        ax.tick_params(labelbottom=False, labelsize=7)
        # the event strip: one row per kind, shaded where it happened
        labels = []
        for row, (suffix, label, color) in enumerate(EVENTS):
            names = [c for c in cols if matches(c, suffix)]
            total = counter_sum(r, suffix)
            labels.append("%s (%s)" % (label, "-" if total is None else total))
            if not names:
                continue
            ys = [sum(v) for v in zip(*(cols[c] for c in names))]
            spans = intervals(times, ys, dt)
            if spans:
                strip.broken_barh(spans, (row + 0.1, 0.8), facecolors=color)
        strip.set_ylim(0, len(EVENTS))
        strip.set_yticks([k + 0.5 for k in range(len(EVENTS))])
        strip.set_yticklabels(labels, fontsize=6)
        strip.invert_yaxis()
        strip.grid(True, axis="x", alpha=0.3)
        strip.tick_params(labelbottom=(i == n - 1), labelsize=7)
    axes[-1].set_xlabel("simulated time (ms)", fontsize=8)
    if tmax > 0:
        first.set_xlim(0, tmax * 1e3)
    # one throughput scale for every lane, from zero
    first.set_ylim(0, ymax * 1.1 if ymax > 0 else 1)


def bars(fig, spec, runs, colors):
    pols = [r["_label"] for r in runs]

    def oracle(r):
        # every kind the oracle counts: lost_writes, stale_reads, ...
        return sum(v for v in r.get("oracle", {}).values()
                   if isinstance(v, (int, float)))

    def reg_ms(r):
        s = hist_max_s(r, "nic.reg_time")
        return None if s is None else s * 1e3

    panels = [
        ("registration time (ms, max)", reg_ms),
        ("page faults", lambda r: counter_sum(r, "nic.page_faults")),
        ("RNR NAKs sent", lambda r: counter_sum(r, "nic.rnr_naks_sent")),
        ("QP stalls", lambda r: counter_sum(r, "nic.qp_stalls")),
        ("page invalidations",
         lambda r: counter_sum(r, "nic.page_invalidations")),
        ("moves failed (pinned)",
         lambda r: counter_sum(r, "vmm.move_failed_pinned")),
        ("oracle violations", oracle),
    ]
    if any("migration" in r for r in runs):
        def mig(key, scale=1.0):
            return lambda r: (None if key not in r.get("migration", {})
                              else r["migration"][key] * scale)

        def stall_ms(r):
            w = r.get("workloads", {})
            v = [x.get("longest_stall_ps", 0) for x in w.values()]
            return max(v) / 1e9 if v else None
        panels += [
            ("migration downtime (ms)", mig("downtime_ps", 1e-9)),
            ("migration total (ms)", mig("total_ps", 1e-9)),
            ("migration MiB sent", mig("bytes", 1 / 1048576)),
            ("remote faults", mig("remote_faults")),
            ("longest workload stall (ms)", stall_ms),
        ]
    rows = (len(panels) + 1 + 3) // 4
    gs = spec.subgridspec(rows, 4, hspace=0.6, wspace=0.45)
    # bandwidth: one group of bars per workload that moved data in a run
    ax = fig.add_subplot(gs[0, 0])
    names, types = [], {}
    for r in runs:
        for name, w in r.get("workloads", {}).items():
            types.setdefault(name, w.get("type", "?"))
            if name not in names:
                names.append(name)
    wls = [n for n in names if any(
        (r.get("workloads", {}).get(n, {}).get("bw_gbps") or 0) > 0 for r in runs)]
    wls = wls or names  # nothing moved: show every workload anyway
    width = 0.8 / max(1, len(pols))
    for i, r in enumerate(runs):
        ys = [r.get("workloads", {}).get(w, {}).get("bw_gbps") or 0 for w in wls]
        ax.bar([k + (i - (len(pols) - 1) / 2) * width for k in range(len(wls))],
               ys, width, color=colors[r["_label"]], label=r["_label"])
    ax.set_xticks(range(len(wls)))
    ax.set_xticklabels(["%s (%s)" % (w, types.get(w, "?")) for w in wls],
                       fontsize=6, rotation=20, ha="right")
    ax.set_title("bandwidth (Gb/s)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_ylim(0, max([1] + [r.get("workloads", {}).get(w, {}).get(
        "bw_gbps") or 0 for r in runs for w in wls]) * 1.45)
    ax.legend(fontsize=5, loc="upper right", ncol=2)
    for k, (title, fn) in enumerate(panels, start=1):
        ax = fig.add_subplot(gs[k // 4, k % 4])
        vals = [fn(r) for r in runs]
        ax.bar(range(len(pols)), [v or 0 for v in vals],
               color=[colors[p] for p in pols])
        for x, v in enumerate(vals):
            ax.annotate("-" if v is None else ("%.3g" % v), (x, v or 0),
                        ha="center", va="bottom", fontsize=6)
        ax.set_xticks(range(len(pols)))
        ax.set_xticklabels(pols, fontsize=7, rotation=20)
        ax.set_title(title, fontsize=8)
        ax.tick_params(labelsize=7)
        top = max([v or 0 for v in vals])
        ax.set_ylim(0, top * 1.25 if top > 0 else 1)


def main():
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        sys.exit("usage: plot_compare.py DIR   "
                 "(DIR written by odpsim compare SCENARIO --out DIR)")
    d = sys.argv[1]
    plt = plotlib.need_matplotlib()
    runs, series = load(d)
    for p, (times, _, _) in series.items():
        if not times:
            sys.exit("%s/%s/series.csv: no samples (run longer than "
                     "series_interval)" % (d, p))
    cycle = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    colors = {r["_label"]: cycle[i % len(cycle)] for i, r in enumerate(runs)}
    n = len(runs)
    lanes_h = 2.3 * n
    bars_h = 6.9 if any("migration" in r for r in runs) else 4.6
    fig = plt.figure(figsize=(12, lanes_h + bars_h + 0.8))
    gs = fig.add_gridspec(2, 1, height_ratios=[lanes_h, bars_h], hspace=0.14)
    lanes(fig, gs[0], runs, series, colors)
    bars(fig, gs[1], runs, colors)
    first = runs[0]
    fig.suptitle("%s  seed=%s  policies: %s" % (
        os.path.basename(first.get("scenario", d)), first.get("seed", "?"),
        ", ".join(r["_label"] for r in runs)), fontsize=10)
    fig.subplots_adjust(left=0.13, right=0.98, top=1 - 0.7 / fig.get_figheight(),
                        bottom=0.35 / fig.get_figheight())
    for ext in ("png", "svg"):
        out = os.path.join(d, "compare." + ext)
        fig.savefig(out, dpi=100)
        print("wrote", out)


if __name__ == "__main__":
    main()
