#!/usr/bin/python3
"""tools/plot_compare.py DIR [--data FILE] - plot a comparison
(odpsim compare --out DIR).

Reads DIR/compare.json (one summary per policy, in the order compared) and
DIR/POLICY/series.csv, and writes DIR/compare.png and DIR/compare.svg:

  1. one lane per policy on a common simulated-time axis, with a row per
     workload: its goodput in Gb/s, the bytes of the operations it
     completed in each sampling interval (series.csv's
     wl.NAME.completed_bytes), not what the NIC transmitted (which counts
     retransmissions and headers).  Each workload's row has its own scale,
     the same in every lane, so a 0.04 Gb/s workload is as readable as a
     98 Gb/s one and lanes compare row by row.  Under the rows, a strip
     shades every sampling interval in which, summed over hosts, NIC page
     faults, RNR NAKs sent, QP stalls or page invalidations happened (the
     run's total of each is in its label); with a live migration the
     downtime is shaded in every row;
  2. bar charts of the summary figures per policy: bandwidth and p99
     latency per workload, every MR's registration time (hatched and
     labelled "unfinished" when it had not ended: its bar is the time so
     far; "failed" when it failed), every MR's peak resident and
     pinned-or-committed pages, page faults, RNR NAKs, QP stalls,
     invalidations, moves that failed on a pinned page, oracle violations;
     with a live migration (odpsim compare --migration: the columns are
     migration policies) also downtime, total time, bytes sent, remote
     faults and each peer's stall in the freeze-to-served-again window.
     Counts are labelled as plain integers.

--data FILE writes what was drawn as JSON (each lane's rows, each bar
chart's values) for tests and for re-plotting elsewhere.

Figures are found by name suffix, as `odpsim compare` does, so new hosts
and counters need no change here.
"""
import json
import os
import sys

# realpath: run through an installed symlink (odpsim-plot-...) too
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import plotlib  # noqa: E402

# the event strip: (column suffix, what it counts, colour)
EVENTS = [
    ("nic.page_faults", "NIC page faults", "tab:red"),
    ("nic.rnr_naks_sent", "RNR NAKs sent", "tab:orange"),
    ("nic.qp_stalls", "QP stalls", "tab:purple"),
    ("nic.page_invalidations", "page invalidations", "tab:brown"),
]


def matches(name, suffix):
    """HOST.nic.page_faults matches nic.page_faults (at a dot)."""
    return name == suffix or name.endswith("." + suffix)


def counter_sum(run, suffix):
    """Sum of the counters HOST.suffix, or None when the run has none."""
    vals = [v for k, v in run.get("counters", {}).items() if matches(k, suffix)]
    return sum(vals) if vals else None


def label(v):
    """A bar's label: '-' when absent, plain integers with thousands
    separators, a few significant digits otherwise."""
    if v is None:
        return "-"
    if float(v).is_integer():
        return "{:,}".format(int(v))
    a = abs(v)
    dec = 0 if a >= 100 else 1 if a >= 10 else 2 if a >= 1 else 3
    if 0 < a < 0.001:
        return "%.2g" % v
    return "{:,.{}f}".format(v, dec)


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
    migs = [(r.get("migration") or {}).get("policy") for r in runs]
    by_mig = all(migs) and len(set(migs)) == len(runs) and \
        len(set(r["policy"] for r in runs)) == 1
    for r, m in zip(runs, migs):
        r["_label"] = m if by_mig else r["policy"]
    series = {}
    for r in runs:
        p = r["_label"]
        sp = os.path.join(d, p, "series.csv")
        series[p] = plotlib.read_series(sp)
        if not any(c.startswith("wl.") and c.endswith(".completed_bytes")
                   for c in series[p][1]) and r.get("workloads"):
            sys.exit("%s: no wl.NAME.completed_bytes columns (written by an "
                     "older odpsim: run the comparison again)" % sp)
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


def workload_names(runs):
    names = []
    for r in runs:
        for n in r.get("workloads", {}):
            if n not in names:
                names.append(n)
    return names


def goodput(series, name):
    """(times in ms, Gb/s) of workload @name from series.csv's
    wl.NAME.completed_bytes (bytes completed per interval)."""
    times, cols, modes = series
    col = cols.get("wl.%s.completed_bytes" % name)
    if col is None:
        return [], []
    dt = times[1] - times[0] if len(times) > 1 else (times[0] if times else 0)
    ms = [t * 1e3 for t in times]
    if dt <= 0:
        return ms, [0.0] * len(col)
    # a delta column: the bytes of the interval ending at each sample
    return ms, [y * 8 / dt / 1e9 for y in col]


