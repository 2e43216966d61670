"""xrpo.verl with the real verl package: the "xrpo" estimator through verl's own
compute_advantage, the reward functions through verl's reward manager classes, and the
phased batch assembly on real DataProtos. verl's rollout needs GPUs (vLLM/SGLang on Ray):
the generation itself is replaced here by a function that writes each row's uid into its
response; python/README.md gives the GPU-cluster command for a real run."""

import json

import numpy as np
import pytest

from conftest import need, tiny_tokenizer

need("verl")
need("torch")

import torch  # noqa: E402
from verl import DataProto  # noqa: E402
from verl.trainer.ppo import core_algos  # noqa: E402
from verl.trainer.ppo.ray_trainer import compute_advantage  # noqa: E402

import xrpo  # noqa: E402
from xrpo.verl import phases  # noqa: E402
from xrpo.verl import reward as xr  # noqa: E402


def outcome_batch(scores, uids, resp_len=5, lengths=None, logps=None):
    n = len(scores)
    lengths = lengths or [resp_len] * n
    mask = torch.zeros(n, resp_len)
    rewards = torch.zeros(n, resp_len)
    for i, (s, L) in enumerate(zip(scores, lengths)):
        mask[i, :L] = 1
        rewards[i, L - 1] = s
    batch = {"token_level_rewards": rewards, "response_mask": mask}
    if logps is not None:
        batch["old_log_probs"] = torch.tensor(logps, dtype=torch.float32)
    return DataProto.from_dict(tensors=batch, non_tensors={"uid": np.array(uids, dtype=object)})


def test_estimator_is_registered_once_and_survives_reimport():
    import importlib.util

    assert core_algos.get_adv_estimator_fn("xrpo") is not None
    # verl imports the reward file by path as a fresh module: that must not raise.
    spec = importlib.util.spec_from_file_location("custom_module", xrpo.verl.reward_path())
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.register() is True


def test_xrpo_equals_verl_grpo_on_equal_groups():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 2, size=24).astype(float).tolist()
    uids = [f"u{i // 4}" for i in range(24)]
    lengths = rng.integers(1, 6, size=24).tolist()
    ours = compute_advantage(outcome_batch(scores, uids, lengths=lengths), adv_estimator="xrpo",
                             config={"norm_adv_by_std_in_grpo": True})
    theirs = compute_advantage(outcome_batch(scores, uids, lengths=lengths), adv_estimator="grpo")
    torch.testing.assert_close(ours.batch["advantages"], theirs.batch["advantages"], rtol=1e-5, atol=1e-5)
    assert torch.count_nonzero(theirs.batch["advantages"]) > 0


def test_xrpo_is_right_on_unequal_groups():
    scores = [1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1]
    uids = ["a", "b", "a", "a", "b", "c", "c", "c", "c", "d", "d"]
    out = compute_advantage(outcome_batch(scores, uids), adv_estimator="xrpo", config={})
    adv = out.batch["advantages"][:, -1].numpy()
    for u in set(uids):
        rows = [i for i, x in enumerate(uids) if x == u]
        r = np.array([scores[i] for i in rows], float)
        expected = (r - r.mean()) / (r.std(ddof=1) + 1e-6)
        np.testing.assert_allclose(adv[rows], expected, rtol=1e-5, atol=1e-6)
    # zero outside the response mask
    assert torch.all(out.batch["advantages"][out.batch["response_mask"] == 0] == 0)


def test_sharpening_when_log_probs_reach_the_estimator():
    scores = [1, 0, 1, 0]
    uids = ["a"] * 4
    logps = [[-0.2] * 5, [-0.4] * 5, [-0.9] * 5, [-0.5] * 5]
    b = outcome_batch(scores, uids, logps=logps)
    adv, _ = xr.compute_xrpo_outcome_advantage(b.batch["token_level_rewards"], b.batch["response_mask"],
                                               index=b.non_tensor_batch["uid"], config={}, batch=b.batch)
    a = adv[:, 0].numpy()
    grpo = 0.5 / np.std([1, 0, 1, 0], ddof=1)
    assert a[0] == pytest.approx(grpo, rel=1e-4)  # more likely than the mean: no bonus
    assert a[2] == pytest.approx(1.5 * grpo, rel=1e-4)  # unlikely correct answer: capped bonus
    off, _ = xr.compute_xrpo_outcome_advantage(b.batch["token_level_rewards"], b.batch["response_mask"],
                                               index=b.non_tensor_batch["uid"],
                                               config={"xrpo": {"sharpen": False}}, batch=b.batch)
    assert off[2, 0].item() == pytest.approx(grpo, rel=1e-4)


