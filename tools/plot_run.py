#!/usr/bin/python3
"""tools/plot_run.py DIR - plot one run's outputs (odpsim run --out DIR).

Reads DIR/series.csv, DIR/latency.csv and DIR/summary.json (the last two
when present) and writes DIR/run.png and DIR/run.svg:

- throughput over time (the NIC's tx_bytes per host, in Gb/s), with
  markers at the intervals where faults, invalidations or suspensions
  happened (columns ending in page_faults, page_invalidations,
  invalidations, suspend(s)/suspensions, when the run has them);
- the MTT cache hit ratio per interval (mtt_cache.hits and .misses);
- link utilisation (LINK.wire.busy_ps: busy time of both directions per
  unit of time, 0..2);
- each workload's goodput (wl.NAME.completed_bytes: the bytes of the
  operations it completed per interval, in Gb/s);
- one panel per other kind of series (the part of the column name after
  the host: vmm.resident_pages, vmm.faults.minor...), one line per host;
  columns counted per interval are shown as rates (per second);
- the latency CDF of every workload, from latency.csv (histogram buckets,
  1.6% resolution), or from the percentiles of summary.json.
"""
import csv
import json
import os
import sys

# realpath: run through an installed symlink (odpsim-plot-...) too
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import plotlib  # noqa: E402

# (column suffix, label, marker) of the events marked on the throughput panel
MARKERS = (
    ("page_faults", "NIC page faults", "v"),
    ("page_invalidations", "invalidations", "x"),
    ("invalidations", "invalidations", "x"),
    ("suspend", "suspensions", "s"),
    ("suspends", "suspensions", "s"),
    ("suspensions", "suspensions", "s"),
)


def read_latency(path):
    """latency.csv -> {workload: ([high_ps], [count])}"""
    out = {}
    try:
        with open(path, newline="") as f:
            rows = [r for r in csv.reader(l for l in f if not l.startswith("#"))]
    except OSError as e:
        sys.exit("%s: %s" % (path, e.strerror))
    if not rows or rows[0] != ["workload", "low_ps", "high_ps", "count"]:
        sys.exit("%s: not an odpsim latency.csv (header %s)" % (
            path, ",".join(rows[0]) if rows else "missing"))
    for n, r in enumerate(rows[1:], start=3):
        if len(r) != 4:
            sys.exit("%s:%d: %d fields, expected 4" % (path, n, len(r)))
        hs, cs = out.setdefault(r[0], ([], []))
        hs.append(int(r[2]))
        cs.append(int(r[3]))
    return out


def plot_cdf(ax, d, summary):
    lat = {}
    lp = os.path.join(d, "latency.csv")
    if os.path.exists(lp):
        lat = read_latency(lp)
    drawn = False
    for name, (highs, counts) in sorted(lat.items()):
        total = float(sum(counts))
        xs, ys, seen = [], [], 0
        for h, c in zip(highs, counts):
            seen += c
            xs.append(h / 1e6)  # ps -> us
            ys.append(seen / total)
        ax.step(xs, ys, where="post", label=name, linewidth=1.2)
        drawn = True
    if not drawn:
        # fall back on the summary's percentiles
        for name, w in sorted(summary.get("workloads", {}).items()):
            l = w.get("lat_ns", {})
            # an absent figure (no sample) is null in the summary
            pts = [(l[k] / 1e3, q) for k, q in (
                ("min", 0.0), ("p50", 0.5), ("p99", 0.99), ("p999", 0.999),
                ("max", 1.0)) if (l.get(k) or 0) > 0]
            if pts:
                ax.step([p[0] for p in pts], [p[1] for p in pts],
                        where="post", marker="o", label=name + " (percentiles)")
                drawn = True
    if not drawn:
        ax.text(0.5, 0.5, "no latency samples", ha="center", va="center",
                transform=ax.transAxes, fontsize=8)
        return
    ax.set_xscale("log")
    ax.set_xlabel("latency (us)")
    ax.set_ylabel("latency CDF", fontsize=8)
    ax.set_ylim(0, 1.02)
    ax.grid(True, alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="lower right")


