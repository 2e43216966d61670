"""xrpo.advantages against independent numpy formulas, on unequal, shuffled groups."""

import importlib.util

import numpy as np
import pytest

import xrpo

EPS = 1e-4


def reference(rewards, ids, estimator="grpo", seq=None, lam=2.5, kappa=0.5):
    """Per-group numpy computation written from the spec (§3), not from the Rust code."""
    rewards = np.asarray(rewards, dtype=np.float64)
    out = np.zeros(len(rewards))
    for g in dict.fromkeys(ids.tolist()):
        rows = np.flatnonzero(ids == g)
        scored = rows[~np.isnan(rewards[rows])]
        if len(scored) < 2:
            continue
        r = rewards[scored]
        if estimator in ("grpo", "xrpo"):
            a = (r - r.mean()) / (r.std(ddof=1) + EPS)
        elif estimator == "dr_grpo":
            a = r - r.mean()
        elif estimator == "rloo":
            a = np.array([r[i] - np.delete(r, i).mean() for i in range(len(r))])
        if np.all(r == r[0]):
            a = np.zeros_like(r)
        if estimator == "xrpo":
            s = seq[scored].astype(np.float64)
            sbar = s.mean()
            bonus = np.where(a > 0, np.minimum(np.maximum(lam * (1 - np.exp(s - sbar)), 0), kappa * a), 0)
            a = a + bonus
        out[scored] = a
    return out


def random_batch(rng, groups=40, missing=0.1):
    sizes = rng.integers(1, 12, size=groups)
    ids = np.repeat(rng.permutation(10_000)[:groups], sizes)
    rewards = rng.integers(0, 2, size=len(ids)).astype(np.float32)
    rewards[rng.random(len(ids)) < missing] = np.nan
    perm = rng.permutation(len(ids))  # rows of a group are scattered
    seq = -rng.random(len(ids)).astype(np.float32) * 2
    return rewards[perm], ids[perm], seq[perm]