def lanes(fig, spec, runs, series, colors, data):
    n = len(runs)
    wls = workload_names(runs)
    rows = max(1, len(wls))
    outer = spec.subgridspec(n, 1, hspace=0.45)
    tmax = 0
    # one scale per workload, shared by every lane
    top = {}
    for w in wls:
        top[w] = max([1e-9] + [y for r in runs
                               for y in goodput(series[r["_label"]], w)[1]])
    first = None
    axes = []
    for i, r in enumerate(runs):
        p = r["_label"]
        times, cols, modes = series[p]
        dt = times[1] - times[0] if len(times) > 1 else (times[0] if times else 0)
        tmax = max([tmax] + times)
        gs = outer[i].subgridspec(rows + 1, 1,
                                  height_ratios=[2] * rows + [2.2], hspace=0.08)
        lane = data["lanes"].setdefault(p, {})
        mig = r.get("migration") or {}
        for k, w in enumerate(wls or [None]):
            ax = fig.add_subplot(gs[k], sharex=first)
            first = first or ax
            axes.append(ax)
            if w is None:
                ax.text(0.5, 0.5, "no workloads", ha="center", va="center",
                        transform=ax.transAxes, fontsize=8)
                continue
            ms, ys = goodput(series[p], w)
            lane[w] = {"t_ms": ms, "gbps": ys}
            ax.plot(ms, ys, color=colors[p], linewidth=1.2)
            ax.fill_between(ms, ys, color=colors[p], alpha=0.15, step=None)
            ax.set_ylim(0, top[w] * 1.15)
            wr = r.get("workloads", {}).get(w, {})
            ax.set_ylabel(w, fontsize=7, rotation=0, ha="right", va="center")
            ax.text(0.995, 0.92, "%s (%s)  %s Gb/s, %s ops" % (
                w, wr.get("type", "?"), label(wr.get("bw_gbps")),
                label(wr.get("completed"))), transform=ax.transAxes,
                ha="right", va="top", fontsize=6)
            ax.grid(True, alpha=0.3)
            ax.tick_params(labelbottom=False, labelsize=6)
            if mig.get("downtime_ps"):
                a = mig.get("frozen_at_ps", 0) / 1e9
                ax.axvspan(a, a + mig["downtime_ps"] / 1e9, color="0.6",
                           alpha=0.35,
                           label="migration downtime" if k == 0 else None)
                if mig.get("total_ps"):
                    for x in (mig.get("at_ps", 0),
                              mig.get("at_ps", 0) + mig["total_ps"]):
                        ax.axvline(x / 1e9, color="0.4", linewidth=0.8,
                                   linestyle=":")
            if k == 0:
                ax.set_title("%s   goodput Gb/s (completed bytes), one scale "
                             "per workload   fingerprint %s" % (
                                 p, r.get("fingerprint", "?")),
                             fontsize=8, loc="left")
                if ax.get_legend_handles_labels()[0]:
                    ax.legend(fontsize=6, loc="upper left")
        # the event strip: one row per kind, shaded where it happened
        strip = fig.add_subplot(gs[rows], sharex=first)
        axes.append(strip)
        labels = []
        for row, (suffix, what, color) in enumerate(EVENTS):
            names = [c for c in cols if matches(c, suffix)]
            total = counter_sum(r, suffix)
            labels.append("%s (%s)" % (what, label(total)))
            if not names:
                continue
            ys = [sum(v) for v in zip(*(cols[c] for c in names))]
            spans = intervals(times, ys, dt)
            if spans:
                strip.broken_barh(spans, (row + 0.1, 0.8), facecolors=color)
        strip.set_ylim(0, len(EVENTS))
        strip.set_yticks([k + 0.5 for k in range(len(EVENTS))])
        strip.set_yticklabels(labels, fontsize=5)
        strip.invert_yaxis()
        strip.grid(True, axis="x", alpha=0.3)
        strip.tick_params(labelbottom=(i == n - 1), labelsize=7)
        data["strip_interval_us"] = dt * 1e6
    axes[-1].set_xlabel("simulated time (ms)", fontsize=8)
    if tmax > 0:
        first.set_xlim(0, tmax * 1e3)


def mr_list(runs):
    """[(workload, index, label)] of every MR the runs registered."""
    out = []
    for r in runs:
        for w, wr in r.get("workloads", {}).items():
            for j, g in enumerate(wr.get("registrations") or []):
                key = (w, j)
                if key not in [(a, b) for a, b, _ in out]:
                    out.append((w, j, "%s %s (%s)" % (w, g.get("side", "?"),
                                                      g.get("host", "?"))))
    return out


def mr_get(r, w, j):
    regs = r.get("workloads", {}).get(w, {}).get("registrations") or []
    return regs[j] if j < len(regs) else None


