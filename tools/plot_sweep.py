#!/usr/bin/python3
"""tools/plot_sweep.py DIR METRIC - plot a campaign (odpsim sweep --out DIR).

Reads DIR/campaign.sqlite and writes DIR/sweep-METRIC.png and .svg: METRIC
against one grid axis (--x, default the first --grid axis that varies),
one line per value of another (--lines, default the policy when it
varies, else the next axis that does); any other axis that varies is
folded into the line labels.  Over seeds each point is the mean, with an
error bar of one standard deviation (sample, n - 1).  The x axis is
logarithmic when its values are powers (a geometric progression); sizes
print as KiB/MiB, times in the unit that fits, rates in Gb/s.

METRIC is a column of the campaign (`odpsim sweep --columns`: runs, or
workloads, of the workload --workload NAME, default the first) or a
counter name suffix summed over hosts (nic.page_faults, b.vmm.moves).
Labels and units come from the database's own `columns` and `params`
tables, so the plot and the database cannot disagree.
"""
import argparse
import difflib
import math
import os
import sqlite3
import sys

# realpath: run through an installed symlink (odpsim-plot-...) too
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import plotlib  # noqa: E402

SIZE_UNITS = [(1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"),
              (1 << 10, "KiB"), (1, "B")]
TIME_UNITS = [(1e12, "s"), (1e9, "ms"), (1e6, "us"), (1e3, "ns"), (1, "ps")]
RATE_UNITS = [(1e12, "Tb/s"), (1e9, "Gb/s"), (1e6, "Mb/s"), (1e3, "kb/s"),
              (1, "b/s")]
FREQ_UNITS = [(1e9, "GHz"), (1e6, "MHz"), (1e3, "kHz"), (1, "Hz")]
SCALES = {"B": SIZE_UNITS, "ps": TIME_UNITS, "bit/s": RATE_UNITS,
          "Hz": FREQ_UNITS}


def die(msg):
    sys.exit("plot_sweep.py: %s" % msg)


def scale_for(unit, values):
    """(divisor, unit name) that prints @values of @unit readably."""
    table = SCALES.get(unit)
    vals = [abs(v) for v in values if v]
    if not table or not vals:
        return 1.0, unit
    top = max(vals)
    for div, name in table:
        if top >= div:
            return float(div), name
    return float(table[-1][0]), table[-1][1]


def fmt_value(v, unit):
    """One axis value as a label: 64 KiB, 10 us, 100 Gb/s, odp."""
    if isinstance(v, str) or v is None:
        return str(v)
    div, name = scale_for(unit, [v])
    x = v / div
    s = ("%d" % x) if float(x).is_integer() else ("%.3g" % x)
    return s + (" " + name if name else "")


def is_geometric(xs):
    xs = sorted(set(xs))
    if len(xs) < 3 or xs[0] <= 0:
        return None
    r = xs[1] / xs[0]
    if r < 1.5:
        return None
    for a, b in zip(xs, xs[1:]):
        if abs(b / a - r) > 1e-6 * r:
            return None
    return r


def main():
    ap = argparse.ArgumentParser(
        description="plot a metric of an odpsim sweep campaign")
    ap.add_argument("dir", help="the campaign directory (odpsim sweep -o)")
    ap.add_argument("metric", help="a column (odpsim sweep --columns) or "
                    "a counter suffix (nic.page_faults)")
    ap.add_argument("--x", help="the axis on the x axis")
    ap.add_argument("--lines", help="one line per value of this axis")
    ap.add_argument("--workload", help="the workload of a per-workload "
                    "metric (default: the first)")
    a = ap.parse_args()
    path = os.path.join(a.dir, "campaign.sqlite")
    if not os.path.isfile(path):
        die("%s: no campaign database (odpsim sweep -o %s first)"
            % (path, a.dir))
    try:
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        meta = dict(db.execute("SELECT key, value FROM meta"))
        params = db.execute("SELECT name, type, unit FROM params "
                            "ORDER BY ord").fetchall()
        cols = {(t, n): (u, m) for t, n, u, m in db.execute(
            "SELECT tbl, name, unit, meaning FROM columns")}
    except sqlite3.Error as e:
        die("%s: not a campaign database (%s)" % (path, e))
    units = {n: u for n, _, u in params}
    units.update({"policy": "", "migration_policy": "", "seed": ""})
    axes = [n for n in meta.get("axes", "").split(",") if n]

    runs = {}
    cur = db.execute("SELECT * FROM runs WHERE status = 'ok'")
    names = [d[0] for d in cur.description]
    for r in cur:
        d = dict(zip(names, r))
        runs[d["key"]] = d
    if not runs:
        die("%s: no run is recorded as ok" % path)

    metric, munit, what = a.metric, "", a.metric
    values = {}
    if ("runs", metric) in cols:
        munit, what = cols[("runs", metric)]
        values = {k: d[metric] for k, d in runs.items()}
    elif ("workloads", metric) in cols:
        munit, what = cols[("workloads", metric)]
        wls = [w for (w,) in db.execute(
            "SELECT DISTINCT workload FROM workloads ORDER BY workload")]
        wl = a.workload or (wls[0] if wls else None)
        if wl not in wls:
            die("no workload %r (the campaign has: %s)"
                % (wl, ", ".join(wls)))
        if len(wls) > 1 and not a.workload:
            print("plot_sweep.py: workload %s (of %s; --workload NAME)"
                  % (wl, ", ".join(wls)))
        what = "%s, workload %s" % (what, wl)
        values = {k: v for k, v in db.execute(
            "SELECT key, %s FROM workloads WHERE workload = ?"
            % '"%s"' % metric.replace('"', '""'), (wl,))}
    else:
        counters = [n for (n,) in db.execute(
            "SELECT DISTINCT name FROM counters")]
        match = [n for n in counters
                 if n == metric or n.endswith("." + metric)]
        if not match:
            known = sorted({n for (_, n) in cols} | set(counters))
            near = difflib.get_close_matches(metric, known, 3)
            die("no metric %r%s; odpsim sweep --columns lists the columns"
                % (metric, " (did you mean %s?)" % ", ".join(near)
                   if near else ""))
        what = "%s (sum of %d counters)" % (metric, len(match)) \
            if len(match) > 1 else match[0]
        for k, n, v in db.execute("SELECT key, name, value FROM counters"):
            if n in match:
                values[k] = values.get(k, 0) + v

    def varying(axis):
        return len({d.get(axis) for d in runs.values()}) > 1

    grid = [n for n, _, _ in params]
    x = a.x or next((n for n in grid if varying(n)), None) or \
        next((n for n in axes if varying(n) and n != "seed"), None)
    if not x:
        die("no axis varies: nothing to plot against")
    if x not in runs[next(iter(runs))]:
        die("no axis %r (the campaign's axes: %s)" % (x, ", ".join(axes)))
    lines = a.lines
    if lines is None:
        for cand in ["policy", "migration_policy"] + grid:
            if cand != x and cand != "seed" and varying(cand):
                lines = cand
                break
    elif lines not in runs[next(iter(runs))]:
        die("no axis %r (the campaign's axes: %s)" % (lines, ", ".join(axes)))
    others = [n for n in axes if n not in (x, lines, "seed") and varying(n)]

    groups = {}  # line key -> x -> [values]
    for k, d in runs.items():
        v = values.get(k)
        if v is None or d.get(x) is None:
            continue
        key = tuple([d.get(lines)] if lines else []) + \
            tuple(d.get(o) for o in others)
        groups.setdefault(key, {}).setdefault(d[x], []).append(float(v))
    if not groups:
        die("metric %s has no value in any run" % metric)

    plt = plotlib.need_matplotlib()
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    xdiv, xname = (1.0, units.get(x, ""))
    if units.get(x) in SCALES:
        xdiv, xname = scale_for(units[x], [d[x] for d in runs.values()
                                           if isinstance(d[x], (int, float))])
    allv = [v for g in groups.values() for vs in g.values() for v in vs]
    ydiv, yname = scale_for(munit, allv) if munit in SCALES else (1.0, munit)
    label_axes = ([lines] if lines else []) + others
    seeds = max(len(vs) for g in groups.values() for vs in g.values())
    xs_all = []
    for key in sorted(groups, key=lambda t: tuple(
            (0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v))
            for v in t)):
        pts = groups[key]
        xs = sorted(pts, key=lambda v: (isinstance(v, str), v))
        xs_all += [v for v in xs if not isinstance(v, str)]
        mean = [sum(pts[v]) / len(pts[v]) for v in xs]
        err = [math.sqrt(sum((y - m) ** 2 for y in pts[v]) /
                         (len(pts[v]) - 1)) if len(pts[v]) > 1 else 0.0
               for v, m in zip(xs, mean)]
        label = ", ".join("%s=%s" % (n, fmt_value(v, units.get(n, "")))
                          for n, v in zip(label_axes, key)) or None
        px = [v / xdiv if not isinstance(v, str) else v for v in xs]
        ax.errorbar(px, [m / ydiv for m in mean],
                    yerr=[e / ydiv for e in err] if seeds > 1 else None,
                    marker="o", ms=4, capsize=3, label=label)
    ratio = is_geometric(xs_all)
    if ratio:
        base = 2 if abs(math.log2(ratio) - round(math.log2(ratio))) < 1e-9 \
            else 10
        ax.set_xscale("log", base=base)
    ticks = sorted(set(xs_all))
    if ticks and len(ticks) <= 12:
        # the values themselves, readably (64 KiB, 10 us, 4096)
        import matplotlib.ticker as mt
        ax.xaxis.set_major_locator(mt.FixedLocator([t / xdiv for t in ticks]))
        ax.xaxis.set_minor_locator(mt.NullLocator())
        ax.xaxis.set_major_formatter(mt.FixedFormatter(
            [fmt_value(t, units.get(x, "")).rsplit(" ", 1)[0]
             if xname else fmt_value(t, "") for t in ticks]))
    ax.set_xlabel(x + (" [%s]" % xname if xname else ""))
    ax.set_ylabel("%s%s" % (what, " [%s]" % yname if yname else ""))
    scen = os.path.basename(meta.get("scenario", ""))
    ax.set_title("%s: %s%s" % (scen, metric,
                               " (mean and std. dev. over %d seeds)" % seeds
                               if seeds > 1 else ""), fontsize=10)
    ax.grid(True, alpha=0.3)
    if any(groups) and label_axes:
        ax.legend(fontsize=8)
    fig.tight_layout()
    out = os.path.join(a.dir, "sweep-%s" % metric.replace("/", "_"))
    for ext in ("png", "svg"):
        fig.savefig(out + "." + ext, dpi=120)
    print("wrote %s.png and %s.svg" % (out, out))


if __name__ == "__main__":
    main()
