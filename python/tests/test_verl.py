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


# --------------------------------------------------------------------------------------
# RayXRPOTrainer's own code without Ray or GPUs: a stand-in rollout manager (the agent
# loop's generate_sequences with the reward loop's rm_scores) and actor worker group
# (save/load_checkpoint), verl's generation-block lines of fit(), verl's compute_advantage
# and verl's _save_checkpoint/_load_checkpoint.

class FakeRolloutManager:
    """Answers "#### <gold>" (correct) for even prompts on even rows, and for any prompt
    whose raw_prompt was seeded with an exemplar; wrong otherwise. Records each call."""

    def __init__(self, tok, divisor, resp_len=8):
        self.tok, self.divisor, self.resp_len = tok, divisor, resp_len
        self.calls = []  # (rows, [(prompt number, user text)])

    def generate_sequences(self, batch):
        if not batch.meta_info.get("validate", False):
            assert len(batch) % self.divisor == 0, (len(batch), self.divisor)
        n = len(batch)
        resp = torch.full((n, self.resp_len), self.tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros(n, self.resp_len, dtype=torch.long)
        rm = torch.zeros(n, self.resp_len)
        seen = []
        for i in range(n):
            gold = batch.non_tensor_batch["reward_model"][i]["ground_truth"]
            q = int(batch.non_tensor_batch["extra_info"][i]["index"])
            text = batch.non_tensor_batch["raw_prompt"][i][-1]["content"]
            seen.append((q, text))
            ok = (q % 2 == 0 and i % 2 == 0) or text.startswith("Problem:")
            ids = self.tok(f"#### {gold if ok else 'x'}")["input_ids"][: self.resp_len]
            resp[i, : len(ids)] = torch.tensor(ids)
            mask[i, : len(ids)] = 1
            rm[i, len(ids) - 1] = float(ok)
        self.calls.append((n, seen))
        out = DataProto.from_dict(tensors={"responses": resp, "response_mask": mask, "rm_scores": rm},
                                  non_tensors={"uid": batch.non_tensor_batch["uid"].copy()})
        out.meta_info["timing"] = {"generate_sequences": 0.01}
        return out


class FakeActorWorkerGroup:
    def __init__(self):
        self.saved, self.loaded = [], []

    def save_checkpoint(self, local_path, hdfs_path=None, global_step=0, max_ckpt_to_keep=None):
        import os

        os.makedirs(local_path, exist_ok=True)
        with open(os.path.join(local_path, "weights.txt"), "w") as f:
            f.write(str(global_step))
        self.saved.append(local_path)

    def load_checkpoint(self, local_path, del_local_after_load=False):
        self.loaded.append(local_path)


class FakeLoader:
    def __init__(self):
        self.state = {"pos": 0}

    def __len__(self):
        return 10

    def state_dict(self):
        return dict(self.state)

    def load_state_dict(self, s):
        self.state = dict(s)


def ray_trainer(tmp_path, P, n, workers, **trainer_cfg):
    import warnings

    from omegaconf import OmegaConf

    from xrpo.verl.trainer import RayXRPOTrainer

    cfg = OmegaConf.create({
        "actor_rollout_ref": {"rollout": {"n": n, "agent": {"num_workers": workers}, "temperature": 1.0},
                              "actor": {"checkpoint": {"async_save": False}}},
        "algorithm": {"adv_estimator": "xrpo", "gamma": 1.0, "lam": 1.0, "norm_adv_by_std_in_grpo": True,
                      "xrpo": {"n_base": 3, "seed_k": 1, "seed_threshold": 0.0}},
        "trainer": {"default_local_dir": str(tmp_path / "ckpt"), "default_hdfs_dir": None, "resume_mode": "auto",
                    "del_local_ckpt_after_load": False, **trainer_cfg},
    })
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # verl marks the legacy RayPPOTrainer deprecated
        tr = RayXRPOTrainer.__new__(RayXRPOTrainer)  # RayPPOTrainer.__init__ builds Ray worker groups
    tr.config, tr.tokenizer, tr.use_critic = cfg, tiny_tokenizer(), False
    tr.actor_rollout_wg, tr.train_dataloader, tr.global_steps = FakeActorWorkerGroup(), FakeLoader(), 0
    tr.xrpo_setup()
    tr.xrpo.seeder.record("ex", "What is 1 + 1?", "#### 2", curated=True)
    return tr


def dataset_batch(P):
    """What verl's dataloader yields for P prompts (before fit adds uids)."""
    raw = np.empty(P, dtype=object)
    for q in range(P):
        raw[q] = [{"role": "user", "content": f"What is {q} + {q}?"}]
    return {"prompt_no": torch.arange(P), "raw_prompt": raw,
            "data_source": np.array(["math"] * P, dtype=object),
            "reward_model": np.array([{"ground_truth": str(2 * q)} for q in range(P)], dtype=object),
            "extra_info": np.array([{"index": q} for q in range(P)], dtype=object)}


def test_ray_xrpo_trainer_generation_block_advantages_and_checkpoint(tmp_path):
    import uuid

    import verl.trainer.ppo.ray_trainer as rt

    P, n, workers = 6, 8, 4
    tr = ray_trainer(tmp_path, P, n, workers)
    manager = FakeRolloutManager(tr.tokenizer, workers)
    tr.xrpo_wrap_rollout(manager)
    tr.xrpo_wrap_rollout(manager)  # idempotent
    plan = xrpo.XrpoAllocator(n_fixed=n, n_base=3).plan(P)

    # verl 0.9.1 RayPPOTrainer.fit, the generation block (ray_trainer.py L1478-1545), under
    # the patches RayXRPOTrainer.fit runs it with.
    tr.global_steps = 1
    with tr.xrpo_fit_patches():
        batch = DataProto.from_single_dict(dataset_batch(P))
        batch.non_tensor_batch["uid"] = np.array([str(uuid.uuid4()) for _ in range(P)], dtype=object)
        gen_batch = tr._get_gen_batch(batch)
        gen_batch.meta_info["global_steps"] = tr.global_steps
        gen_batch_output = gen_batch.repeat(repeat_times=n, interleave=True)
        combined = manager.generate_sequences(gen_batch_output)
        timing = combined.meta_info.pop("timing")
        gen_batch_output = combined.slice(0, len(gen_batch_output))
        batch = batch.repeat(repeat_times=n, interleave=True)
        batch = batch.union(gen_batch_output)
        # reward loop scores -> token_level_rewards; a stand-in for the actor's old log-probs
        batch.batch["token_level_rewards"] = batch.batch["rm_scores"]
        batch.batch["old_log_probs"] = -torch.rand(len(batch), batch.batch["responses"].shape[1],
                                                   generator=torch.Generator().manual_seed(0))
        batch = rt.compute_advantage(batch, adv_estimator="xrpo", gamma=1.0, lam=1.0, num_repeat=n,
                                     norm_adv_by_std_in_grpo=True, config=tr.config.algorithm)
    assert rt.compute_advantage.__module__ == "verl.trainer.ppo.ray_trainer"  # patches undone

    # Phases: one call each, padded to the worker multiple (phase 1: 18 rows -> 20).
    sizes = [c[0] for c in manager.calls]
    assert len(sizes) == len(plan["phase_budgets"]) == 3
    assert all(s % workers == 0 for s in sizes)
    assert sizes[0] == 20 and plan["phase_budgets"][0] == 18
    assert timing["generate_sequences"] == pytest.approx(0.03)
    # Seeding: after phase 1 the odd prompts (all wrong) are asked with the exemplar
    # in their raw_prompt; the even ones (solved) stay plain; fit's prompt rows stay plain.
    for phase, (_, seen) in enumerate(manager.calls):
        for q, text in seen:
            if phase > 0 and q % 2 == 1:
                # an exemplar from the bank (the curated one or a prompt solved in phase 1)
                first = text.split("\n")[0]
                assert first.startswith("Problem: What is ") and first != f"Problem: What is {q} + {q}?", text
                assert "\nSolution: #### " in text and text.endswith(f"Problem: What is {q} + {q}?"), text
            elif q % 2 == 0:
                assert text == f"What is {q} + {q}?"
    assert [m[-1]["content"] for m in gen_batch.non_tensor_batch["raw_prompt"]] == [f"What is {q} + {q}?"
                                                                                   for q in range(P)]
    assert tr.xrpo.last_metrics["seed/seeded_prompts"] == 3 and tr.xrpo.last_metrics["seed/flipped"] == 3
    # The aligned batch: every row's uid, prompt tensor, data columns and response agree.
    assert len(batch) == P * n
    uids = list(dict.fromkeys(batch.non_tensor_batch["uid"]))
    counts = np.array([int((batch.non_tensor_batch["uid"] == u).sum()) for u in uids])
    assert counts.sum() == P * n and len(set(counts.tolist())) > 1
    for i in range(len(batch)):
        q = int(batch.batch["prompt_no"][i])
        assert batch.non_tensor_batch["extra_info"][i]["index"] == q
        assert batch.non_tensor_batch["reward_model"][i]["ground_truth"] == str(2 * q)
        text = tr.tokenizer.decode(batch.batch["responses"][i][batch.batch["response_mask"][i].bool()])
        correct = batch.batch["rm_scores"][i].sum().item() == 1.0
        assert (text.replace(" ", "") == f"####{2 * q}") == correct, (q, text)
    # Advantages: per uid group, GRPO over the rows of the group, sharpening only raising
    # correct rows' advantages (by at most kappa_clip = 0.5).
    adv = batch.batch["advantages"][:, 0].numpy()
    score = batch.batch["rm_scores"].sum(-1).numpy()
    for u in uids:
        rows = batch.non_tensor_batch["uid"] == u
        r = score[rows]
        base = (r - r.mean()) / (r.std(ddof=1) + 1e-6) if len(r) > 1 else r * 0
        np.testing.assert_allclose(adv[rows][base <= 0], base[base <= 0], rtol=1e-4, atol=1e-5)
        up = adv[rows][base > 0]
        assert (up >= base[base > 0] - 1e-5).all() and (up <= 1.5 * base[base > 0] + 1e-4).all()
    # A validation batch goes straight to the rollout.
    val = DataProto.from_dict(tensors={"prompt_no": torch.arange(3)}, non_tensors={
        k: v[:3] for k, v in dataset_batch(P).items() if k != "prompt_no"} | {
        "uid": np.array(["v0", "v1", "v2"], dtype=object)}, meta_info={"validate": True})
    assert len(manager.generate_sequences(val)) == 3 and manager.calls[-1][0] == 3

    # Checkpoint through verl's own _save_checkpoint / _load_checkpoint.
    state = tr.xrpo.state()
    assert state["allocator"]["completed_steps"] == 1 and len(state["seeder"]["entries"]) > 1
    tr._save_checkpoint()
    folder = tmp_path / "ckpt" / "global_step_1"
    assert (folder / "xrpo_state.json").exists() and (folder / "data.pt").exists()
    assert (tmp_path / "ckpt" / "latest_checkpointed_iteration.txt").read_text() == "1"
    fresh = ray_trainer(tmp_path, P, n, workers)
    assert fresh.xrpo.state() != state
    fresh._load_checkpoint()  # resume_mode=auto: verl finds global_step_1
    assert fresh.global_steps == 1 and fresh.actor_rollout_wg.loaded == [str(folder / "actor")]
    assert fresh.xrpo.state() == json.loads(json.dumps(state))
    # resume_mode=resume_path reads the state next to the given folder, not the latest one.
    import shutil

    moved = tmp_path / "moved" / "global_step_1"
    shutil.copytree(folder, moved)
    (folder / "xrpo_state.json").unlink()
    by_path = ray_trainer(tmp_path, P, n, workers, resume_mode="resume_path", resume_from_path=str(moved))
    by_path._load_checkpoint()
    assert by_path.xrpo.state() == fresh.xrpo.state()
