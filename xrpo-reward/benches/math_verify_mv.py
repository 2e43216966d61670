"""Math-Verify 0.9.0 throughput on the same 283 conformance cases the Rust bench uses.

Each case runs `verify(parse(gold, cfg), parse(pred, cfg), ...)` with the options its
upstream test uses (as in math_verify_conformance.rs). Prints one line per mode:
`math-verify one_thread <verifications/s>` and `math-verify all_cores <verifications/s>`,
each the median of several timed passes over all cases. Agreement with the labels is
printed too, as a check that the driver reproduces the tests.

Usage: python math_verify_mv.py CASES.jsonl [PASSES]
"""

import json
import multiprocessing as mp
import os
import statistics
import sys
import time

from math_verify import (
    ExprExtractionConfig,
    LatexExtractionConfig,
    StringExtractionConfig,
    parse,
    verify,
)


def extraction_config(options):
    targets = []
    for t in options.get("match_types", ["latex", "expr"]):
        if t == "latex":
            targets.append(LatexExtractionConfig(boxed_match_priority=options.get("latex_boxed_match_priority", 50)))
        elif t == "expr":
            targets.append(ExprExtractionConfig())
        elif t == "string":
            targets.append(
                StringExtractionConfig(
                    strings=tuple(options.get("string_strings", ["A", "B", "C", "D"])),
                    lowercase=options.get("string_lowercase", True),
                    try_extract_without_anchor=options.get("string_try_extract_without_anchor", True),
                )
            )
    return targets


def run_case(case):
    opts = case["options"]
    cfg = extraction_config(opts)
    if case["gold"] is None:
        return False
    gold = parse(case["gold"], cfg)
    pred = parse(case["pred"], cfg)
    return verify(
        gold,
        pred,
        float_rounding=opts.get("precision", 6),
        strict=opts.get("strict", True),
        allow_set_relation_comp=opts.get("allow_set_relation_comp", False),
    )


def run_chunk(chunk):
    return [run_case(c) for c in chunk]


def main():
    path = sys.argv[1]
    passes = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    cases = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    cases = [c for c in cases if c["gold"] is not None]

    agree = sum(run_case(c) == c["expected"] for c in cases)
    print(f"math-verify agreement {agree}/{len(cases)}", file=sys.stderr)

    one = []
    for _ in range(passes):
        t = time.perf_counter()
        run_chunk(cases)
        one.append(len(cases) / (time.perf_counter() - t))
    print(f"math-verify one_thread {statistics.median(one):.1f}")

    # Math-Verify times out with signal.alarm, so parallelism is by processes (one per core).
    workers = os.cpu_count() or 1
    chunks = [cases[i::workers] for i in range(workers)]
    many = []
    with mp.Pool(workers) as pool:
        pool.map(run_chunk, chunks)  # warm the workers' imports and caches
        for _ in range(passes):
            t = time.perf_counter()
            pool.map(run_chunk, chunks)
            many.append(len(cases) / (time.perf_counter() - t))
    print(f"math-verify all_cores {statistics.median(many):.1f} ({workers} processes)")


if __name__ == "__main__":
    main()
