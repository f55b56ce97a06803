#!/usr/bin/env python3
"""The BENCH_RESULT line of bench/bench_result.hpp, for the Python and shell benchmarks.

From Python:  sys.path.insert(0, <bench dir>); import bench_result
              bench_result.emit("http.basket_writes", 7175, "req/s", baseline=40216,
                                baseline_unit="req/s", goal=("ratio", ">=", 0.3))
From a shell: python3 bench/bench_result.py --name http.basket_writes --figure 7175 \
                  --unit req/s --baseline 40216 --baseline-unit req/s --goal ratio:>=:0.3

A goal is (on, op, value): on "ratio" or "figure", op ">=" or "<=". The ratio is figure /
baseline; "met" is null without a goal or without what it needs.
"""

import argparse
import json
import math
import sys


def _number(v):
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def goal_text(goal, unit):
    on, op, value = goal
    text = ("ratio " if on == "ratio" else "") + ("\u2265 " if op == ">=" else "\u2264 ")
    text += f"{float(value):.10g}"
    if on != "ratio" and unit:
        text += f" {unit}"
    return text


def line(name, figure, unit, baseline=None, baseline_unit="", goal=None):
    """The BENCH_RESULT line (without its newline)."""
    figure, baseline = _number(figure), _number(baseline)
    ratio = figure / baseline if figure is not None and baseline else None
    met = None
    if goal is not None:
        on, op, value = goal
        if on not in ("ratio", "figure") or op not in (">=", "<="):
            raise ValueError(f"bad goal {goal!r}")
        subject = ratio if on == "ratio" else figure
        if subject is not None:
            met = subject >= value if op == ">=" else subject <= value
    obj = {"name": name, "figure": figure, "unit": unit, "baseline": baseline,
           "baseline_unit": baseline_unit,
           "ratio": None if ratio is None else float(f"{ratio:.6g}"),
           "goal": None if goal is None else goal_text(goal, unit), "met": met}
    return "BENCH_RESULT " + json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def emit(*args, **kwargs):
    """Prints the BENCH_RESULT line on stdout, flushed; returns "met" (True without a goal)."""
    text = line(*args, **kwargs)
    print(text, flush=True)
    met = json.loads(text[len("BENCH_RESULT "):])["met"]
    return met is not False


def _goal_arg(s):
    try:
        on, op, value = s.split(":")
        return on, op, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--goal wants ON:OP:VALUE, e.g. ratio:>=:0.3, not {s!r}")


def main():
    ap = argparse.ArgumentParser(description="Prints one BENCH_RESULT line.")
    ap.add_argument("--name", required=True)
    ap.add_argument("--figure", required=True, type=float)
    ap.add_argument("--unit", default="")
    ap.add_argument("--baseline", type=float)
    ap.add_argument("--baseline-unit", default="")
    ap.add_argument("--goal", type=_goal_arg, help="ON:OP:VALUE, e.g. ratio:>=:0.3 or figure:<=:20")
    a = ap.parse_args()
    emit(a.name, a.figure, a.unit, a.baseline, a.baseline_unit, a.goal)
    return 0


if __name__ == "__main__":
    sys.exit(main())