def reward_data(tok, responses, golds):
    prompts = [tok(f"Q{i}")["input_ids"] for i in range(len(responses))]
    resps = [tok(r)["input_ids"] for r in responses]
    P = max(map(len, prompts))
    R = max(map(len, resps))
    pr = torch.full((len(prompts), P), tok.pad_token_id)
    rs = torch.full((len(resps), R), tok.pad_token_id)
    am = torch.zeros(len(resps), P + R, dtype=torch.long)
    for i, (p, r) in enumerate(zip(prompts, resps)):
        pr[i, P - len(p):] = torch.tensor(p)
        rs[i, : len(r)] = torch.tensor(r)
        am[i, P - len(p): P + len(r)] = 1
    return DataProto.from_dict(
        tensors={"prompts": pr, "responses": rs, "attention_mask": am, "input_ids": torch.cat([pr, rs], 1)},
        non_tensors={"data_source": np.array(["math"] * len(responses), dtype=object),
                     "reward_model": np.array([{"ground_truth": g} for g in golds], dtype=object),
                     "extra_info": np.array([{} for _ in golds], dtype=object)},
    )


def test_reward_functions_through_verl_reward_managers():
    from verl.workers.reward_manager.batch import BatchRewardManager
    from verl.workers.reward_manager.naive import NaiveRewardManager

    tok = tiny_tokenizer()
    responses = ["#### 5", "What is 2 + 3? Answer: 6", "#### 12", "#### 3"]
    golds = ["5", "5", "12", "see the figure"]
    data = reward_data(tok, responses, golds)
    for mgr in (NaiveRewardManager(tok, 0, compute_score=xr.compute_score),
                BatchRewardManager(tok, 0, compute_score=xr.compute_score_batch)):
        out = mgr(data, return_dict=True)
        scores = out["reward_tensor"].sum(-1).tolist()
        assert scores == [1.0, 0.0, 1.0, 0.0], (type(mgr).__name__, scores)
        assert list(out["reward_extra_info"]["verifiable"]) == [True, True, True, False]
    assert xr.compute_score("m", "x", "\\frac{1", unverifiable_score=float("nan"))["score"] != 0.0


def prompt_batch(n):
    raw = np.empty(n, dtype=object)
    for i in range(n):
        raw[i] = [{"role": "user", "content": f"What is {i} + {i}?"}]
    return DataProto.from_dict(
        tensors={"input_ids": torch.arange(n).unsqueeze(1).repeat(1, 3)},
        non_tensors={"raw_prompt": raw, "uid": np.array([f"uid{i}" for i in range(n)], dtype=object),
                     "data_source": np.array(["math"] * n, dtype=object)},
    )


def fake_rollout(batch, divisor):
    """Stands in for verl's rollout workers: checks the worker multiple, writes each row's
    prompt number and whether it was seeded into its response."""
    assert len(batch) % divisor == 0
    n = len(batch)
    resp = torch.zeros(n, 4, dtype=torch.long)
    for i in range(n):
        uid = batch.non_tensor_batch["uid"][i]
        text = batch.non_tensor_batch["raw_prompt"][i][-1]["content"]
        resp[i, 0] = int(uid[3:])
        resp[i, 1] = int(text.startswith("Problem:"))
    out = DataProto.from_dict(tensors={"responses": resp},
                              non_tensors={"uid": batch.non_tensor_batch["uid"].copy()})
    out.meta_info["timing"] = {"gen": 0.1}
    return out


