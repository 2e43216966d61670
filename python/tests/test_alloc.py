"""xrpo.XrpoAllocator / FixedAllocator / run_step: budgets by hand, priorities, errors,
checkpoints."""

import numpy as np
import pytest

import xrpo


def test_plan_matches_hand_computed_budgets():
    # B = 16 * 10 = 160; phase 1 = 4 * 10 = 40; 120 split over phases 2 and 3.
    p = xrpo.XrpoAllocator(n_fixed=16).plan(10)
    assert p["counts"].dtype == np.int64
    assert p["counts"].tolist() == [4] * 10
    assert p["phase_budgets"] == [40, 60, 60]
    assert (p["budget"], p["n_base"], p["n_max"], p["phases"]) == (160, 4, 64, 3)
    # 4 phases, n_base 3, B = 8 * 5 = 40: 15 + (25 split as 9, 8, 8).
    p = xrpo.XrpoAllocator(n_fixed=8, n_base=3, phases=4).plan(5)
    assert p["phase_budgets"] == [15, 9, 8, 8]
    assert xrpo.FixedAllocator(6).plan(3)["phase_budgets"] == [18]


def test_allocate_spends_the_budget_and_prefers_uncertain_prompts():
    a = xrpo.XrpoAllocator(n_fixed=16)
    rewards = [[0, 0, 0, 0], [1, 0, 0, 1], [1, 1, 1, 0], [1, 1, 1, 1]]
    extra = a.allocate(rewards, 30)
    assert extra.dtype == np.int64 and extra.shape == (4,)
    assert extra.sum() == 30
    assert extra[1] > extra[0] and extra[1] > extra[3]
    # Deterministic, and allocate does not change state.
    assert a.allocate(rewards, 30).tolist() == extra.tolist()
    # The same statistics given as moments (numpy, Bessel std) give the same grants.
    r = np.array(rewards, dtype=float)
    moments = (np.full(4, 4), r.mean(axis=1), r.std(axis=1, ddof=1))
    assert a.allocate(moments, 30).tolist() == extra.tolist()
    # And as a 2-D array.
    assert a.allocate(r, 30).tolist() == extra.tolist()


def test_unscored_rollouts_count_against_the_cap_but_not_the_stats():
    a = xrpo.XrpoAllocator(n_fixed=4, n_base=2, n_max=4)
    # Prompt 0 already has 4 rollouts (2 unscored): at the cap, it gets nothing.
    extra = a.allocate([[1.0, 0.0, np.nan, None], [1.0, 0.0]], 10)
    assert extra.tolist() == [0, 2]  # the caps bind: 0 + (4 - 2)


def test_budget_zero_and_no_prompts():
    a = xrpo.XrpoAllocator()
    assert a.allocate([[1, 0], [0, 0]], 0).tolist() == [0, 0]
    assert a.allocate([], 5).tolist() == []


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"alpha": 1.5}, "alpha"),
        ({"lam": -1.0}, "lam"),
        ({"n_base": 1}, "n_base"),
        ({"n_fixed": 8, "n_base": 9}, "n_base"),
        ({"phases": 1}, "phases"),
        ({"n_max": 2}, "n_max"),
        ({"clock": "wallclock"}, "clock"),
    ],
)
def test_bad_config_raises_value_error_naming_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        xrpo.XrpoAllocator(**kwargs)


def test_bad_inputs():
    a = xrpo.XrpoAllocator()
    with pytest.raises(ValueError, match="n"):
        xrpo.FixedAllocator(0)
    with pytest.raises(TypeError, match="rewards_per_prompt"):
        a.allocate(5, 3)
    with pytest.raises(TypeError, match=r"rewards_per_prompt\[1\]"):
        a.allocate([[1.0], ["x"]], 3)
    with pytest.raises(ValueError, match="differ in length"):
        a.allocate((np.array([2, 2]), np.array([0.5]), np.array([0.1, 0.1])), 3)
    with pytest.raises(ValueError, match="rewards_per_prompt"):
        a.allocate([[1.0, np.inf]], 3)
    with pytest.raises(ValueError, match="negative"):
        a.allocate((np.array([-1]), np.array([0.5]), np.array([0.1])), 3)
    with pytest.raises(ValueError, match="non-negative") as e:
        a.allocate([[1.0]], -1)
    assert any("budget" in n for n in getattr(e.value, "__notes__", []))
    with pytest.raises(ValueError, match="non-negative"):
        xrpo.XrpoAllocator(n_fixed=-3)
    with pytest.raises(TypeError):
        xrpo.XrpoAllocator(n_fixed="a")