def grouped(ax, runs, colors, cats, value, title, data, note=None):
    """Bars per category, one per run; value(r, cat) -> (number or None,
    mark) where mark is '' or a label drawn on the bar (and hatched)."""
    pols = [r["_label"] for r in runs]
    width = 0.8 / max(1, len(pols))
    top = 0
    drawn = data["bars"].setdefault(title, {})
    for i, r in enumerate(runs):
        xs, ys, marks = [], [], []
        for k, c in enumerate(cats):
            v, mark = value(r, c)
            xs.append(k + (i - (len(pols) - 1) / 2) * width)
            ys.append(v or 0)
            marks.append(mark)
            drawn.setdefault(r["_label"], {})[c] = v
        bars = ax.bar(xs, ys, width, color=colors[r["_label"]],
                      label=r["_label"])
        for b, v, mark in zip(bars, ys, marks):
            if mark:
                b.set_hatch("////")
                b.set_edgecolor("black")
        for x, y, mark, c in zip(xs, ys, marks, cats):
            v = value(r, c)[0]
            ax.annotate(mark or label(v), (x, y), ha="center",
                        va="bottom", fontsize=5, rotation=90 if mark else 0)
        top = max([top] + ys)
    ax.set_xticks(range(len(cats)))
    ax.set_xticklabels([str(c) for c in cats], fontsize=6, rotation=20,
                       ha="right")
    ax.set_title(title, fontsize=8)
    ax.tick_params(labelsize=6)
    ax.set_ylim(0, top * 1.45 if top > 0 else 1)
    if note:
        ax.text(0.01, 0.97, note, transform=ax.transAxes, fontsize=5,
                va="top")


