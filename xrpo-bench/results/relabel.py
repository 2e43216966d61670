#!/usr/bin/env python3
"""Relabel a `results.json` written by xrpo-bench before XRPO's default dropped the
paper's allocator (commit add5f74 and earlier) into the arm names of the shipped code, so
`xrpo-bench report DIR` renders it with today's pairings (every `xrpo_*` arm against the
shipped `xrpo`). Only names and arm definitions change; every run's evaluations, steps and
timings are copied as they are, and each run keeps the run key it was saved under.

Old name (old binary)                          -> new name (what it is)
  xrpo          (paper allocator)               -> xrpo_paper
  xrpo_no_alloc (even spread, seed, sharpen)    -> xrpo        (the shipped default)
  xrpo_u_no_seed   (--arm ...:alloc.kind=uniform_phased) -> xrpo_no_seed
  xrpo_u_no_sharpen (--arm ...:alloc.kind=uniform_phased) -> xrpo_no_sharpen
  xrpo_beta     (paper allocator + Beta spread) -> xrpo_beta   (definition spelled out)
  grpo, dapo, xrpo_knapsack                     -> unchanged
Old-binary arms not listed (xrpo_no_seed / xrpo_no_sharpen with the paper allocator) are
left out: they are ablations of the old default, reported in the sixth session.

usage: relabel.py OLD/results.json NEW_DIR
"""
import json
import os
import sys

NEW = {
    "grpo": ("grpo", "grpo", []),
    "xrpo_no_alloc": ("xrpo", "xrpo", []),
    "xrpo": ("xrpo_paper", "xrpo", ["alloc.kind=xrpo"]),
    "dapo": ("dapo", "grpo", ["alloc.kind=dapo_filter"]),
    "xrpo_beta": ("xrpo_beta", "xrpo", ["alloc.kind=xrpo", "alloc.variance=beta_posterior"]),
    "xrpo_knapsack": ("xrpo_knapsack", "xrpo", ["alloc.kind=knapsack"]),
    "xrpo_u_no_seed": ("xrpo_no_seed", "xrpo_no_seed", []),
    "xrpo_u_no_sharpen": ("xrpo_no_sharpen", "xrpo_no_sharpen", []),
}
ORDER = ["grpo", "xrpo", "xrpo_paper", "dapo", "xrpo_beta", "xrpo_knapsack",
         "xrpo_no_seed", "xrpo_no_sharpen"]


def main(src: str, out_dir: str) -> None:
    with open(src) as f:
        d = json.load(f)
    cfg = d["config"]
    old_arms = {a["name"]: a for a in cfg["arms"]}
    kept = [n for n in old_arms if n in NEW]
    new_arms = [{"name": NEW[n][0], "algorithm": NEW[n][1], "overrides": NEW[n][2]} for n in kept]
    new_arms.sort(key=lambda a: ORDER.index(a["name"]))
    cfg["arms"] = new_arms
    # The old table always wrote `kind = "xrpo"` (then: "the preset's"); today absent = preset.
    cfg["base"]["alloc"].pop("kind", None)
    runs = [r for r in d["runs"] if r["arm"] in NEW]
    for r in runs:
        r["arm"] = NEW[r["arm"]][0]
    runs.sort(key=lambda r: (cfg["seeds"].index(r["seed"]), ORDER.index(r["arm"])))
    d["runs"] = runs
    d["command"] = d["command"] + "  [arms relabelled by xrpo-bench/results/relabel.py]"
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(d, f)
    print(f"{len(runs)} runs, arms {[a['name'] for a in new_arms]} -> {out_dir}/results.json")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
