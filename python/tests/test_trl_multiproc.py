"""MULTI-PROCESS: XRPOTrainer under 2 distributed processes (torch.distributed, gloo, CPU).

Starts ``torchrun --standalone --nproc_per_node 2 trl_multiproc_worker.py`` (the launcher
``accelerate launch`` uses for several GPUs; ``accelerate launch --cpu --num_processes 2``
itself runs one process unless MPI is set up, so torchrun starts the two processes and
accelerate picks its multi-CPU state up from the environment). Each process trains the
real TRL trainer with the tiny random Llama of test_trl.py for 2 steps, checkpoints,
and resumes in a fresh trainer for a third step; the checks below read what every rank
wrote. About 15-30 s on 2 cores.
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import need

need("trl")
need("torch")

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("xrpo_mp")
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun is not installed")
    env = dict(os.environ, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "trl_multiproc_worker.py", str(out)],
                          cwd=HERE, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    reports = []
    for r in (0, 1):
        with open(out / f"rank{r}.json") as f:
            reports.append(json.load(f))
    return out, reports


def expected_reward(completion, hard, num):
    return (0.0 if hard else float(len(completion) % 2)) + num / 1000


def test_two_processes_run_equal_phases_on_their_own_prompts(ranks):
    _, reps = ranks
    assert [r["num_processes"] for r in reps] == [2, 2]
    assert [r["rank"] for r in reps] == [0, 1]
    assert all(np.isfinite(r["loss"]) for r in reps)
    assert [len(r["steps"]) for r in reps] == [2, 2]
    for s0, s1 in zip(reps[0]["steps"], reps[1]["steps"]):
        assert s0["phase_sizes"] == s1["phase_sizes"]  # the gathers need equal sizes
        assert len(s0["phase_sizes"]) >= 2
        for s in (s0, s1):
            assert sum(s["phase_sizes"]) == sum(s["counts"]) == s["rows"] == 16  # TRL's local budget
        assert not set(s0["nums"]) & set(s1["nums"])  # each process allocates over its own prompts
    counts = [c for r in reps for s in r["steps"] for c in s["counts"]]
    assert len(set(counts)) > 1, counts
    assert sum(sum(s["seeded"]) for r in reps for s in r["steps"]) >= 1


def test_each_rank_scores_its_own_rollouts(ranks):
    _, reps = ranks
    for r in reps:
        for s in r["steps"]:
            got = np.array(s["rewards"])
            want = np.array([expected_reward(c, s["hard"][g], s["nums"][g])
                             for c, g in zip(s["completions"], s["groups"])])
            np.testing.assert_allclose(got, want, atol=1e-6, err_msg=f"rank {r['rank']}")


def test_advantages_are_per_group(ranks):
    _, reps = ranks
    kappa = 0.5  # XRPOConfig.xrpo_kappa_clip default: sharpening adds at most kappa * A
    for r in reps:
        for s in r["steps"]:
            rew, grp, adv = np.array(s["rewards"]), np.array(s["groups"]), np.array(s["advantages"])
            assert (np.diff(grp) >= 0).all()  # rows grouped by prompt
            for g in np.unique(grp):
                x = rew[grp == g]
                base = (x - x.mean()) / (x.std(ddof=1) + 1e-4)  # TRL's group scaling, computed here
                a = adv[grp == g]
                neg = base <= 0
                np.testing.assert_allclose(a[neg], base[neg], rtol=1e-4, atol=1e-5)
                assert (a[~neg] >= base[~neg] * (1 - 1e-4)).all() and (a[~neg] <= base[~neg] * (1 + kappa) + 1e-4).all()


def test_metrics_are_reduced_over_processes(ranks):
    _, reps = ranks
    logs = [h for h in reps[0]["log_history"] if "alloc/rollouts" in h]
    assert len(logs) == 2
    for h in logs:
        assert h["alloc/rollouts"] == 32.0  # both processes' 16 rows
        for key in ("loss", "reward", "alloc/rollouts_per_prompt_max", "alloc/rollouts_per_prompt_min",
                    "seed/seeded_prompts", "seed/bank_size", "advantage/novelty_bonus_mean",
                    "frac_reward_zero_std", "time/xrpo_overhead"):
            assert key in h, key
    for i, h in enumerate(logs):
        seeded = sum(sum(r["steps"][i]["seeded"]) for r in reps)
        assert h["seed/seeded_prompts"] == seeded
        assert h["alloc/rollouts_per_prompt_max"] == max(max(r["steps"][i]["counts"]) for r in reps)


def test_checkpoint_holds_every_rank_and_resumes_by_rank(ranks):
    out, reps = ranks
    for r in reps:
        path = out / "checkpoint-2" / f"xrpo_state_rank{r['rank']}.json"
        with open(path) as f:
            on_disk = json.load(f)
        assert on_disk["rank"] == r["rank"] and on_disk["num_processes"] == 2
        assert on_disk["allocator"]["completed_steps"] == 2
        assert on_disk["seeder"] == r["bank"]  # this rank's bank as it ended the run
        assert r["restored"]["allocator"] == on_disk["allocator"]
        assert r["restored"]["seeder"] == on_disk["seeder"]
        assert r["after_resume_steps"] == 3
    # The banks are shared: the same exemplars on every rank, solved on both ranks' prompts
    # (the retrieval counters in "stats" stay each rank's own).
    b0, b1 = reps[0]["bank"], reps[1]["bank"]
    assert b0["entries"] == b1["entries"]
    prompts = {e["prompt"] for e in b0["entries"] if "training" in e["provenance"]}
    assert any(" 0 + " in p or " 2 + " in p for p in prompts) and any(" 4 + " in p or " 6 + " in p for p in prompts), prompts


def test_batch_scale_uses_the_std_of_every_process(ranks):
    """The resumed step runs with ``scale_rewards="batch"``: TRL scales every advantage by
    the std of the whole batch (all processes' rows), so each rank's advantages must use
    the std of both ranks' rewards, not of its own."""
    _, reps = ranks
    steps = [r["resumed_steps"] for r in reps]
    assert [len(s) for s in steps] == [1, 1]
    both = np.concatenate([np.array(s[0]["rewards"]) for s in steps])
    global_std = both.std(ddof=1)
    kappa = 0.5
    local_stds = []
    for s in (st[0] for st in steps):
        rew, grp, adv = np.array(s["rewards"]), np.array(s["groups"]), np.array(s["advantages"])
        local_stds.append(rew.std(ddof=1))
        for g in np.unique(grp):
            x = rew[grp == g]
            base = (x - x.mean()) / (global_std + 1e-4)  # TRL's batch scaling, computed here
            a = adv[grp == g]
            neg = base <= 0
            np.testing.assert_allclose(a[neg], base[neg], rtol=1e-4, atol=1e-5)
            assert (a[~neg] >= base[~neg] * (1 - 1e-4)).all() and (a[~neg] <= base[~neg] * (1 + kappa) + 1e-4).all()
    # The check can tell the two apart: a rank's own std differs from the global one.
    assert any(abs(ls - global_std) > 1e-3 for ls in local_stds), (local_stds, global_std)