def bars(fig, spec, runs, colors, data):
    pols = [r["_label"] for r in runs]

    def oracle(r):
        # every kind the oracle counts: lost_writes, stale_reads, ...
        return sum(v for v in r.get("oracle", {}).values()
                   if isinstance(v, (int, float)))

    panels = [
        ("page faults", lambda r: counter_sum(r, "nic.page_faults")),
        ("RNR NAKs sent", lambda r: counter_sum(r, "nic.rnr_naks_sent")),
        ("QP stalls", lambda r: counter_sum(r, "nic.qp_stalls")),
        ("page invalidations",
         lambda r: counter_sum(r, "nic.page_invalidations")),
        ("moves failed (pinned)",
         lambda r: counter_sum(r, "vmm.move_failed_pinned")),
        ("oracle violations", oracle),
    ]
    if any(r.get("migration") for r in runs):
        def mig(key, scale=1.0):
            return lambda r: (None if (r.get("migration") or {}).get(key)
                              is None else r["migration"][key] * scale)
        panels += [
            ("migration downtime (ms)", mig("downtime_ps", 1e-9)),
            ("migration total (ms)", mig("total_ps", 1e-9)),
            ("migration MiB sent", mig("bytes", 1 / 1048576)),
            ("remote faults", mig("remote_faults")),
        ]
    wls = workload_names(runs)
    types = {}
    for r in runs:
        for n, w in r.get("workloads", {}).items():
            types.setdefault(n, w.get("type", "?"))
    mrs = mr_list(runs)
    peers = []
    for r in runs:
        for p in (r.get("migration") or {}).get("peers") or []:
            if p.get("workload") not in peers:
                peers.append(p.get("workload"))
    grouped_panels = 4 + (1 if peers else 0)
    nplots = grouped_panels + len(panels)
    ncol = 4
    nrow = (nplots + ncol - 1) // ncol
    gs = spec.subgridspec(nrow, ncol, hspace=0.75, wspace=0.4)
    slot = [0]

    def next_ax():
        k = slot[0]
        slot[0] += 1
        return fig.add_subplot(gs[k // ncol, k % ncol])

    def wl_fig(path, scale=1.0):
        def f(r, w):
            v = r.get("workloads", {}).get(w, {})
            for p in path:
                v = v.get(p) if isinstance(v, dict) else None
            return (None if v is None else v * scale, "")
        return f

    ax = next_ax()
    grouped(ax, runs, colors, wls, wl_fig(["bw_gbps"]),
            "bandwidth (Gb/s)", data)
    ax.legend(fontsize=5, loc="upper right", ncol=2)
    grouped(next_ax(), runs, colors, wls, wl_fig(["lat_ns", "p99"], 1e-3),
            "p99 latency (us)", data)
    labels = [m[2] for m in mrs]

    def reg_ms(r, lab):
        w, j, _ = mrs[labels.index(lab)]
        g = mr_get(r, w, j)
        if not g:
            return None, ""
        st = g.get("state")
        if st == "done":
            return g["time_ps"] / 1e9, ""
        if st == "unfinished":
            return (g.get("elapsed_ps") or 0) / 1e9, "unfinished"
        if st == "failed":
            return (g.get("time_ps") or 0) / 1e9, "failed"
        return None, st or ""
    grouped(next_ax(), runs, colors, labels, reg_ms,
            "registration time per MR (ms)", data,
            note="hatched: not done (bar: time so far)")

    def fp(kinds):
        def f(r, lab):
            w, j, _ = mrs[labels.index(lab)]
            g = mr_get(r, w, j)
            f = (g or {}).get("footprint") or {}
            vals = [f.get(k + "_peak") for k in kinds]
            vals = [v for v in vals if v is not None]
            return (max(vals) if vals else None, "")
        return f
    grouped(next_ax(), runs, colors, labels, fp(["resident"]),
            "memory per MR: resident pages (peak)", data,
            note="pinned or committed (peak): %s" % ", ".join(
                "%s %s" % (r["_label"], label(sum(
                    fp(["pinned", "committed"])(r, m)[0] or 0
                    for m in labels))) for r in runs))
    if peers:
        def stall(r, w):
            for p in (r.get("migration") or {}).get("peers") or []:
                if p.get("workload") == w:
                    return p.get("stall_ps", 0) / 1e9, ""
            return None, ""
        grouped(next_ax(), runs, colors, peers, stall,
                "peer stall in the migration window (ms)", data)
    for title, fn in panels:
        ax = next_ax()
        vals = [fn(r) for r in runs]
        data["bars"][title] = dict(zip(pols, vals))
        ax.bar(range(len(pols)), [v or 0 for v in vals],
               color=[colors[p] for p in pols])
        for x, v in enumerate(vals):
            ax.annotate(label(v), (x, v or 0), ha="center", va="bottom",
                        fontsize=6)
        ax.set_xticks(range(len(pols)))
        ax.set_xticklabels(pols, fontsize=7, rotation=20)
        ax.set_title(title, fontsize=8)
        ax.tick_params(labelsize=6)
        top = max([v or 0 for v in vals])
        ax.set_ylim(0, top * 1.25 if top > 0 else 1)
    return nrow


def main():
    args = sys.argv[1:]
    data_path = None
    if "--data" in args:
        i = args.index("--data")
        if i + 1 >= len(args):
            sys.exit("plot_compare.py: --data needs a FILE")
        data_path = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1 or args[0] in ("-h", "--help"):
        sys.exit("usage: plot_compare.py DIR [--data FILE]   "
                 "(DIR written by odpsim compare SCENARIO --out DIR)")
    d = args[0]
    plt = plotlib.need_matplotlib()
    runs, series = load(d)
    for p, (times, _, _) in series.items():
        if not times:
            sys.exit("%s/%s/series.csv: no samples (run longer than "
                     "series_interval)" % (d, p))
    cycle = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    colors = {r["_label"]: cycle[i % len(cycle)] for i, r in enumerate(runs)}
    n = len(runs)
    rows = max(1, len(workload_names(runs)))
    lanes_h = (0.55 * rows + 1.1) * n
    peers = any((r.get("migration") or {}).get("peers") for r in runs)
    npanels = 4 + (1 if peers else 0) + 6 + (4 if any(
        r.get("migration") for r in runs) else 0)
    bars_h = 2.3 * ((npanels + 3) // 4)
    fig = plt.figure(figsize=(12, lanes_h + bars_h + 0.8))
    gs = fig.add_gridspec(2, 1, height_ratios=[lanes_h, bars_h], hspace=0.12)
    data = {"lanes": {}, "bars": {}}
    lanes(fig, gs[0], runs, series, colors, data)
    bars(fig, gs[1], runs, colors, data)
    first = runs[0]
    fig.suptitle("%s  seed=%s  policies: %s" % (
        os.path.basename(first.get("scenario", d)), first.get("seed", "?"),
        ", ".join(r["_label"] for r in runs)), fontsize=10,
        y=1 - 0.12 / fig.get_figheight())
    fig.text(0.5, 1 - 0.5 / fig.get_figheight(),
             "rows: each workload's goodput (bytes it completed per %g us "
             "interval); strips: the intervals in which any host's NIC had "
             "at least one NIC page fault, RNR NAK sent, QP stall or page "
             "invalidation (run totals in brackets)"
             % data.get("strip_interval_us", 0), ha="center", fontsize=7)
    fig.subplots_adjust(left=0.13, right=0.98, top=1 - 0.9 / fig.get_figheight(),
                        bottom=0.45 / fig.get_figheight())
    for ext in ("png", "svg"):
        out = os.path.join(d, "compare." + ext)
        meta = {"Date": None} if ext == "svg" else None
        fig.savefig(out, dpi=100, metadata=meta)
        print("wrote", out)
    if data_path:
        with open(data_path, "w") as f:
            json.dump(data, f)
        print("wrote", data_path)


if __name__ == "__main__":
    main()
