#!/usr/bin/env python3
"""The table of bench/run_all.sh: every BENCH_RESULT line of its log, beside its raw baseline,
ratio and goal; and, with --write-doc, the generated block at the top of docs/BENCHMARKS.md.

Usage: bench/results_table.py LOG [--write-doc docs/BENCHMARKS.md]

LOG is run_all.sh's log. Besides the BENCH_RESULT lines of the benchmarks (bench_result.hpp) it
holds run_all's own lines: BENCH_META {"key": ..., "value": ...} (machine, date, commit, load,
duration) and BENCH_RUN {"bench", "command", "exit", "seconds", "results", "ran"} per benchmark.
Prints the table (Markdown) and the benchmarks that failed to run. Exit status: 0, or 1 when a
benchmark failed to run or the log holds no result; goals not met do not change it.
The block in the doc lies between the markers below; it is replaced whole, or inserted before
the first "## " heading when the doc has none. Python 3 standard library only.
"""

import argparse
import json
import re
import sys

BEGIN = "<!-- run_all:begin -->"
END = "<!-- run_all:end -->"

# What each figure is, for the table; a name not listed here is shown as it is.
DESCRIPTIONS = [
    (r"grains\.get\.w(\d+)", "read of an active grain (`get`), window {0} (bench_grains)"),
    (r"grains\.call\.w(\d+)", "grain-to-grain call (`call`), window {0} (bench_grains)"),
    (r"grains\.set\.w(\d+)", "durable `set` on memory storage, window {0} (bench_grains)"),
    (r"grains\.add\.w(\d+)", "durable `add` (+ product grain), window {0} (bench_grains)"),
    (r"grains\.client\.w(\d+)", "`set` via grain_client::ask, window {0} (bench_grains)"),
    (r"grains\.activate\.thread", "activations from a plain thread, loop (bench_grains)"),
    (r"durable\.writes", "durable basket writes through PostgreSQL (bench_durable)"),
    (r"durable\.p99_half_load", "durable writes: p99 at half load (bench_durable)"),
    (r"durable\.p99_fixed_rate", "durable writes: p99 at a fixed rate (bench_durable)"),
    (r"durable\.hot_basket", "one hot basket, durable writes (bench_durable)"),
    (r"durable\.activations_from_snapshot", "activations from snapshot (bench_durable)"),
    (r"http\.basket_writes", "HTTP durable basket writes, wrk -c64 (http_bench.sh)"),
    (r"kafka\.bridge", "Kafka bridge into durable grains (bench_kafka)"),
    (r"kafka\.relay", "outbox relay (bench_kafka)"),
    (r"kafka\.commit_to_kafka_p99\.sparse", "commit → Kafka receipt p99, sparse (bench_kafka)"),
    (r"kafka\.commit_to_kafka_p99\.load", "commit → Kafka receipt p99, under load (bench_kafka)"),
    (r"bridge\.spread", "bridge vs raw durable consumer, 1,000 grains (bench_bridge)"),
    (r"bridge\.hot", "bridge vs raw durable consumer, 10 hot grains (bench_bridge)"),
    (r"checkout\.confirmed_orders", "confirmed checkouts, closed loop (bench_checkout)"),
    (r"checkout\.confirm_delay_p50", "checkout 202 → confirmed p50, half load (bench_checkout)"),
    (r"checkout\.confirm_delay_p99", "checkout 202 → confirmed p99, half load (bench_checkout)"),
    (r"projector\.(\w+)", "projector `{0}` vs raw consumer (bench_projector)"),
    (r"cluster\.cross_node_requests", "cross-node grain requests (bench_cluster)"),
    (r"cluster\.failover_median", "SIGKILL → first correct read, median (cluster_failover.py)"),
    (r"cluster\.failover_worst", "SIGKILL → first correct read, worst (cluster_failover.py)"),
    (r"cluster\.rolling_restart_p99", "basket writes p99 in a rolling restart (cluster_failover.py)"),
    (r"memory\.idle_basket\.(\w+)", "idle basket grain memory, {0} storage (bench_activation)"),
    (r"activation\.latency_p99\.(\w+)", "activation latency p99, {0} storage (bench_activation)"),
    (r"load_tool\.basket_writes", "bazaar-load basket writes beside wrk, same node (load_tool_bench.sh)"),
]


def describe(name):
    for pattern, text in DESCRIPTIONS:
        m = re.fullmatch(pattern, name)
        if m:
            return text.format(*m.groups())
    return name


def number(v):
    """A figure as the table shows it: thousands separated, a few significant digits."""
    if v is None:
        return "—"
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:,.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def ratio_text(r):
    if r is None:
        return "—"
    return f"{r:.3f}" if abs(r) < 0.1 else f"{r:.2f}"


