#!/usr/bin/python3
"""Turns bench.sh's raw results into the table (stdout) and bench/results-latest.md.

usage: report.py RESULTS.tsv NOTES.txt META.txt OUT.md
RESULTS.tsv rows: measure, target, run, value ("na" when the measure failed)."""
import re
import statistics
import sys

TARGETS = ["direct", "buoy", "buoy-sockmap", "haproxy", "haproxy-splice", "nginx"]
PEERS = ["haproxy", "haproxy-splice", "nginx"]

# key, label, number format, higher is better, goal text, goal check(buoy, haproxy, row)
MEASURES = [
    ("tput_p1", "throughput 1 stream (Gbit/s)", "%.2f", True, ">=1.3x haproxy, >=0.6x direct",
     lambda b, h, r: b >= 1.3 * h and (r.get("direct") is None or b >= 0.6 * r["direct"])),
    ("tput_p8", "throughput 8 streams (Gbit/s)", "%.2f", True, ">=1.2x haproxy",
     lambda b, h, r: b >= 1.2 * h),
    ("cpu_per_gb", "proxy CPU s per GB (1 stream)", "%.3f", False, "<=0.7x haproxy",
     lambda b, h, r: b <= 0.7 * h),
    ("rps_keepalive", "req/s keep-alive (wrk -c50)", "%.0f", True, ">=1.05x haproxy",
     lambda b, h, r: b >= 1.05 * h),
    ("p50_ms", "latency p50 keep-alive (ms)", "%.3f", False, "-", None),
    ("p99_ms", "latency p99 keep-alive (ms)", "%.3f", False, "<=0.9x best peer",
     lambda b, h, r: b <= 0.9 * min(v for k, v in r.items() if k in PEERS)),
    ("cpu_us_ka", "proxy CPU us per request, keep-alive", "%.1f", False, "-", None),
    ("cs_ka", "proxy preemptions per request, keep-alive", "%.4f", False, "-", None),
    ("box_us_ka", "machine CPU us per request, keep-alive", "%.1f", False, "-", None),
    ("box_idle_ka", "machine idle % during keep-alive", "%.1f", False, "-", None),
    ("rps_close", "req/s Connection: close", "%.0f", True, ">=1.1x haproxy",
     lambda b, h, r: b >= 1.1 * h),
    ("segs_close", "TCP segments per request, close", "%.2f", False, "-", None),
    ("cpu_us_close", "proxy CPU us per request, close", "%.1f", False, "-", None),
    ("burst_unserved", "burst: connections not answered", "%.0f", False, "0",
     lambda b, h, r: b == 0),
    ("burst_p99_ms", "burst: p99 connect->response (ms)", "%.1f", False, "<=haproxy",
     lambda b, h, r: b <= h),
    ("rss_per_conn", "RSS per idle conn (bytes)", "%.0f", False, "<=2048 B",
     lambda b, h, r: b <= 2048),
]


# measures of the proxy's own processes: the direct path has none
PROXY_ONLY = ("cpu_per_gb", "rss_per_conn", "cpu_us_close", "cpu_us_ka", "cs_ka")


def load(path):
    raw = {}  # (measure, target) -> [values by run, None for n/a]
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                continue
            m, t, run, v = parts
            try:
                val = float(v)
            except ValueError:
                val = None
            raw.setdefault((m, t), []).append((int(run), val))
    return {k: [v for _, v in sorted(vs)] for k, vs in raw.items()}


def median(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def build(raw):
    rows = []
    for key, label, fmt, _, goal, check in MEASURES:
        med = {t: median(raw.get((key, t), [])) for t in TARGETS}
        have = {t: v for t, v in med.items() if v is not None}
        b, h = med["buoy"], med["haproxy"]
        ratio = "%.2f" % (b / h) if b is not None and h else "n/a"
        met = "-"
        if check and b is not None and h is not None:
            try:
                met = "yes" if check(b, h, have) else "no"
            except (ValueError, ZeroDivisionError):  # no peer to compare with
                met = "-"
        cells = [fmt % med[t] if med[t] is not None else "n/a" for t in TARGETS]
        if key in PROXY_ONLY and med["direct"] is None:
            cells[0] = "-"  # nothing to measure without a proxy
        rows.append([label] + cells + [ratio, goal, met])
    return rows


HEADER = ["measure"] + TARGETS + ["buoy/haproxy", "goal", "met"]


def text_table(rows):
    widths = [max(len(r[i]) for r in rows + [HEADER]) for i in range(len(HEADER))]
    out = []
    for r in [HEADER] + rows:
        out.append("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i])
                             for i, c in enumerate(r)))
        if r is HEADER:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def md_table(header, rows):
    left = ("measure", "goal", "met")
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" if h in left else "---:" for h in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def per_run(raw):
    rows = []
    for key, label, fmt, _, _, _ in MEASURES:
        runs = max((len(raw.get((key, t), [])) for t in TARGETS), default=0)
        if runs == 0:
            continue
        cells = []
        for t in TARGETS:
            vs = raw.get((key, t), [])
            cells.append(" / ".join(fmt % v if v is not None else "n/a" for v in vs) or "-")
        bs, hs = raw.get((key, "buoy"), []), raw.get((key, "haproxy"), [])
        ratios = ["%.2f" % (b / h) if b is not None and h else "n/a" for b, h in zip(bs, hs)]
        rows.append([label] + cells + [" / ".join(ratios) or "-"])
    return rows


