"""xrpo.MathVerifier / CodeVerifier / Verdict."""

import random
import re

import pytest

import xrpo


def test_math_verdicts():
    m = xrpo.MathVerifier()
    v = m.verify("so the answer is $\\boxed{0.75}$.", "\\frac{3}{4}")
    assert (v.correct, v.reward, v.outcome, v.extracted, v.reason) == (True, 1.0, "correct", "0.75", "passed")
    w = m.verify("The answer is 3/5.", "\\frac{3}{4}")
    assert (w.correct, w.outcome, w.reason, w.score) == (False, "wrong", "wrong_answer", 0.0)
    u = m.verify("\\boxed{1}", "see the figure")
    assert (u.outcome, u.reason, u.score) == ("unverifiable", "unparseable_gold", None)
    n = m.verify("I do not know.", "5")
    assert n.outcome == "wrong" and n.extracted is None
    assert m.verify("#### 42", 42).correct  # int gold
    assert v.to_dict()["correct"] is True
    assert v == m.verify("so the answer is $\\boxed{0.75}$.", "\\frac{3}{4}")
    assert "correct" in repr(v)


def test_verify_batch_keeps_order_and_agrees_with_verify():
    rng = random.Random(0)
    responses, golds = [], []
    for i in range(600):
        a, b = rng.randint(0, 99), rng.randint(0, 99)
        ans = a + b + (0 if rng.random() < 0.5 else rng.randint(1, 3))
        style = rng.choice(["#### {}", "The answer is {}.", "$\\boxed{{{}}}$", "no answer"])
        responses.append(style.format(ans))
        golds.append(str(a + b))
    m = xrpo.MathVerifier()
    batch = m.verify_batch(responses, golds)
    assert len(batch) == 600
    assert batch == [m.verify(r, g) for r, g in zip(responses, golds)]
    expected = [r != "no answer" and re.findall(r"\d+", r)[0] == g for r, g in zip(responses, golds)]
    assert [v.correct for v in batch] == expected


def test_math_config_and_argument_errors():
    assert xrpo.MathVerifier(precision=2).verify("0.333", "1/3").correct
    assert not xrpo.MathVerifier().verify("0.333", "1/3").correct
    with pytest.raises(ValueError, match="precison"):
        xrpo.MathVerifier(precison=2)
    m = xrpo.MathVerifier()
    with pytest.raises(ValueError, match="2 references for 1 responses"):
        m.verify_batch(["1"], ["1", "2"])
    with pytest.raises(TypeError, match="responses"):
        m.verify_batch("1", ["1"])
    with pytest.raises(TypeError, match=r"references\[0\]"):
        m.verify_batch(["1"], [None])
    with pytest.raises(TypeError, match="reference"):
        m.verify("1", {"answer": "1"})


@pytest.fixture(scope="module")
def code():
    try:
        return xrpo.CodeVerifier(min_isolation="rlimits", limits={"timeout_ms": 3000, "cpu_time_s": 3})
    except xrpo.VerificationError as e:
        pytest.skip(f"no sandbox on this machine: {e}")


def test_code_stdio_and_assert(code):
    stdio = {"stdio": [{"input": "2 3\n", "output": "5\n"}, {"input": "10 -4\n", "output": "6\n"}]}
    good = "```python\na, b = map(int, input().split())\nprint(a + b)\n```"
    bad = "```python\na, b = map(int, input().split())\nprint(a - b)\n```"
    loop = "```python\nwhile True: pass\n```"
    out = code.verify_batch([good, bad, loop], [stdio] * 3)
    assert [v.outcome for v in out] == ["correct", "wrong", "wrong"]
    assert out[2].reason == "timeout"
    asserted = {"tests": "def check(f):\n    assert f(2) == 4\n", "entry_point": "sq"}
    assert code.verify("```python\ndef sq(x):\n    return x * x\n```", asserted).correct
    assert not code.verify("```python\ndef sq(x):\n    return x + 1\n```", asserted).correct
    import json
    assert code.verify(good, json.dumps(stdio)).correct
    assert code.isolation in ("rlimits", "namespaces")
    with pytest.raises(ValueError, match="reference"):
        code.verify(good, {"stdin": []})
    with pytest.raises(ValueError, match="config"):
        xrpo.CodeVerifier(limits={"timeout_ms": 0})
