#!/usr/bin/env python3
"""Prints criterion's median (and its 95% interval) for every benchmark under
target/criterion, newest run, one line each: `python3 xrpo-bench/benches/medians.py`."""
import json
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"
for dirpath, _, files in sorted(os.walk(root)):
    if dirpath.endswith(os.path.join("new")) and "estimates.json" in files:
        est = json.load(open(os.path.join(dirpath, "estimates.json")))["median"]
        name = os.path.relpath(os.path.dirname(dirpath), root)
        ci = est["confidence_interval"]
        print(f"{name:<60} median {est['point_estimate'] / 1e3:>12.1f} µs"
              f"  (95% CI {ci['lower_bound'] / 1e3:.1f}–{ci['upper_bound'] / 1e3:.1f})")
