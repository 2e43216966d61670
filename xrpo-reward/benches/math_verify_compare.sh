#!/usr/bin/env bash
# Math answer verification throughput: xrpo-reward vs Math-Verify 0.9.0, same 283 inputs
# (tests/data/math-verify-cases.jsonl, each case with its test's options), same run.
#
#   xrpo-reward/benches/math_verify_compare.sh            # from the repository root
#   MV_PYTHON=/path/to/python PASSES=5 xrpo-reward/benches/math_verify_compare.sh
#
# Math-Verify comes from a throwaway venv (created on first use unless MV_PYTHON points at
# a Python that has math-verify==0.9.0). Prints verifications/s for one thread and all
# cores, and the ratios.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
crate="$(dirname "$here")"
cases="$crate/tests/data/math-verify-cases.jsonl"
passes="${PASSES:-5}"

if [[ -z "${MV_PYTHON:-}" ]]; then
    venv="${MV_VENV:-/tmp/mvvenv}"
    if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "import math_verify" 2>/dev/null; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q "math-verify==0.9.0"
    fi
    MV_PYTHON="$venv/bin/python"
fi

echo "== Math-Verify 0.9.0 ($passes passes, median)"
mv_out="$("$MV_PYTHON" "$here/math_verify_mv.py" "$cases" "$passes")"
echo "$mv_out"

echo "== xrpo-reward (criterion, median)"
rs_out="$(cd "$crate" && cargo bench -p xrpo-reward --bench math_verify -- --noplot 2>/dev/null | grep -E '^math_verify/|thrpt')"
echo "$rs_out"

# Criterion prints `thrpt:  [low median high]` with a unit (elem/s, Kelem/s, Melem/s).
median_of() {
    echo "$rs_out" | grep -A2 "^math_verify/$1\$\|^math_verify/$1 " | grep thrpt | head -1 |
        sed -E 's/.*\[[^ ]+ [^ ]+ ([0-9.]+) ([KMG]?)elem\/s.*/\1 \2/' |
        awk '{ m = ($2 == "K") ? 1e3 : ($2 == "M") ? 1e6 : ($2 == "G") ? 1e9 : 1; printf "%.1f", $1 * m }'
}
rs_one="$(median_of conformance_one_thread)"
rs_all="$(median_of conformance_all_cores)"
mv_one="$(echo "$mv_out" | awk '/one_thread/ { print $3 }')"
mv_all="$(echo "$mv_out" | awk '/all_cores/ { print $3 }')"

echo "== verifications/s      xrpo-reward   Math-Verify   ratio"
awk -v a="$rs_one" -v b="$mv_one" 'BEGIN { printf "one thread          %12.0f  %12.1f  %7.0fx\n", a, b, a / b }'
awk -v a="$rs_all" -v b="$mv_all" 'BEGIN { printf "all cores (%s)       %12.0f  %12.1f  %7.0fx\n", "'"$(nproc)"'", a, b, a / b }'