def metric_of(name):
    """"a.vmm.resident_pages" -> ("a", "vmm.resident_pages")"""
    parts = name.split(".", 1)
    return (parts[0], parts[1]) if len(parts) == 2 else ("", name)


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
    dt = times[1] - times[0] if len(times) > 1 else times[0]
    ms = [t * 1e3 for t in times]

    groups = {}
    # each workload's goodput (wl.NAME.completed_bytes) in one panel;
    # its operation count is the same curve divided by the size
    good = [n for n in cols if n.startswith("wl.")
            and n.endswith(".completed_bytes")]
    for name in cols:
        if name.startswith("wl."):
            continue
        groups.setdefault(metric_of(name)[1], []).append(name)
    if good:
        groups["goodput"] = good
    tput = groups.pop("nic.tx_bytes", [])
    hits = groups.pop("nic.mtt_cache.hits", [])
    misses = {metric_of(n)[0]: n for n in groups.pop("nic.mtt_cache.misses", [])}
    marks = []
    for name in cols:
        for suffix, label, m in MARKERS:
            if name.endswith("." + suffix) or name.endswith("_" + suffix):
                marks.append((name, label, m))
                break
    # links, then the NIC, then the VMM, then by name
    others = sorted(groups.items(), key=lambda kv: (
        not kv[0].startswith("wire"), not kv[0].startswith("nic"), kv[0]))

    n_time = (1 if tput else 0) + (1 if hits else 0) + len(others)
    fig = plt.figure(figsize=(10, 2.2 * (n_time + 1) + 1.0))
    gs = fig.add_gridspec(n_time + 1, 1, height_ratios=[1] * n_time + [1.3],
                          hspace=0.35)
    axes = []
    for i in range(n_time):
        axes.append(fig.add_subplot(gs[i], sharex=axes[0] if axes else None))

    k = 0
    if tput:
        ax = axes[k]
        k += 1
        for name in tput:
            ys = [y * 8 / dt / 1e9 for y in cols[name]] if dt > 0 else cols[name]
            ax.plot(ms, ys, label=metric_of(name)[0] + " tx", linewidth=1.2)
        top = max([max(cols[n]) * 8 / dt / 1e9 for n in tput] + [1e-9]) if dt > 0 else 1
        ax.set_ylim(0, top * 1.15)
        seen = set()
        for name, label, m in marks:
            xs = [t for t, v in zip(ms, cols[name]) if v > 0]
            if not xs:
                continue
            lab = "%s %s" % (metric_of(name)[0], label)
            ax.scatter(xs, [top * 1.08] * len(xs), marker=m, s=14,
                       label=lab if lab not in seen else None, zorder=3)
            seen.add(lab)
        ax.set_ylabel("throughput Gb/s", fontsize=8)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower right", ncol=2)
    if hits:
        ax = axes[k]
        k += 1
        for name in hits:
            host = metric_of(name)[0]
            mn = misses.get(host)
            ys = []
            for i, h in enumerate(cols[name]):
                m = cols[mn][i] if mn else 0
                ys.append(h / (h + m) if h + m > 0 else float("nan"))
            ax.plot(ms, ys, label=host, linewidth=1.2, marker=".",
                    markersize=2)
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel("MTT cache hit ratio", fontsize=8)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    for metric, names in others:
        ax = axes[k]
        k += 1
        rate = modes[names[0]] == "delta"
        gbps = rate and (metric.endswith("bytes") or metric == "goodput")
        busy = rate and metric.endswith("busy_ps")
        for name in names:
            ys = cols[name]
            if busy and dt > 0:
                # busy time of both directions per unit of time: 0..2
                ys = [y / (dt * 1e12) for y in ys]
            elif rate and dt > 0:
                ys = [y / dt * (8e-9 if gbps else 1) for y in ys]
            label = (name[3:-len(".completed_bytes")]
                     if metric == "goodput" else metric_of(name)[0])
            ax.plot(ms, ys, label=label, linewidth=1.2)
        unit = " Gb/s" if gbps else (" /s" if rate else "")
        ax.set_ylabel("link utilisation\n(2 = both directions)" if busy
                      else "goodput Gb/s\n(completed bytes)"
                      if metric == "goodput" else metric + unit, fontsize=8)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    if axes:
        axes[-1].set_xlabel("simulated time (ms)")
    plot_cdf(fig.add_subplot(gs[n_time]), d, summary)

    title = "%s  policy=%s  seed=%s" % (
        os.path.basename(summary.get("scenario", d)),
        summary.get("policy", "?"), summary.get("seed", "?"))
    fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(left=0.1, right=0.97, top=0.97, bottom=0.04)
    for ext in ("png", "svg"):
        out = os.path.join(d, "run." + ext)
        # deterministic SVG ids and no date, so reruns compare equal
        meta = {"Date": None} if ext == "svg" else None
        fig.savefig(out, dpi=110, metadata=meta)
        print("wrote", out)


if __name__ == "__main__":
    main()