@pytest.mark.parametrize("estimator", ["grpo", "dr_grpo", "rloo", "xrpo"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_the_formulas_on_unequal_shuffled_groups(estimator, seed):
    rng = np.random.default_rng(seed)
    rewards, ids, seq = random_batch(rng)
    adv, stats = xrpo.advantages(rewards, ids, seq, estimator=estimator)
    assert adv.dtype == np.float32 and adv.shape == rewards.shape
    np.testing.assert_allclose(adv, reference(rewards, ids, estimator, seq), rtol=1e-5, atol=1e-5)
    assert np.all(adv[np.isnan(rewards)] == 0)
    assert stats["responses"] == len(rewards)
    assert stats["missing_rewards"] == int(np.isnan(rewards).sum())
    assert stats["groups"] == len(set(ids.tolist()))


def test_float64_rewards_and_contiguous_groups_give_the_same_answer():
    rng = np.random.default_rng(5)
    rewards, ids, _ = random_batch(rng, missing=0.0)
    order = np.argsort(ids, kind="stable")
    a1, _ = xrpo.advantages(rewards, ids)
    a2, _ = xrpo.advantages(rewards[order].astype(np.float64), ids[order])
    np.testing.assert_array_equal(a1[order], a2)


def test_degenerate_groups_and_stats():
    r = np.array([1, 1, 1, 0, np.nan, 1], np.float32)
    g = np.array([0, 0, 0, 1, 1, 2])
    adv, stats = xrpo.advantages(r, g)
    assert adv.tolist() == [0, 0, 0, 0, 0, 0]
    assert stats["zero_std_groups"] == 1
    assert stats["undersized_groups"] == 2
    assert stats["missing_rewards"] == 1
    assert stats["metrics"]["frac_reward_zero_std"] == pytest.approx(1 / 3)


def test_string_ids_like_verl_uids():
    r = np.array([1, 0, 0, 1], np.float32)
    uids = np.array(["u1", "u2", "u1", "u2"], dtype=object)
    adv, _ = xrpo.advantages(r, uids)
    np.testing.assert_allclose(adv, reference(r, np.array([0, 1, 0, 1])), rtol=1e-6)


def test_torch_tensors_are_read_without_a_copy():
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed")
    import torch

    t = torch.tensor([1.0, 0.0, 1.0, 1.0])
    view = xrpo.as_numpy(t, "rewards")
    assert np.shares_memory(view, t.numpy())
    adv, _ = xrpo.advantages(t, torch.tensor([0, 0, 1, 1]))
    np.testing.assert_allclose(adv, reference(t.numpy(), np.array([0, 0, 1, 1])), rtol=1e-6)


def test_errors_name_the_argument():
    r = np.array([1, 0], np.float32)
    with pytest.raises(ValueError, match="group_ids"):
        xrpo.advantages(r, np.array([0, 0, 0]))
    with pytest.raises(ValueError, match=r"rewards\[1\] = inf"):
        xrpo.advantages(np.array([1, np.inf], np.float32), np.array([0, 0]))
    with pytest.raises(ValueError, match="estimator"):
        xrpo.advantages(r, np.array([0, 0]), estimator="ppo")
    with pytest.raises(ValueError, match="seq_logprobs"):
        xrpo.advantages(r, np.array([0, 0]), estimator="xrpo")
    with pytest.raises(ValueError, match=r"seq_logprobs\[0\]"):
        xrpo.advantages(r, np.array([0, 0]), np.array([np.nan, 0.0]), estimator="xrpo")
    with pytest.raises(ValueError, match="scale"):
        xrpo.advantages(r, np.array([0, 0]), scale="row")
    with pytest.raises(ValueError, match="1-D"):
        xrpo.advantages(np.ones((2, 2)), np.array([0, 0]))
    with pytest.raises(TypeError, match="rewards"):
        xrpo.advantages(np.array(["a", "b"]), np.array([0, 0]))
    with pytest.raises(ValueError, match="epsilon"):
        xrpo.advantages(r, np.array([0, 0]), epsilon=-1.0)


def test_batch_scale_uses_the_batch_std():
    r = np.array([1, 0, 0, 0, 1, 1, 0, 1], np.float32)
    g = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    adv, _ = xrpo.advantages(r, g, scale="batch")
    means = np.array([0.25] * 4 + [0.75] * 4)
    np.testing.assert_allclose(adv, (r - means) / (r.std(ddof=1) + EPS), rtol=1e-6)


@pytest.mark.parametrize("ids", [[3, 3, 1, 1, 1, 2], [1, 1, 1, 2, 3, 3], [1, 3, 1, 2, 1, 3]])
def test_sorted_contiguous_and_scattered_ids_agree(ids):
    # The three grouping paths (sorted, contiguous runs, scattered) give the formula.
    ids = np.array(ids)
    r = np.array([1, 0, 0, 1, 1, 0], np.float32)
    adv, _ = xrpo.advantages(r, ids)
    np.testing.assert_allclose(adv, reference(r, ids), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("estimator", ["grpo", "rloo", "xrpo"])
def test_threaded_large_batch_matches_the_formula(estimator):
    # > 2 x 65536 rows so the call splits into several threads at group boundaries;
    # unequal groups and a few scattered rows take the permuted path too.
    rng = np.random.default_rng(7)
    sizes = rng.integers(1, 20, size=16_000)
    ids = np.repeat(np.arange(len(sizes)), sizes)
    ids[:50] = ids[:50][::-1]  # some groups no longer contiguous
    r = rng.integers(0, 2, size=len(ids)).astype(np.float64)
    r[rng.random(len(ids)) < 0.05] = np.nan
    s = -rng.random(len(ids)).astype(np.float32)
    a1, st1 = xrpo.advantages(r, ids, s, estimator=estimator, threads=1)
    a4, st4 = xrpo.advantages(r, ids, s, estimator=estimator, threads=4)
    np.testing.assert_array_equal(a1, a4)
    assert {k: v for k, v in st1.items() if k not in ("bonus_sum", "metrics")} == \
        {k: v for k, v in st4.items() if k not in ("bonus_sum", "metrics")}
    head = np.isin(ids, np.unique(ids[:200]))  # check a slice against the reference
    np.testing.assert_allclose(a4[head], reference(r[head], ids[head], estimator, s[head]), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="threads"):
        xrpo.advantages(r, ids, threads=0)


@pytest.mark.parametrize("scale_ids", [1, 10**12])  # small ints: counting sort; wide: hashing
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint32])
def test_every_grouping_path_and_id_dtype_gives_the_formula(scale_ids, dtype):
    if scale_ids > 1 and dtype != np.int64:
        pytest.skip("wide ids need int64")
    rng = np.random.default_rng(11)
    rewards, ids, seq = random_batch(rng)
    ids = (ids.astype(np.int64) * scale_ids).astype(dtype)
    for est in ("grpo", "xrpo"):
        adv, stats = xrpo.advantages(rewards, ids, seq, estimator=est)
        np.testing.assert_allclose(adv, reference(rewards, ids, est, seq), rtol=1e-5, atol=1e-5)
        assert stats["groups"] == len(set(ids.tolist()))
        # The same batch sorted by id takes the no-permutation path: same numbers.
        order = np.argsort(ids, kind="stable")
        adv_sorted, _ = xrpo.advantages(rewards[order], ids[order], seq[order], estimator=est)
        np.testing.assert_allclose(adv_sorted, adv[order], rtol=1e-6, atol=1e-7)


def test_output_is_a_fresh_owned_float32_array():
    r = np.array([1, 0, 1, 0], np.float32)
    adv, _ = xrpo.advantages(r, np.zeros(4, np.int64))
    assert adv.dtype == np.float32 and adv.flags.c_contiguous and adv.flags.writeable
    assert not np.shares_memory(adv, r)
    adv[0] = 5.0  # writable, and the next call is unaffected
    adv2, _ = xrpo.advantages(r, np.zeros(4, np.int64))
    assert adv2[0] != 5.0


def test_errors_name_the_input_row_on_every_path():
    # Scattered ids (permuted path): the error names the row in the caller's order.
    r = np.array([1, 0, 1, np.inf, 0], np.float32)
    with pytest.raises(ValueError, match=r"rewards\[3\] = inf"):
        xrpo.advantages(r, np.array([2, 1, 2, 1, 2]))
    # float64 beyond float32's range is reported with its value as given.
    with pytest.raises(ValueError, match=r"rewards\[1\] = 1e300 is not a finite float32"):
        xrpo.advantages(np.array([1.0, 1e300]), np.array([0, 0]))
    # A NaN log-prob of a missing reward is never read; of a scored reward it is named.
    r = np.array([1, np.nan, 0, 1], np.float32)
    s = np.array([-0.1, np.nan, -0.3, -0.4], np.float32)
    adv, _ = xrpo.advantages(r, np.array([0, 0, 0, 0]), s, estimator="xrpo")
    assert adv[1] == 0
    s[3] = np.nan
    with pytest.raises(ValueError, match=r"seq_logprobs\[3\]"):
        xrpo.advantages(r, np.array([5, 0, 0, 5]), s, estimator="xrpo")
    # Threaded: a bad row in the second half is named by its global index.
    n = 300_000
    r = np.zeros(n, np.float32)
    r[::3] = 1
    r[250_001] = -np.inf
    with pytest.raises(ValueError, match=r"rewards\[250001\] = -inf"):
        xrpo.advantages(r, np.repeat(np.arange(n // 16 + 1), 16)[:n], threads=2)


def test_zero_length_responses_get_no_bonus_and_leave_s_bar_on_every_path():
    # Reference with lengths: s̄ over scored, non-empty responses; no bonus for empty ones.
    rng = np.random.default_rng(3)
    rewards, ids, seq = random_batch(rng)
    lengths = rng.integers(0, 4, size=len(rewards))  # a quarter are empty
    want = np.zeros(len(rewards))
    for g in set(ids.tolist()):
        rows = np.flatnonzero(ids == g)
        scored = rows[~np.isnan(rewards[rows])]
        if len(scored) < 2 or np.all(rewards[scored] == rewards[scored][0]):
            continue
        r = rewards[scored].astype(np.float64)
        a = (r - r.mean()) / (r.std(ddof=1) + EPS)
        ok = lengths[scored] > 0
        sbar = seq[scored][ok].astype(np.float64).mean() if ok.any() else 0.0
        raw = np.maximum(2.5 * (1 - np.exp(seq[scored] - sbar)), 0)
        want[scored] = a + np.where((a > 0) & ok, np.minimum(raw, 0.5 * a), 0)
    order = np.argsort(ids, kind="stable")
    for perm in (np.arange(len(ids)), order):  # scattered rows, then sorted ids
        adv, stats = xrpo.advantages(rewards[perm], ids[perm], seq[perm], estimator="xrpo", lengths=lengths[perm])
        np.testing.assert_allclose(adv, want[perm], rtol=1e-5, atol=1e-5)
    bonused = want - reference(rewards, ids, "grpo") > 1e-6
    assert 0 < stats["bonused_responses"] == int(bonused.sum())
    assert not np.any(bonused & (lengths == 0))
