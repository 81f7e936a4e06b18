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
    ("box_kern_us_ka", "  of which kernel (sys+irq+softirq)", "%.1f", False, "-", None),
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


def text_table(rows, header=HEADER):
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    out = []
    for r in [header] + rows:
        out.append("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i])
                             for i, c in enumerate(r)))
        if r is header:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def md_table(header, rows):
    left = ("measure", "goal", "met", "verdict", "compared with", "on the kernel path")
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


# Issue 21's goals for the kernel fast path (buoy-sockmap), ratios of medians in one run:
# text, measure, column compared with ("best peer": the lowest of PEERS), limit, higher is better.
# "No worse than buoy without it" allows 5 %: the spread of one target between rounds here.
FP_GOALS = [
    ("machine CPU us per keep-alive request <= 0.75x haproxy", "box_us_ka", "haproxy", 0.75,
     False),
    ("keep-alive req/s >= 1.25x haproxy", "rps_keepalive", "haproxy", 1.25, True),
    ("keep-alive req/s >= 0.7x direct", "rps_keepalive", "direct", 0.7, True),
    ("keep-alive p99 <= 0.8x the best peer", "p99_ms", "best peer", 0.8, False),
    ("Connection: close req/s no worse than buoy (>= 0.95x)", "rps_close", "buoy", 0.95, True),
]
FP = "buoy-sockmap"
# The measures whose connections must have moved to the kernel for a goal to count.
FP_PROOF = {"box_us_ka": "rps_keepalive", "rps_keepalive": "rps_keepalive",
            "p99_ms": "rps_keepalive"}
FP_MEASURES = [("tput_p1", "iperf3 -P1"), ("tput_p8", "iperf3 -P8"),
               ("rps_keepalive", "wrk keep-alive"), ("rps_close", "wrk close"),
               ("burst", "burst"), ("rss_per_conn", "idle connections")]


def _fmt(key, v):
    fmt = {k: f for k, _, f, *_ in MEASURES}.get(key, "%.2f")
    return fmt % v


def fp_moved(raw):
    """measure -> [(moved to the kernel, connections that carried the load)] per run; moved is
    None where status had no count."""
    out = {}
    for key, _ in FP_MEASURES:
        moved = raw.get(("fp_" + key, FP))
        if moved:
            load = raw.get(("fpload_" + key, FP), [])
            out[key] = [(m, load[i] if i < len(load) else None) for i, m in enumerate(moved)]
    return out


def fp_path(moved, key):
    """"kernel" when every round moved at least as many connections as carried the load,
    "partly" when some moved, "relay" when none did (or status could not tell)."""
    runs = moved.get(key)
    if not runs or any(m is None or m == 0 for m, _ in runs):
        return "relay"
    if all(n is not None and m >= n for m, n in runs):
        return "kernel"
    return "partly"


def fp_proven(moved, key):
    return fp_path(moved, key) == "kernel"


def _versus(raw, key, other, run=None):
    """(the compared column's name, its value): a median, or one run's value."""
    def val(t):
        vs = raw.get((key, t), [])
        if run is None:
            return median(vs)
        return vs[run] if run < len(vs) else None
    if other != "best peer":
        return other, val(other)
    have = [(val(t), t) for t in PEERS if val(t)]
    if not have:
        return other, None
    v, t = min(have)
    return t, v


def fp_goals(raw, moved):
    """rows: goal, buoy-sockmap, compared with, ratio (per round), met."""
    rows = []
    for text, key, other, limit, higher in FP_GOALS:
        mine = median(raw.get((key, FP), []))
        name, theirs = _versus(raw, key, other)
        if mine is None or not theirs:
            rows.append([text, "n/a", "%s n/a" % name if theirs is None else name, "n/a",
                         "n/a (not measured)"])
            continue
        r = mine / theirs
        runs = len(raw.get((key, FP), []))
        per = []
        for i in range(runs):
            m_i = raw[(key, FP)][i]
            _, t_i = _versus(raw, key, other, i)
            per.append("%.2f" % (m_i / t_i) if m_i is not None and t_i else "n/a")
        ok = r >= limit if higher else r <= limit
        verdict = "met" if ok else "missed"
        proof = FP_PROOF.get(key)
        if proof and not fp_proven(moved, proof):
            verdict = "no verdict: not on the kernel path"
        rows.append([text, _fmt(key, mine), "%s %s" % (name, _fmt(key, theirs)),
                     "%.2fx" % r + (" (rounds: %s)" % " / ".join(per) if runs > 1 else ""),
                     verdict])
    return rows