# Issue 21's goals for the kernel fast path (buoy-sockmap), ratios in one run:
# label, measure, check(medians) -> (met, text)
def _fp_goals(m):
    out = []

    def ratio(key, a, c):
        x, y = m.get(key, {}).get(a), m.get(key, {}).get(c)
        return (x / y) if x is not None and y else None

    def goal(text, r, limit, higher):
        if r is None:
            out.append((text, "n/a", "n/a"))
        else:
            ok = r >= limit if higher else r <= limit
            out.append((text, "%.2fx" % r, "yes" if ok else "NO"))

    goal("machine CPU per keep-alive request <= 0.75x haproxy",
         ratio("box_us_ka", "buoy-sockmap", "haproxy"), 0.75, False)
    goal("keep-alive req/s >= 1.25x haproxy", ratio("rps_keepalive", "buoy-sockmap", "haproxy"),
         1.25, True)
    goal("keep-alive req/s >= 0.7x direct", ratio("rps_keepalive", "buoy-sockmap", "direct"),
         0.7, True)
    peers = [m.get("p99_ms", {}).get(t) for t in PEERS]
    peers = [v for v in peers if v]
    s99 = m.get("p99_ms", {}).get("buoy-sockmap")
    goal("p99 <= 0.8x the best peer", s99 / min(peers) if s99 is not None and peers else None,
         0.8, False)
    # "no worse than buoy without it": within 5 %, the spread of one target between runs here
    goal("Connection: close req/s >= 0.95x buoy (no worse, within noise)",
         ratio("rps_close", "buoy-sockmap", "buoy"), 0.95, True)
    return out


def fast_path_section(raw, notes):
    med = {key: {t: median(raw.get((key, t), [])) for t in TARGETS} for key, *_ in MEASURES}
    if med["rps_keepalive"].get("buoy-sockmap") is None:
        return []
    moved = [n for n in notes if n.startswith("buoy-sockmap: connections moved")]
    counts = [int(x) for x in re.findall(r"=(\d+)", moved[0])] if moved else []
    lines = ["", "## Kernel fast path (issue 21): buoy-sockmap's goals", ""]
    if not counts or not sum(counts):
        lines.append("**Not on the kernel path**: buoy status reported no connection moved to "
                     "the kernel, so this column measured the relay. No verdict.")
        return lines
    lines.append("Medians of this run; ratios of buoy-sockmap to the named column. %s." % moved[0])
    lines.append("")
    lines.append(md_table(["goal", "ratio", "met"], [list(g) for g in _fp_goals(med)]))
    return lines


def main():
    res, notes_path, meta_path, out_md = sys.argv[1:5]
    raw = load(res)
    rows = build(raw)
    meta = dict(line.rstrip("\n").split("=", 1) for line in open(meta_path) if "=" in line)
    notes = [n.rstrip("\n") for n in open(notes_path) if n.strip()]
    print()
    print(text_table(rows))
    print("\nmedians of %s; %s; load %s" % (meta.get("settings", "?"), meta.get("machine", "?"),
                                             meta.get("load", "?")))
    for n in notes:
        print("note: " + n)
    md = ["# buoy benchmark: latest run", "",
          "- date: %s" % meta.get("date", "?"),
          "- machine: %s" % meta.get("machine", "?"),
          "- load average: %s" % meta.get("load", "?"),
          "- versions: %s" % meta.get("versions", "?"),
          "- settings: %s" % meta.get("settings", "?"),
          "- command: `%s`" % meta.get("command", "?"),
          "", "Medians; `met` checks the goals of issue 8 on these numbers.", "",
          md_table(HEADER, rows), "", "## Per run", "",
          md_table(["measure"] + TARGETS + ["buoy/haproxy"], per_run(raw))]
    fp = fast_path_section(raw, notes)
    for line in fp:
        print(line)
    md += fp
    if notes:
        md += ["", "## Notes", ""] + ["- " + n for n in notes]
    with open(out_md, "w") as f:
        f.write("\n".join(md) + "\n")
    print("\nwrote " + out_md)


if __name__ == "__main__":
    main()
