"""xrpo.ExemplarSeeder: record/seed/block, checkpoints, errors."""

import json

import pytest

import xrpo

APPLES = "Tom has 3 apples and buys 4 more. How many apples does he have?"
TRAIN = "A train travels 60 km in 1 hour. How far does it travel in 3 hours?"


def bank(**kw):
    s = xrpo.ExemplarSeeder(**kw)
    assert s.record("a", APPLES, "3 + 4 = 7. The answer is 7.") == "inserted"
    assert s.record("b", TRAIN, "60 * 3 = 180 km.") == "inserted"
    return s


def test_seed_retrieves_the_similar_solved_prompt():
    s = bank(k=1)
    out = s.seed_detailed("c", "Ann has 5 apples and buys 2 more. How many apples does she have?")
    assert out["exemplars"][0]["id"] == "a"
    assert out["text"].startswith("Problem: " + APPLES)
    assert out["text"].endswith("How many apples does she have?\nSolution:")
    assert len(out["exemplars"]) == 1
    strict = bank(k=1, similarity_threshold=0.3)
    assert strict.seed("z", "Translate 'bonjour' into English.") is None
    # The prompt's own entry is never its exemplar.
    own = s.seed_detailed("a", APPLES)
    assert own is None or all(e["id"] != "a" for e in own["exemplars"])


def test_record_outcomes_and_shortest_solution():
    s = bank()
    assert s.record("a", APPLES, "7") == "replaced"
    assert s.record("a", APPLES, "a much longer solution: 3 + 4 = 7") == "kept_existing"
    assert len(s) == 2
    with pytest.raises(ValueError, match="different text"):
        s.record("a", "another text", "1")
    with pytest.raises(ValueError, match="empty"):
        s.record("q", "  ", "1")


def test_block_guards_evaluation_prompts():
    s = bank()
    assert s.block([APPLES.upper()]) == 1  # normalised text match purges the entry
    assert len(s) == 1
    assert s.record("a2", APPLES, "7") == "refused_blocked_text"
    assert s.block_ids(["b"]) == 1 and len(s) == 0
    assert s.record("b", TRAIN, "180") == "refused_blocked_id"
    assert s.stats()["refused_blocked"] == 2


def test_state_round_trip_seeds_identically():
    s = bank(k=2, similarity_threshold=0.05)
    s.block(["What is 6 times 7?"])
    state = json.loads(json.dumps(s.state()))
    assert "What is 6 times 7?" not in json.dumps(state)  # fingerprints only
    t = xrpo.ExemplarSeeder()
    t.restore(state)
    q = "Ann has 5 apples and buys 2 more. How many apples?"
    assert t.seed("c", q) == s.seed("c", q)
    assert len(t) == 2
    assert t.record("e", "what is 6 times 7?", "42") == "refused_blocked_text"
    with pytest.raises(ValueError, match="state"):
        t.restore({"version": 1})


def test_config_keywords_and_errors():
    s = xrpo.ExemplarSeeder(k=1, solution_cap=5, template={"prefix": "Examples:\n"})
    s.record("a", APPLES, "3 + 4 = 7. The answer is 7.")
    out = s.seed_detailed("c", "Ann has 5 apples and buys 2 more. How many apples?")
    assert out["text"].startswith("Examples:\n")
    assert out["exemplars"][0]["truncated"]
    with pytest.raises(ValueError, match="bogus"):
        xrpo.ExemplarSeeder(bogus=1)
    with pytest.raises(ValueError):
        xrpo.ExemplarSeeder(k=0)
    with pytest.raises(ValueError):
        xrpo.ExemplarSeeder(similarity_threshold=2.0)
    with pytest.raises(TypeError, match="prompt_id"):
        s.record(1.5, APPLES, "7")
    # int ids work and equal their str form
    s.record(17, TRAIN, "180")
    assert s.block_ids(["17"]) == 1