def test_phased_assembly_keeps_uid_prompt_and_response_aligned():
    P, G, divisor = 6, 8, 4
    prompts = prompt_batch(P)
    uids = list(prompts.non_tensor_batch["uid"])
    alloc = xrpo.XrpoAllocator(n_fixed=G, n_base=3)
    seeder = xrpo.ExemplarSeeder(k=1, similarity_threshold=0.0)
    seeder.record("ex", "What is 1 + 1?", "2", curated=True)
    plan = alloc.plan(P)
    rewards = [[] for _ in range(P)]
    outputs, seeded = [], {}
    for phase, budget in enumerate(plan["phase_budgets"]):
        counts = plan["counts"] if phase == 0 else alloc.allocate(rewards, budget)
        src = phases.seed_raw_prompts(prompts, seeded)
        batch, pad = phases.pad(phases.expand(src, counts), divisor)
        out = phases.unpad(fake_rollout(batch, divisor), pad)
        assert len(out) == int(np.sum(counts))
        outputs.append(out)
        for i in range(len(out)):
            q = int(out.batch["responses"][i, 0])
            rewards[q].append(float(q % 3 == 0 and i % 2 == 0))  # prompts 1, 2, 4, 5 never solved
        for q in range(P):
            if q % 3 != 0 and q not in seeded:
                text = seeder.seed(uids[q], prompts.non_tensor_batch["raw_prompt"][q][-1]["content"])
                if text is not None:
                    seeded[q] = text
    alloc.finish_step()
    final, counts = phases.assemble(outputs, uids)
    assert counts.sum() == P * G  # the step total is verl's train_batch_size x n
    assert len(set(counts.tolist())) > 1  # unequal groups
    assert "timing" not in final.meta_info
    # As in verl's fit: the prompt rows repeated to match, then union (asserts equal keys).
    merged = prompts.sample_level_repeat(counts).union(final)
    for i in range(len(merged)):
        uid = merged.non_tensor_batch["uid"][i]
        assert int(merged.batch["responses"][i, 0]) == int(uid[3:])  # response belongs to the uid
        assert int(merged.batch["input_ids"][i, 0]) == int(uid[3:])  # prompt tensor too
    # Seeded rows carried seeded text; the step's prompt rows themselves stay plain.
    assert final.batch["responses"][:, 1].sum() > 0
    assert all(not m[-1]["content"].startswith("Problem:") for m in prompts.non_tensor_batch["raw_prompt"])
    with pytest.raises(ValueError, match="counts"):
        phases.expand(prompts, [1, 2])


def test_phaser_drives_a_step_as_verl_fit_would():
    from xrpo.verl.trainer import XrpoPhaser

    P, n, workers = 5, 8, 4
    batch = prompt_batch(P)  # the prompt rows fit() keeps (uid, input_ids)
    gen_batch = DataProto.from_dict(non_tensors={k: batch.non_tensor_batch[k].copy() for k in ("raw_prompt", "uid")})
    phaser = XrpoPhaser(n, {"n_base": 2, "seed_threshold": 0.0}, divisor=workers)
    phaser.seeder.record("ex", "What is 1 + 1?", "2", curated=True)
    calls = []

    def rollout(b):
        calls.append(len(b))
        out = fake_rollout(b, workers)
        q = out.batch["responses"][:, 0]
        # prompts 0 and 3 are solved half the time; the others never
        rm = torch.zeros(len(b), 4)
        rm[:, -1] = ((q % 3 == 0) & (torch.arange(len(b)) % 2 == 0)).float()
        out.batch["rm_scores"] = rm
        return out

    combined = gen_batch.repeat(repeat_times=n, interleave=True)  # what fit() hands to generate_sequences
    out = phaser.generate(rollout, combined, decode=lambda i, o: "2")
    assert len(calls) == 3 and all(c % workers == 0 for c in calls)
    assert len(out) == P * n and "timing" in out.meta_info
    assert phaser.last_metrics["seed/seeded_prompts"] >= 1
    assert phaser.allocator.state()["completed_steps"] == 1
    with phaser.repeat_patch():
        other = prompt_batch(2).repeat(repeat_times=3)  # any other repeat is verl's own
        assert len(other) == 6
        merged = batch.repeat(repeat_times=n, interleave=True).union(out)
    assert phaser.pending is None
    for i in range(len(merged)):
        uid = merged.non_tensor_batch["uid"][i]
        assert int(merged.batch["responses"][i, 0]) == int(uid[3:]) == int(merged.batch["input_ids"][i, 0])
    counts = np.bincount([int(u[3:]) for u in merged.non_tensor_batch["uid"]], minlength=P)
    assert counts.sum() == P * n and len(set(counts.tolist())) > 1
    # checkpoint state round trip
    again = XrpoPhaser(n, {"n_base": 2}, divisor=workers)
    again.restore(json.loads(json.dumps(phaser.state())))
    assert again.allocator.state() == phaser.allocator.state() and len(again.seeder) == len(phaser.seeder)