def parse(path):
    results, runs, meta = [], [], {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            for tag, sink in (("BENCH_RESULT ", "result"), ("BENCH_RUN ", "run"),
                              ("BENCH_META ", "meta")):
                i = line.find(tag)
                if i < 0:
                    continue
                try:
                    obj = json.loads(line[i + len(tag):])
                except json.JSONDecodeError:
                    continue
                if sink == "result":
                    results.append(obj)
                elif sink == "run":
                    runs.append(obj)
                else:
                    meta[obj["key"]] = obj["value"]
                break
    return results, runs, meta


def goal_display(goal):
    """The goal with thousands separated: "≥ 20000 writes/s" -> "≥ 20,000 writes/s"."""
    if not goal:
        return "—"
    return re.sub(r"\d{4,}(?:\.\d+)?", lambda m: number(float(m.group())), goal)


def table(results):
    rows = ["| figure | Bazaar | raw baseline, same run | ratio | goal | met |",
            "|---|---:|---:|---:|---|---|"]
    for r in results:
        fig = f"{number(r['figure'])} {r['unit']}".strip()
        base = "—" if r.get("baseline") is None else \
            f"{number(r['baseline'])} {r.get('baseline_unit', '')}".strip()
        met = {True: "yes", False: "**no**", None: "—"}[r.get("met")]
        rows.append(f"| {describe(r['name'])} | {fig} | {base} | {ratio_text(r.get('ratio'))} "
                    f"| {goal_display(r.get('goal'))} | {met} |")
    return "\n".join(rows)


def failures(runs):
    return [r for r in runs if not r.get("ran")]


def block(results, runs, meta):
    failed = failures(runs)
    out = [BEGIN,
           "<!-- generated by bench/run_all.sh --write-doc: edit the script, not this block -->",
           "## The figures now",
           "",
           f"One run of `bench/run_all.sh{meta.get('options', '')}`, {meta.get('date', '?')}, "
           f"commit `{meta.get('commit', '?')}`, {meta.get('duration', '?')} in all.",
           "",
           f"- Machine: {meta.get('machine', '?')}.",
           f"- Load average (1 5 15 min) at the start: {meta.get('load_start', '?')}; "
           f"at the end: {meta.get('load_end', '?')}.",
           "- Each figure is from that one run, beside its raw baseline measured by the same "
           "benchmark in the same run; the ratio is Bazaar / baseline. One run on a shared "
           "machine: see the sections below for the spread between runs.",
           "",
           "Built first with `JOBS=2 ./scripts/build.sh bench_grains bench_durable bench_kafka "
           "bench_bridge bench_checkout bench_projector bench_cluster bench_activation "
           "bench_pistache_baseline bazaar bazaarctl`; the benchmarks, in the order they ran "
           "(exit 3: the benchmark ran and a goal of its was not met):",
           "",
           "| benchmark | command | took | exit |",
           "|---|---|---:|---:|"]
    for r in runs:
        exit_text = str(r["exit"]) + ("" if r.get("ran") else " **(failed to run)**")
        if r.get("ran") and r["exit"] == 3:
            exit_text += " (a goal not met)"
        out.append(f"| {r['bench']} | `{r['command']}` | {r['seconds']:.0f} s | {exit_text} |")
    out += ["", table(results), ""]
    if failed:
        out.append("**Failed to run:** " + ", ".join(f"{r['bench']} (exit {r['exit']}, "
                                                   f"{r['results']} results)" for r in failed) + ".")
        out.append("")
    out.append(END)
    return "\n".join(out) + "\n"


def write_doc(path, text):
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    if BEGIN in doc and END in doc:
        start = doc.index(BEGIN)
        end = doc.index(END) + len(END)
        if doc[end:end + 1] == "\n":
            end += 1
        doc = doc[:start] + text + doc[end:]
    else:
        m = re.search(r"^## ", doc, flags=re.M)
        at = m.start() if m else len(doc)
        doc = doc[:at] + text + "\n" + doc[at:]
    with open(path, "w", encoding="utf-8") as f:
        f.write(doc)


def main():
    ap = argparse.ArgumentParser(description="The table of bench/run_all.sh's log.")
    ap.add_argument("log")
    ap.add_argument("--write-doc", metavar="DOC", help="regenerate the block of this Markdown file")
    a = ap.parse_args()
    results, runs, meta = parse(a.log)
    print(table(results))
    failed = failures(runs)
    print()
    print("failed to run: " + (", ".join(f"{r['bench']} (exit {r['exit']})" for r in failed)
                               if failed else "none"))
    if a.write_doc:
        write_doc(a.write_doc, block(results, runs, meta))
        print(f"wrote the generated block of {a.write_doc}")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