# Which measure's connections a table row was made of (for the kernel column's "(relay)" mark).
FP_ROW_OF = {"tput_p1": "tput_p1", "cpu_per_gb": "tput_p1", "tput_p8": "tput_p8",
             "rps_close": "rps_close", "segs_close": "rps_close", "cpu_us_close": "rps_close",
             "burst_unserved": "burst", "burst_p99_ms": "burst", "rss_per_conn": "rss_per_conn"}


def mark_fp(rows, raw, notes):
    """The table's header, with the kernel column renamed when it did not measure the kernel
    path; its cells get "(relay)" where that measure moved no connection to the kernel."""
    header = list(HEADER)
    col = header.index(FP)
    if any(n.startswith(FP + ": skipped:") for n in notes):
        header[col] = FP + " (skipped)"
        return header
    if not any(t == FP for _, t in raw):
        return header
    moved = fp_moved(raw)
    if not fp_proven(moved, "rps_keepalive"):
        header[col] = "not on the kernel path (%s)" % FP
        return header
    for row, (key, *_) in zip(rows, MEASURES):
        proof = FP_ROW_OF.get(key, "rps_keepalive")
        path = fp_path(moved, proof)
        if row[col] != "n/a" and path != "kernel":
            row[col] += " (%s)" % ("partly relay" if path == "partly" else "relay")
    return header


def fast_path_section(raw, notes):
    """The kernel column's proof and issue 21's verdict, as markdown lines."""
    fpn = [n for n in notes if n.startswith(FP + ":")]
    skipped = [n for n in fpn if n.startswith(FP + ": skipped:")]
    if not fpn and not any(t == FP for _, t in raw):
        return []  # not selected
    lines = ["", "## Kernel fast path (issue 21): buoy-sockmap", ""]
    if skipped:
        lines.append("**Skipped**: %s. The other columns ran without it." %
                     skipped[0].split("skipped: ", 1)[1])
        return lines
    lines += ["- " + n.split(": ", 1)[1] for n in fpn]
    moved = fp_moved(raw)
    lines += ["", "Connections that buoy status (`fast_path_total` of the measure's listener) "
              "counts as moved to the kernel during each measure, of the connections that "
              "carried its load, per round; a cell of the table marked (relay) or (partly "
              "relay) was not measured on the kernel path:", ""]
    rows = []
    say = {"kernel": "yes", "partly": "partly: the rest stayed in the relay",
           "relay": "no: measured the relay"}
    for key, label in FP_MEASURES:
        runs = moved.get(key, [])
        cell = " / ".join("%s of %s" % ("n/a" if m is None else "%d" % m,
                                        "?" if n is None else "%d" % n) for m, n in runs)
        rows.append([label, cell or "-", say[fp_path(moved, key)]])
    lines.append(md_table(["measure", "moved of connections, per round", "on the kernel path"],
                          rows))
    lines.append("")
    if not fp_proven(moved, "rps_keepalive"):
        lines.append("**Not on the kernel path**: buoy status counted no connection moved to "
                     "the kernel during keep-alive (or has no `fast_path_total`), so the column "
                     "measured the relay. No verdict on the goals below.")
        lines.append("")
    lines.append("Goals, ratios of medians in this run (per round in brackets):")
    lines.append("")
    lines.append(md_table(["goal", FP, "compared with", "ratio", "verdict"], fp_goals(raw, moved)))
    return lines


def main():
    res, notes_path, meta_path, out_md = sys.argv[1:5]
    raw = load(res)
    rows = build(raw)
    notes = [n.rstrip("\n") for n in open(notes_path) if n.strip()]
    header = mark_fp(rows, raw, notes)
    meta = dict(line.rstrip("\n").split("=", 1) for line in open(meta_path) if "=" in line)
    print()
    print(text_table(rows, header))
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
          md_table(header, rows), "", "## Per run", "",
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