def test_state_round_trip_and_refusal():
    a = xrpo.XrpoAllocator(clock="training_steps")
    a.finish_step()
    a.finish_step()
    st = a.state()
    assert st == {"version": 1, "allocator": "xrpo", "completed_steps": 2}
    b = xrpo.XrpoAllocator(clock="training_steps")
    b.restore(st)
    assert b.state()["completed_steps"] == 2
    # The training-steps clock makes the state matter: same grants after restore.
    rewards = [[0, 0], [1, 0], [1, 1]]
    assert a.allocate(rewards, 20).tolist() == b.allocate(rewards, 20).tolist()
    with pytest.raises(ValueError, match="different allocator"):
        xrpo.FixedAllocator(4).restore(st)
    with pytest.raises(ValueError, match="state"):
        b.restore({"version": 1, "allocator": "xrpo", "completed_steps": 1, "bogus": 0})


def test_run_step_drives_all_phases():
    calls = []

    def generate(phase, counts):
        calls.append((phase, counts.tolist()))
        # prompt 0 always wrong, prompt 1 half right, prompt 2 unscored every third
        out = []
        for q, k in enumerate(counts):
            if q == 0:
                out.append([0.0] * k)
            elif q == 1:
                out.append([float(i % 2) for i in range(k)])
            else:
                out.append([None if i % 3 == 0 else 1.0 for i in range(k)])
        return out

    a = xrpo.XrpoAllocator(n_fixed=8)
    res = xrpo.run_step(a, 3, generate)
    assert [c[0] for c in calls] == [1, 2, 3]
    assert calls[0][1] == [2, 2, 2]
    assert res["rollouts"].sum() == 24
    assert res["rollouts"].tolist() == np.sum([np.array(c[1]) for c in calls], axis=0).tolist()
    assert len(res["phases"]) == 3
    assert res["rollouts"][1] == max(res["rollouts"])  # the uncertain prompt got most
    assert res["means"][0] == 0.0
    assert a.state()["completed_steps"] == 1  # finish_step was called


def test_run_step_checks_the_callback():
    a = xrpo.XrpoAllocator(n_fixed=4)
    with pytest.raises(ValueError, match="generate: phase 1, prompt 0: 1 rewards returned for 2"):
        xrpo.run_step(a, 2, lambda phase, counts: [[1.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="returned 1 prompts, expected 2"):
        xrpo.run_step(a, 2, lambda phase, counts: [[1.0, 0.0]])
    with pytest.raises(TypeError, match="callable"):
        xrpo.run_step(a, 2, 3)

    def boom(phase, counts):
        raise KeyError("from the callback")

    with pytest.raises(KeyError, match="from the callback"):
        xrpo.run_step(a, 2, boom)
    # The allocator is usable from inside the callback (no lock held while it runs).
    seen = []

    def nested(phase, counts):
        seen.append(a.plan(2)["budget"])
        return [[1.0, 0.0] + [1.0] * (k - 2) if k >= 2 else [1.0] * k for k in counts]

    xrpo.run_step(a, 2, nested)
    assert seen == [8, 8, 8]


@pytest.mark.parametrize(
    "kind", ["fixed", "xrpo", "uniform_phased", "dapo_filter", "reinforce_ada", "knapsack"]
)
def test_every_allocator_kind_is_reachable_and_spends_its_budget(kind):
    a = xrpo.Allocator.from_config({"kind": kind, "n_fixed": 8})
    assert a.name == kind
    plan = a.plan(3)
    assert int(plan["budget"]) == 24
    # Grants of a later phase (if any) sum to that phase's budget: one all-wrong prompt,
    # one mixed, one all-right.
    rewards = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]
    if len(plan["phase_budgets"]) > 1:
        grants = a.allocate(rewards, int(plan["phase_budgets"][1]))
        assert int(grants.sum()) == int(plan["phase_budgets"][1])


def test_from_config_refuses_unknown_keys_and_kinds():
    with pytest.raises(ValueError, match="config"):
        xrpo.Allocator.from_config({"kind": "nope"})
    with pytest.raises(ValueError, match="config"):
        xrpo.Allocator.from_config({"kind": "xrpo", "lamda": 0.1})


def test_beta_posterior_variance_gives_all_wrong_prompts_rollouts():
    # With the paper's sample std, two agreeing rewards look certain (s_q = 0), so a mixed
    # prompt takes the grants; the Beta posterior keeps the all-wrong prompt uncertain.
    rewards = [[0.0, 0.0], [1.0, 0.0]]
    paper = xrpo.XrpoAllocator(n_fixed=4, lam=0.0).allocate(rewards, 4)
    beta = xrpo.XrpoAllocator(n_fixed=4, lam=0.0, variance="beta_posterior").allocate(rewards, 4)
    assert paper[0] == 0
    assert beta[0] > 0
    with pytest.raises(ValueError, match="variance"):
        xrpo.XrpoAllocator(variance="bayes")
