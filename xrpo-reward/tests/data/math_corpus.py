#!/usr/bin/env python3
"""Writes math-corpus.jsonl: our own labelled cases for the math verifier.

Every case is written here by hand or from a template (no case is copied from another
project): gold, response, expected outcome ("correct" / "wrong" / "unverifiable"),
category, and the source whose answer format or documented grading rule it follows.
Labels come from the mathematics (the templates put equal values in different forms, or
perturb a value), never from running the verifier.

    python3 xrpo-reward/tests/data/math_corpus.py   # rewrites math-corpus.jsonl
"""
import json
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "math-corpus.jsonl")

SRC = {
    "math": "MATH (Hendrycks et al. 2021): gold = content of the solution's last \\boxed{}; hendrycks/math modeling/math_equivalence.py",
    "math_sol": "MATH (Hendrycks et al. 2021): the `solution` field, a worked solution ending in \\boxed{}",
    "gsm8k": "GSM8K (Cobbe et al. 2021): answer field 'reasoning #### N'; grade-school-math dataset.py extracts after '####'",
    "aime": "AIME 1983-2024 sets (e.g. AI-MO/aimo-validation-aime): integer answers 0-999",
    "olympiad": "OlympiadBench (He et al. 2024): final_answer list of $...$ strings; prompt asks 'So the final answer is \\boxed{}'",
    "amc": "MATH / AMC problems: golds such as \\text{(B)}; AMC solutions mark \\textbf{(B)}",
    "aqua": "AQuA-RAT (Ling et al. 2017): options 'A)…E)', correct field a letter",
    "mmlu": "MMLU-style letters; openai/simple-evals common.py ANSWER_PATTERN_MULTICHOICE 'Answer: X'",
    "minerva": "lm-evaluation-harness minerva_math: 'Final Answer: The final answer is X. I hope it is correct.'; normalize_final_answer removes units",
    "prm800k": "openai/prm800k grading/grader.py: tuples/intervals element-wise, \\text{} units removed, sympy equality",
    "qwen": "QwenLM/Qwen2.5-Math evaluation/parser.py: 'The answer is', boxed, choice extraction; grader.py math_equal",
    "deepseek": "deepseek-ai/DeepSeek-Math evaluation: boxed answers, 'The answer is' for chain-of-thought",
    "simple_evals": "openai/simple-evals math_eval / common.py: 'Answer: X' on the last line",
    "hendrycks": "hendrycks/math math_equivalence.py _strip_string: units \\text{ } removed, \\$ and % stripped, 0.5 -> .5",
    "mathverify": "huggingface/Math-Verify README: gold parsed, relative tolerance, sets unordered",
    "issue13": "xrpo issue 13 (a new user's report)",
    "issue14": "xrpo issue 14 (hostile test)",
    "own": "written for this verifier's documented rules (see math/mod.rs, equivalence.rs)",
}

cases = []


def add(cat, src, gold, response, expected, config=None, note=None):
    assert expected in ("correct", "wrong", "unverifiable")
    c = {
        "id": f"c{len(cases):04d}",
        "category": cat,
        "source": SRC[src],
        "gold": gold,
        "response": response,
        "expected": expected,
    }
    if config:
        c["config"] = config
    if note:
        c["note"] = note
    cases.append(c)


# ---- 1. gold-form invariance: the same answer as a bare / $ / boxed / \( \) gold -----------
answers = [
    # (answer, an equal form, a wrong form)
    ("5", "5.0", "6"),
    ("-3", "-3", "3"),
    ("\\frac{1}{2}", "0.5", "\\frac{1}{3}"),
    ("\\frac{3}{4}", "\\dfrac{3}{4}", "\\frac{4}{3}"),
    ("2\\sqrt{3}", "\\sqrt{12}", "3\\sqrt{2}"),
    ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}", "\\sqrt{2}"),
    ("3\\pi", "3\\pi", "3"),
    ("\\frac{\\pi}{4}", "\\frac{1}{4}\\pi", "\\frac{\\pi}{2}"),
    ("(1, 2)", "(1,2)", "(2, 1)"),
    ("(-1, 3)", "\\left(-1, 3\\right)", "(1, 3)"),
    ("(0, 1, -2)", "(0,1,-2)", "(0, -1, -2)"),
    ("[0, 5)", "[0,5)", "(0, 5)"),
    ("(-\\infty, 2]", "(-\\infty,2]", "(-\\infty, 2)"),
    ("(-\\infty, -1) \\cup (1, \\infty)", "(-\\infty,-1)\\cup(1,\\infty)", "(-1, 1)"),
    ("\\{1, 2, 3\\}", "\\{3, 2, 1\\}", "\\{1, 2\\}"),
    ("1, 2", "2, 1", "1"),
    ("-2, 5", "5, -2", "2, 5"),
    ("x + 1", "1 + x", "x - 1"),
    ("2x + 3", "3 + 2x", "2x - 3"),
    ("x^2 - 4", "(x-2)(x+2)", "x^2 + 4"),
    ("y = 2x + 3", "y = 3 + 2x", "y = 2x - 3"),
    ("x + y = 5", "y + x = 5", "x - y = 5"),
    ("x \\geq 0", "x \\ge 0", "x > 0"),
    ("-2 < x < 3", "-2 < x < 3", "-2 \\le x < 3"),
    ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{pmatrix} 1 & 3 \\\\ 2 & 4 \\end{pmatrix}"),
    ("\\begin{pmatrix} 2 \\\\ -1 \\end{pmatrix}", "\\begin{pmatrix}2\\\\-1\\end{pmatrix}", "\\begin{pmatrix} -1 \\\\ 2 \\end{pmatrix}"),
    ("\\text{Evelyn}", "\\text{Evelyn}", "\\text{Angela}"),
    ("12\\%", "12\\%", "13\\%"),
    ("10!", "3628800", "9!"),
    ("\\binom{6}{2}", "15", "\\binom{6}{3}"),
    ("3 + 4i", "4i + 3", "3 - 4i"),
    ("1000000", "10^6", "100000"),
    ("0.125", "\\frac{1}{8}", "0.25"),
    ("\\sqrt[3]{2}", "2^{1/3}", "\\sqrt{2}"),
    ("a^2 + b^2", "b^2 + a^2", "a^2 - b^2"),
]
for ans, eq, bad in answers:
    for gold in (ans, f"${ans}$", f"\\boxed{{{ans}}}", f"\\({ans}\\)"):
        add("gold_form", "math", gold, f"Working through it, we find \\boxed{{{eq}}}.", "correct")
    add("gold_form", "math", ans, f"The answer is ${eq}$.", "correct")
    add("gold_form", "math", ans, f"So the final answer is \\boxed{{{bad}}}.", "wrong")
    add("gold_form", "math", f"${ans}$", f"The answer is ${bad}$.", "wrong")

# ---- 2. GSM8K ------------------------------------------------------------------------------
gsm = [
    ("Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72", "72", "71"),
    ("Weng earns 12/60 = $<<12/60=0.2>>0.2 per minute.\nWorking 50 minutes, she earned 0.2 x 50 = $<<0.2*50=10>>10.\n#### 10", "10", "0.2"),
    ("The total is 1,200 + 300 = <<1200+300=1500>>1,500.\n#### 1500", "1,500", "1,050"),
    ("He loses 5 - 7 = <<5-7=-2>>-2 dollars.\n#### -2", "-2", "2"),
]
for gold, right, wrong in gsm:
    add("gsm8k", "gsm8k", gold, f"Let me compute step by step.\nSo the total is {right}.\n#### {right}", "correct")
    add("gsm8k", "gsm8k", gold, f"Step 1: we get $n = 16$ first.\nThe answer is {right}.", "correct")
    add("gsm8k", "gsm8k", gold, f"Thus the answer is \\boxed{{{right}}}.", "correct")
    add("gsm8k", "gsm8k", gold, f"So the total is {wrong}.\n#### {wrong}", "wrong")
for gold, resp, exp in [
    ("72", "She sold $48 + 24 = 72$ clips.\n#### 72", "correct"),
    ("72", "First $n = 16$, then 16 + 56 = 72.\n#### 72", "correct"),
    ("43", "We had $n = 16$ earlier.\n#### 43", "correct"),
    ("43", "We had $n = 16$ earlier.\n#### 42", "wrong"),
    ("18", "Janet makes 9 * 2 = $18 every day.\n#### 18", "correct"),
    ("18", "Janet makes $18 every day.", "correct"),
    ("18", "Janet makes $18.00 every day at the market.", "correct"),
    ("1000", "The answer is 1,000.", "correct"),
    ("1000", "The answer is 1 000.", "correct"),
    ("1000", "The answer is 10,000.", "wrong"),
    ("5", "The answer is 5 apples.", "correct"),
    ("5", "There are 5 apples left, so 5 - 2 = 3.\n#### 3", "wrong"),
    ("3", "There are 5 apples left, so 5 - 2 = 3.\n#### 3", "correct"),
    ("12", "**Answer:** 12", "correct"),
    ("12", "**Answer: 12**", "correct"),
    ("12", "Answer: **12**", "correct"),
    ("12", "Final Answer: **12**", "correct"),
    ("12", "Final Answer: **21**", "wrong"),
    ("-43", "Answer: −43", "correct"),
    ("-43", "Answer: 43", "wrong"),
    ("7", "The answer is +7.", "correct"),
    ("-7", "The answer is +7.", "wrong"),
    ("0.5", "The answer is .5", "correct"),
    ("40", "The answer is \\$40.", "correct"),
    ("40", "The answer is $40.00.", "correct"),
    ("40", "The answer is 40 dollars.", "correct"),
    ("40", "The answer is 41 dollars.", "wrong"),
    ("\\$40", "#### 40", "correct"),
    ("$40.00", "So she pays \\boxed{40}.", "correct"),
    ("$40.00", "So she pays \\boxed{\\$40}.", "correct"),
    ("$40.00", "So she pays \\boxed{\\$45}.", "wrong"),
]:
    add("gsm8k", "gsm8k", gold, resp, exp)

# ---- 3. final-answer forms ----------------------------------------------------------------
forms = [
    ("2x + 3", "Answer: 2x + 3", "correct"),
    ("2x + 3", "Answer: 2x + 4", "wrong"),
    ("2x + 3", "Answer: 2", "wrong"),
    ("x^2+x-6", "Final Answer: (x-2)(x+3)", "correct"),
    ("73", "The final answer is 73.", "correct"),
    ("73", "The final answer is $73$. I hope it is correct.", "correct"),
    ("73", "Final Answer: The final answer is $73$. I hope it is correct.", "correct"),
    ("73", "Final Answer: The final answer is $37$. I hope it is correct.", "wrong"),
    ("73", "**Final Answer**\n\\[\n\\boxed{73}\n\\]", "correct"),
    ("73", "**Final Answer**\n\\[\n\\boxed{74}\n\\]", "wrong"),
    ("73", "We first get $x = 5$ and $y = 12$. Answer: 73", "correct"),
    ("5", "We first get $x = 5$ and $y = 12$. Answer: 73", "wrong"),
    ("16", "Earlier $n = 16$ but that was a mistake.\n#### 43", "wrong"),
    ("43", "Earlier $n = 16$ but that was a mistake.\n#### 43", "correct"),
    ("3", "First \\boxed{2}. Wait, I made an error. Recomputing: \\boxed{3}", "correct"),
    ("2", "First \\boxed{2}. Wait, I made an error. Recomputing: \\boxed{3}", "wrong"),
    ("\\frac{1}{2}", "The answer is: $\\frac{1}{2}$", "correct"),
    ("\\frac{1}{2}", "The answer is \\(\\frac{1}{2}\\).", "correct"),
    ("\\frac{1}{2}", "Therefore, the answer is $\\boxed{\\frac12}$.", "correct"),
    ("\\frac{1}{2}", "Therefore, the answer is $\\boxed{\\frac13}$.", "wrong"),
    ("10", "Answer: 10.", "correct"),
    ("10", "answer: 10", "correct"),
    ("10", "ANSWER: 10", "correct"),
    ("-5", "The answer is −5.", "correct"),
    ("-5", "\\boxed{−5}", "correct"),
    ("-5", "\\boxed{5}", "wrong"),
    ("x + 1", "The answer is x + 1.", "correct"),
    ("x + 1", "Answer: x+1", "correct"),
    ("x + 1", "Answer: x-1", "wrong"),
    ("3", "So the value is 3.", "correct"),
    ("12", "I think it is 12, but I am not sure. Answer: 12", "correct"),
    ("y = 2x + 3", "Answer: y = 2x + 3", "correct"),
    ("y = 2x + 3", "Answer: y = 2x - 3", "wrong"),
    ("\\sqrt{2}", "Answer: sqrt(2)", "correct"),
    ("\\sqrt{2}", "Answer: √2", "correct"),
    ("2", "The answer is **2**.", "correct"),
    ("2", "The answer is **3**.", "wrong"),
]
for gold, resp, exp in forms:
    add("final_answer_forms", "qwen" if "answer is" in resp.lower() else "simple_evals", gold, resp, exp)

# no final answer where one is required
strict = {"try_extract_without_anchor": False}
for gold, resp, exp in [
    ("12", "We compute 3 * 4 = 12 and stop here", "wrong"),
    ("12", "We compute 3 * 4 and so \\boxed{12}", "correct"),
    ("12", "We compute 3 * 4.\nAnswer: 12", "correct"),
    ("12", "We compute 3 * 4.\n#### 12", "correct"),
    ("12", "The result, $12$, follows", "wrong"),
]:
    add("requires_final_answer", "simple_evals", gold, resp, exp, config=strict)
for gold, resp in [("12", "I do not know."), ("12", ""), ("\\frac{1}{2}", "No idea, sorry!")]:
    add("no_answer", "own", gold, resp, "wrong")

# ---- 4. multiple choice -------------------------------------------------------------------
for gold in ["B", "(B)", "\\text{(B)}", "\\textbf{(B)}", "B."]:
    for resp, exp in [
        ("The answer is (B).", "correct"),
        ("\\boxed{B}", "correct"),
        ("\\boxed{(B)}", "correct"),
        ("\\boxed{\\text{(B)}}", "correct"),
        ("Thus the answer is $\\textbf{(B) } 15$", "correct"),
        ("Answer: B", "correct"),
        ("After checking each option, the correct choice is\nB.", "correct"),
        ("The answer is (C).", "wrong"),
        ("\\boxed{D}", "wrong"),
        ("Answer: A", "wrong"),
    ]:
        add("multiple_choice", "amc" if "text" in gold else "aqua", gold, resp, exp)
for gold, resp, exp in [
    ("C", "Options: A) 12 B) 15 C) 18 D) 21\nWe get 18, so the answer is C.", "correct"),
    ("C", "We get 18, so the answer is C) 18", "correct"),
    ("C", "We get 18, so the answer is (A) 12", "wrong"),
    ("D", "Answer: D", "correct"),
    ("D", "Answer: $D$", "correct"),
    ("D", "Answer: **D**", "correct"),
    ("A", "The correct option is A.", "correct"),
    ("A", "The correct option is E.", "wrong"),
    ("E", "(A) 1 (B) 2 (C) 3 (D) 4 (E) 5\n\\boxed{5}", "correct"),
    ("E", "(A) 1 (B) 2 (C) 3 (D) 4 (E) 5\n\\boxed{4}", "wrong"),
    ("B", "I could not decide.", "wrong"),
]:
    add("multiple_choice", "mmlu", gold, resp, exp)
# option text as the gold
for gold, resp, exp in [
    ("15", "The options are (A) 12 (B) 15 (C) 18 (D) 21. The answer is (B).", "correct"),
    ("15", "The options are (A) 12 (B) 15 (C) 18 (D) 21. The answer is (C).", "wrong"),
    ("\\frac{1}{2}", "A. 1/3\nB. 1/2\nC. 2/3\nThe answer is B", "correct"),
    ("\\frac{1}{2}", "A. 1/3\nB. 1/2\nC. 2/3\nThe answer is C", "wrong"),
]:
    add("multiple_choice", "qwen", gold, resp, exp)

# ---- 5. equivalence: polynomials ------------------------------------------------------------
for g, p, exp in [
    ("2(a+b)", "2a+2b", "correct"),
    ("2(a+b)", "2a+b", "wrong"),
    ("(x-2)(x+3)", "x^2+x-6", "correct"),
    ("x^2+x-6", "(x-2)(x+3)", "correct"),
    ("x^2+x-6", "(x+2)(x-3)", "wrong"),
    ("3x+2x", "5x", "correct"),
    ("5x", "3x+2x", "correct"),
    ("5x", "6x", "wrong"),
    ("(a+b)^2", "a^2+2ab+b^2", "correct"),
    ("(a+b)^2", "a^2+b^2", "wrong"),
    ("(x+1)^3", "x^3+3x^2+3x+1", "correct"),
    ("(x+1)^3", "x^3+3x^2+3x-1", "wrong"),
    ("x^2y+xy^2", "xy(x+y)", "correct"),
    ("x^2y+xy^2", "xy(x-y)", "wrong"),
    ("\\frac{x}{2}+\\frac{x}{3}", "\\frac{5x}{6}", "correct"),
    ("\\frac{x}{2}+\\frac{x}{3}", "\\frac{2x}{5}", "wrong"),
    ("(2n+1)^2 - (2n-1)^2", "8n", "correct"),
    ("4n^2+4n+1", "(2n+1)^2", "correct"),
    ("4n^2+4n+1", "(2n-1)^2", "wrong"),
    ("a^3-b^3", "(a-b)(a^2+ab+b^2)", "correct"),
    ("a^3-b^3", "(a-b)(a^2-ab+b^2)", "wrong"),
    ("\\frac{x^2-1}{x-1}", "x+1", "correct"),
    ("x^{10} + 10^{-9} x", "x^{10}", "wrong"),
]:
    add("polynomial", "prm800k", f"${g}$", f"Simplifying, \\boxed{{{p}}}", exp)

# ---- 6. equations -------------------------------------------------------------------------
for g, p, exp in [
    ("y = 2x + 3", "y = 3 + 2x", "correct"),
    ("y = 2x + 3", "2y = 4x + 6", "correct"),
    ("y = 2x + 3", "y - 2x = 3", "correct"),
    ("y = 2x + 3", "y = 2x + 4", "wrong"),
    ("x - y = 4", "y = -x + 4", "wrong"),
    ("x - y = 4", "y = x - 4", "correct"),
    ("x - y = 4", "4 = x - y", "correct"),
    ("x + y = 5", "x - y = 5", "wrong"),
    ("x + y = 5", "5", "wrong"),
    ("2x + 3y = 6", "y = 2 - \\frac{2}{3}x", "correct"),
    ("2x + 3y = 6", "y = 2 - \\frac{3}{2}x", "wrong"),
    ("x^2 + y^2 = 25", "y^2 + x^2 = 25", "correct"),
    ("x^2 + y^2 = 25", "x^2 + y^2 = 5", "wrong"),
    ("(x-1)^2 + (y+2)^2 = 9", "x^2 - 2x + y^2 + 4y - 4 = 0", "correct"),
    ("(x-1)^2 + (y+2)^2 = 9", "x^2 - 2x + y^2 + 4y + 4 = 0", "wrong"),
    ("x = 5", "5", "correct"),
    ("x = 5", "x = 6", "wrong"),
    ("5", "x = 5", "correct"),
    ("y = 3x", "y = 3x + 0", "correct"),
    ("y = -\\frac{1}{2}x + 4", "x + 2y = 8", "correct"),
    ("y = -\\frac{1}{2}x + 4", "x + 2y = 4", "wrong"),
]:
    add("equations", "mathverify", g, f"The line is \\boxed{{{p}}}.", exp)

# ---- 7. inequalities and intervals ---------------------------------------------------------
for g, p, exp in [
    ("x \\geq 0", "[0, \\infty)", "correct"),
    ("[0, \\infty)", "x \\geq 0", "correct"),
    ("x \\geq 0", "(0, \\infty)", "wrong"),
    ("[0, \\infty)", "x > 0", "wrong"),
    ("-2 < x < 3", "(-2, 3)", "correct"),
    ("(-2, 3)", "-2 < x < 3", "correct"),
    ("-2 < x < 3", "[-2, 3)", "wrong"),
    ("(-2, 3)", "-2 \\le x < 3", "wrong"),
    ("x < 1", "(-\\infty, 1)", "correct"),
    ("x < 1", "(-\\infty, 1]", "wrong"),
    ("(-\\infty, -1) \\cup (1, \\infty)", "x < -1 \\text{ or } x > 1", "correct"),
    ("(-\\infty, -1) \\cup (1, \\infty)", "|x| > 1", "correct"),
    ("(-\\infty, -1) \\cup (1, \\infty)", "|x| \\ge 1", "wrong"),
    ("[-3, 3]", "|x| \\le 3", "correct"),
    ("[-3, 3]", "-3 \\le x \\le 3", "correct"),
    ("[-3, 3]", "-3 < x \\le 3", "wrong"),
    ("x > 2", "2 < x", "correct"),
    ("x > 2", "x > -2", "wrong"),
    ("x \\le 5", "5 \\ge x", "correct"),
    ("(1, 4]", "(1,4]", "correct"),
    ("(1, 4]", "[1,4]", "wrong"),
]:
    add("inequalities_intervals", "prm800k", f"${g}$", f"The solution set is \\boxed{{{p}}}.", exp)

# ---- 8. sets, tuples, multiple answers -----------------------------------------------------
for g, p, exp in [
    ("1, 2", "x = 1, 2", "correct"),
    ("1, 2", "x=1 \\text{ or } x=2", "correct"),
    ("1, 2", "\\{1,2\\}", "correct"),
    ("1, 2", "2, 1", "correct"),
    ("1, 2", "1", "wrong"),
    ("1, 2", "2", "wrong"),
    ("1, 2", "1, 2, 3", "wrong"),
    ("\\{-1, 3\\}", "x = -1 \\text{ and } x = 3", "correct"),
    ("\\{-1, 3\\}", "x = 3", "wrong"),
    ("x = 2, x = -2", "\\pm 2", "correct"),
    ("\\pm 2", "2", "wrong"),
    ("1 \\pm \\sqrt{2}", "1+\\sqrt{2}, 1-\\sqrt{2}", "correct"),
    ("1 \\pm \\sqrt{2}", "1+\\sqrt{2}", "wrong"),
    ("(1, 2)", "(2, 1)", "wrong"),
    ("(1, 2)", "(1, 2)", "correct"),
    ("(3, -4)", "(3,-4)", "correct"),
    ("(3, -4)", "(-4, 3)", "wrong"),
    ("(1, 2), (3, 4)", "(3, 4), (1, 2)", "correct"),
    ("(1, 2), (3, 4)", "(2, 1), (4, 3)", "wrong"),
    ("(1, 2), (3, 4)", "(1, 2)", "wrong"),
    ("\\emptyset", "\\varnothing", "correct"),
    ("\\emptyset", "\\{0\\}", "wrong"),
]:
    add("sets_tuples", "olympiad", f"${g}$", f"So the final answer is \\boxed{{{p}}}.", exp)
add("sets_tuples", "own", "(1, 2)", "\\boxed{(2, 1)}", "correct", config={"tuple_order": False})

# ---- 9. complex numbers ---------------------------------------------------------------------
for g, p, exp in [
    ("1+2i", "i(2-i)", "correct"),
    ("1+2i", "2i+1", "correct"),
    ("1+2i", "1-2i", "wrong"),
    ("-1", "i^2", "correct"),
    ("2i", "(1+i)^2", "correct"),
    ("2i", "(1-i)^2", "wrong"),
    ("5", "(2+i)(2-i)", "correct"),
    ("3-4i", "(2-i)^2", "correct"),
    ("3-4i", "(2+i)^2", "wrong"),
    ("-i", "i^3", "correct"),
    ("1", "i^4", "correct"),
]:
    add("complex", "math", g, f"\\boxed{{{p}}}", exp)

# ---- 10. factorials and binomials ------------------------------------------------------------
for g, p, exp in [
    ("120", "5!", "correct"),
    ("5!", "120", "correct"),
    ("120", "6!", "wrong"),
    ("\\binom{10}{3}", "120", "correct"),
    ("\\binom{10}{3}", "\\binom{10}{7}", "correct"),
    ("\\binom{10}{3}", "\\binom{10}{4}", "wrong"),
    ("\\frac{10!}{8!}", "90", "correct"),
    ("\\frac{10!}{8!}", "80", "wrong"),
    ("20!", "2432902008176640000", "correct"),
    ("20!", "2432902008176640001", "wrong"),
    ("\\dbinom{52}{5}", "2598960", "correct"),
    ("3! \\cdot 4!", "144", "correct"),
    ("0!", "1", "correct"),
]:
    add("factorial_binomial", "math", g, f"The count is $\\boxed{{{p}}}$.", exp)

# ---- 11. units and money ---------------------------------------------------------------------
for g, p, exp in [
    ("64", "64 \\text{ square feet}", "correct"),
    ("64 \\text{ square feet}", "64", "correct"),
    ("64 square feet", "64", "correct"),
    ("64", "65 \\text{ square feet}", "wrong"),
    ("5", "5 \\text{ cm}", "correct"),
    ("5 \\text{ cm}", "5", "correct"),
    ("5", "5\\text{ cm}^2", "correct"),
    ("5", "5 \\mbox{ cm}", "correct"),
    ("25", "25\\text{ cm}^2", "correct"),
    ("90", "90^\\circ", "correct"),
    ("90^\\circ", "90", "correct"),
    ("90^\\circ", "90 \\text{ degrees}", "correct"),
    ("90^\\circ", "45^\\circ", "wrong"),
    ("\\$40", "40", "correct"),
    ("\\$40", "\\$40.00", "correct"),
    ("\\$40", "\\$4", "wrong"),
    ("40", "40 \\text{ dollars}", "correct"),
    ("3.50", "\\$3.50", "correct"),
    ("3.50", "\\$3.05", "wrong"),
    ("12 \\text{ inches}", "12", "correct"),
    ("7 \\text{ hours}", "7", "correct"),
    ("7 \\text{ hours}", "8", "wrong"),
    ("15 \\mathrm{cm}", "15", "correct"),
]:
    add("units_money", "minerva", g, f"Hence the answer is $\\boxed{{{p}}}$.", exp)

# ---- 12. numeric tolerance -------------------------------------------------------------------
for g, p, exp in [
    ("1.5 \\times 10^{-7}", "1.5 \\times 10^{-7}", "correct"),
    ("1.5 \\times 10^{-7}", "1.5 \\times 10^{-8}", "wrong"),
    ("1.5 \\times 10^{-8}", "1.5 \\times 10^{-7}", "wrong"),
    ("1.5 \\times 10^{-7}", "0.00000015", "correct"),
    ("1.5 \\times 10^{-7}", "1.6 \\times 10^{-7}", "wrong"),
    ("3 \\times 10^{8}", "300000000", "correct"),
    ("3 \\times 10^{8}", "3.0 \\times 10^{8}", "correct"),
    ("3 \\times 10^{8}", "3.1 \\times 10^{8}", "wrong"),
    ("6.02 \\times 10^{23}", "6.02 \\times 10^{23}", "correct"),
    ("6.02 \\times 10^{23}", "6.03 \\times 10^{23}", "wrong"),
    ("\\frac{1}{3}", "0.333333", "correct"),
    ("\\frac{1}{3}", "0.33", "wrong"),
    ("\\frac{2}{3}", "0.666667", "correct"),
    ("\\pi", "3.14159265", "correct"),
    ("\\pi", "3.14", "wrong"),
    ("\\sqrt{2}", "1.41421356", "correct"),
    ("\\sqrt{2}", "1.4142", "wrong"),
    ("0.000002", "0.000003", "wrong"),
    ("123456.7", "123456.8", "wrong"),
    ("123456.7", "123456.70", "correct"),
    ("2.5", "\\frac{5}{2}", "correct"),
    ("1000000", "1000001", "wrong"),
    ("0", "0.0", "correct"),
    ("0", "0.001", "wrong"),
    ("1e-5", "0.00001", "correct"),
    ("1e-5", "0.0001", "wrong"),
]:
    add("numeric_tolerance", "mathverify", g, f"\\boxed{{{p}}}", exp)

# ---- 13. percentages ---------------------------------------------------------------------
for g, p, exp in [
    ("25\\%", "25\\%", "correct"),
    ("25\\%", "0.25\\%", "wrong"),
    ("0.25\\%", "25\\%", "wrong"),
    ("25\\%", "25", "correct"),
    ("25\\%", "0.25", "correct"),
    ("25\\%", "26\\%", "wrong"),
    ("25", "25\\%", "correct"),
    ("12.5\\%", "12.5 \\text{ percent}", "correct"),
    ("12.5\\%", "1.25\\%", "wrong"),
    ("50\\%", "\\frac{1}{2}", "correct"),
]:
    add("percent", "hendrycks", g, f"\\boxed{{{p}}}", exp)
add("percent", "own", "25\\%", "\\boxed{25}", "wrong", config={"percent_bare_number": False})
add("percent", "own", "25\\%", "\\boxed{0.25}", "correct", config={"percent_bare_number": False})

# ---- 14. MATH worked-solution golds -----------------------------------------------------
for gold, resp, exp in [
    ("We have $x^2 = 4$, so $x = 2$ as $x > 0$. Thus the answer is $\\boxed{2}$.", "\\boxed{2}", "correct"),
    ("We have $x^2 = 4$, so $x = 2$ as $x > 0$. Thus the answer is $\\boxed{2}$.", "\\boxed{-2}", "wrong"),
    ("The midpoint is $\\left(\\frac{1+3}{2}, \\frac{2+6}{2}\\right) = \\boxed{(2, 4)}$.", "The midpoint is $(2,4)$. Answer: $(2, 4)$", "correct"),
    ("The midpoint is $\\left(\\frac{1+3}{2}, \\frac{2+6}{2}\\right) = \\boxed{(2, 4)}$.", "\\boxed{(4, 2)}", "wrong"),
    ("Factoring, $(x-1)(x-5) = 0$, so the solutions are $\\boxed{1, 5}$.", "\\boxed{5, 1}", "correct"),
    ("Factoring, $(x-1)(x-5) = 0$, so the solutions are $\\boxed{1, 5}$.", "\\boxed{5}", "wrong"),
]:
    add("math_solution_gold", "math_sol", gold, resp, exp)

# ---- 15. AIME --------------------------------------------------------------------------------
for g, p, exp in [
    ("33", "\\boxed{033}", "correct"),
    ("33", "\\boxed{33}", "correct"),
    ("33", "\\boxed{34}", "wrong"),
    ("204", "The answer is $\\boxed{204}$", "correct"),
    ("204", "The answer is $\\boxed{240}$", "wrong"),
    ("7", "So $m+n = 3+4 = \\boxed{7}$.", "correct"),
    ("7", "So $m+n = 3+4 = 7$ and the answer is $\\boxed{8}$.", "wrong"),
    ("25", "Thus $\\boxed{025}$", "correct"),
]:
    add("aime", "aime", g, p, exp)

# ---- 16. OlympiadBench-style ---------------------------------------------------------------
for g, p, exp in [
    ("$\\frac{\\sqrt{3}}{2}$", "So the final answer is \\boxed{\\frac{\\sqrt3}{2}}", "correct"),
    ("$\\frac{\\sqrt{3}}{2}$", "So the final answer is \\boxed{\\frac{\\sqrt2}{2}}", "wrong"),
    ("$2$, $3$", "So the final answer is \\boxed{2, 3}", "correct"),
    ("$2$, $3$", "So the final answer is \\boxed{2}", "wrong"),
    ("$f(x)=x$", "So the final answer is \\boxed{f(x) = x}", "correct"),
    ("$f(x)=x$", "So the final answer is \\boxed{f(x) = -x}", "wrong"),
    ("$n=3$", "So the final answer is \\boxed{3}", "correct"),
    ("$(-\\infty, 0]$", "So the final answer is \\boxed{x \\le 0}", "correct"),
    ("$\\frac{1}{2}$", "So the final answer is \\boxed{\\frac{1}{2}}. I hope it is correct.", "correct"),
    ("$1+\\sqrt{5}$", "So the final answer is \\boxed{\\sqrt5+1}", "correct"),
    ("$1+\\sqrt{5}$", "So the final answer is \\boxed{\\sqrt5-1}", "wrong"),
]:
    add("olympiadbench", "olympiad", g, p, exp)

# ---- 17. text answers ------------------------------------------------------------------------
for g, p, exp in [
    ("Evelyn", "\\boxed{\\text{Evelyn}}", "correct"),
    ("Evelyn", "\\boxed{\\text{Angela}}", "wrong"),
    ("\\text{odd}", "\\boxed{\\text{odd}}", "correct"),
    ("odd", "\\boxed{\\text{even}}", "wrong"),
    ("\\text{Tuesday}", "The answer is \\boxed{\\text{Tuesday}}", "correct"),
    ("no solution", "\\boxed{\\text{no solution}}", "correct"),
]:
    add("text_answers", "math", g, p, exp)
for g in ["see the figure", "The proof is left to the reader."]:
    add("unverifiable_gold", "own", g, "\\boxed{1}", "unverifiable")

# ---- 18. long responses (issue 14) ---------------------------------------------------------
filler = "We consider the next case and check the parity of each term. " * 400
add("long_response", "issue14", "42", "\\boxed{42}\n" + filler + " so step 7 and 9 remain.", "correct")
add("long_response", "issue14", "9", "\\boxed{42}\n" + filler + " so step 7 and 9 remain.", "wrong")
add("long_response", "issue14", "42", filler + "The answer is \\boxed{42}.", "correct")
add("long_response", "issue14", "42", "Answer: 42\n" + filler * 2 + " nothing more.", "correct")

# ---- 19. other graders' documented equivalences ------------------------------------------
for g, p, exp, src in [
    ("\\frac{1}{2}", "\\frac12", "correct", "hendrycks"),
    ("\\frac{1}{2}", "1/2", "correct", "hendrycks"),
    (".5", "0.5", "correct", "hendrycks"),
    ("0.5", "\\dfrac{1}{2}", "correct", "hendrycks"),
    ("\\frac{1}{2}", "\\tfrac{1}{2}", "correct", "hendrycks"),
    ("x=2", "2", "correct", "hendrycks"),
    ("\\sqrt3", "\\sqrt{3}", "correct", "hendrycks"),
    ("10\\text{ units}", "10", "correct", "hendrycks"),
    ("\\left(1,2\\right)", "(1,2)", "correct", "hendrycks"),
    ("1\\frac{1}{2}", "\\frac{3}{2}", "correct", "prm800k"),
    ("1\\frac{1}{2}", "\\frac{1}{2}", "wrong", "prm800k"),
    ("10^{2}", "100", "correct", "prm800k"),
    ("1,000", "1000", "correct", "prm800k"),
    ("\\$5", "5", "correct", "prm800k"),
    ("5 \\text{ dollars}", "5", "correct", "prm800k"),
    ("(x+1)^2", "x^2+2x+1", "correct", "prm800k"),
    ("\\frac{\\sqrt{2}}{2}", "\\sqrt{2}/2", "correct", "prm800k"),
    ("\\$1.50", "1.5", "correct", "prm800k"),
    ("50\\%", "50", "correct", "qwen"),
    ("50\\%", "0.5", "correct", "qwen"),
    ("50", "50\\%", "correct", "qwen"),
    ("\\text{(A)}", "A", "correct", "qwen"),
    ("\\text{(A)}", "\\text{A}", "correct", "qwen"),
    ("A", "(A)", "correct", "qwen"),
    ("\\text{(C)}", "\\text{(D)}", "wrong", "qwen"),
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "(1,2)", "correct", "qwen"),
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "(2,1)", "wrong", "qwen"),
    ("2\\sqrt{2}", "\\sqrt{8}", "correct", "qwen"),
    ("\\frac{3}{\\sqrt{5}}", "\\frac{3\\sqrt5}{5}", "correct", "qwen"),
    ("12", "12.0", "correct", "qwen"),
    ("12", "12.00", "correct", "qwen"),
    ("-\\frac{1}{2}", "\\frac{-1}{2}", "correct", "qwen"),
    ("-\\frac{1}{2}", "-0.5", "correct", "qwen"),
    ("\\infty", "\\infty", "correct", "mathverify"),
    ("-\\infty", "\\infty", "wrong", "mathverify"),
    ("\\frac{1}{x}", "x^{-1}", "correct", "mathverify"),
    ("2^{10}", "1024", "correct", "mathverify"),
    ("\\log_2 8", "3", "correct", "mathverify"),
    ("[2,3]", "(2,3)", "wrong", "mathverify"),
    ("x \\in [2,3]", "[2,3]", "correct", "mathverify"),
    ("30^\\circ", "30", "correct", "minerva"),
    ("\\text{Monday}", "Monday", "correct", "minerva"),
    ("\\text{yes}", "\\text{Yes}", "correct", "minerva"),
    ("8\\text{ cm}^3", "8", "correct", "minerva"),
    ("16\\pi \\text{ square units}", "16\\pi", "correct", "minerva"),
    ("5\\sqrt{5}", "\\sqrt{125}", "correct", "deepseek"),
    ("a=1, b=2", "(1,2)", "correct", "mathverify"),
    ("11,\\!111", "11111", "correct", "hendrycks"),
    ("\\frac{1}{4}", "25\\%", "correct", "qwen"),
    ("k=3", "k = 3", "correct", "deepseek"),
    ("(4,5)", "x=4, y=5", "correct", "deepseek"),
    ("\\dfrac{5}{2}", "2.5", "correct", "deepseek"),
    ("1.5", "1.51", "wrong", "deepseek"),
    ("0.1", "0.10000001", "correct", "mathverify"),
]:
    add("graders", src, g, f"The answer is $\\boxed{{{p}}}$.", exp)

# ---- 20. reward hacking: answers that hedge, list or dodge -----------------------------
for g, r in [
    ("3", "\\boxed{1, 2, 3, 4, 5}"),
    ("3", "\\boxed{3} or \\boxed{4}"),
    ("3", "Answer: 3 or 4"),
    ("B", "\\boxed{ABCD}"),
    ("B", "The answer is (A) or (B) or (C)."),
    ("x+1", "\\boxed{x+1 \\text{ or } x-1}"),
    ("5", "\\boxed{5 \\pm 100}"),
    ("5", "\\boxed{x}"),
    ("5", "First \\boxed{5}. That is wrong; the answer is \\boxed{6}."),
    ("2", "\\boxed{\\infty}"),
    ("\\frac{1}{2}", "\\boxed{\\frac{1}{2}, \\frac{1}{3}}"),
    ("(1, 2)", "\\boxed{(1, 2), (2, 1)}"),
    ("E", "\\boxed{e}"),
    ("7", "\\boxed{7x}"),
    ("12", "\\boxed{12 + 0.5}"),
    ("x^2", "\\boxed{x^2 + 10^{-9}x}"),
]:
    add("reward_hacking", "own", g, r, "wrong")

# ---- 21. answers as datasets store them, responses as models write them -----------------
# (AQuA/MMLU letters, Minerva "I hope it is correct", MATH golds with units, mixed numbers,
# AIME leading zeros, GSM8K money) -- mixed sources, the one per case is the dataset whose
# format the case copies.
def dataset_src(g, r):
    if g in ("A", "B", "C", "D", "E") or g.startswith("\\text{B"):
        return "aqua" if "E)" in r or g == "E" else "mmlu"
    if "I hope" in r:
        return "minerva"
    if g in ("073", "73"):
        return "aime"
    if "####" in r or g == "18":
        return "gsm8k"
    return "math"
for g, r, e in [
 ("E","A)21 B)21.5 C)22 D)22.5 E)23\nThe speed is 23, so the answer is E) 23","correct"),
 ("E","The answer is E) 23","correct"),("E","Answer: (E)","correct"),("C","The correct answer is (C) 42.","correct"),
 ("C","C","correct"),("C","**C**","correct"),("C","The answer is $\\boxed{\\text{C}}$","correct"),("C","\\boxed{\\textbf{(C)}}","correct"),
 ("C","Therefore the answer is \\boxed{C}.","correct"),("C","Therefore the answer is \\boxed{D}.","wrong"),
 ("C","Among the options, (A) is wrong, (B) is wrong, so (C).","correct"),
 ("2.5 \\times 10^{8}","Final Answer: The final answer is 2.5 \\times 10^{8}. I hope it is correct.","correct"),
 ("2.5 \\times 10^{8}","Final Answer: The final answer is $2.5e8$. I hope it is correct.","correct"),
 ("2.5 \\times 10^{8}","\\boxed{250000000}","correct"),("2.5 \\times 10^{8}","\\boxed{2.5 \\cdot 10^8}","correct"),
 ("2.5 \\times 10^{8}","\\boxed{2.6 \\times 10^8}","wrong"),
 ("11\\frac{1}{4}","\\boxed{11.25}","correct"),("11\\frac{1}{4}","\\boxed{\\frac{45}{4}}","correct"),
 ("6\\text{ inches}","\\boxed{6}","correct"),("\\text{Devon}","\\boxed{\\text{Devon}}","correct"),
 ("20\\text{ square units}","\\boxed{20}","correct"),("40^\\circ","\\boxed{40}","correct"),("40^\\circ","\\boxed{40^{\\circ}}","correct"),
 ("y=-2x+5","\\boxed{y = 5 - 2x}","correct"),("(2,-3)","\\boxed{(2, -3)}","correct"),
 ("1.36","\\boxed{1.36}","correct"),("1.36","\\boxed{1.37}","wrong"),
 ("073","The answer is 73","correct"),("73","The answer is 073","correct"),
 ("18","Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nShe makes 9 * 2 = $<<9*2=18>>18 every day at the farmer’s market.\n#### 18","correct"),
 ("18","The answer is: 18","correct"),("18","The answer is: $18.","correct"),("18","The final answer is $\\$18$.","correct"),
 ("\\frac{1}{4}","$\\frac{1}{4}$","correct"),
 ("(-\\infty,-3)\\cup(3,\\infty)","\\boxed{(-\\infty, -3) \\cup (3, \\infty)}","correct"),
 ("(-\\infty,-3)\\cup(3,\\infty)","\\boxed{(3, \\infty) \\cup (-\\infty, -3)}","correct"),
 ("\\{-2,2\\}","\\boxed{\\pm 2}","correct"),("2, -2","\\boxed{-2, 2}","correct"),
 ("x^2+7x+10","\\boxed{(x+2)(x+5)}","correct"),("x^2+7x+10","\\boxed{(x+2)(x+4)}","wrong"),
 ("\\dfrac{\\sqrt{3}}{2}","\\boxed{\\frac{\\sqrt3}2}","correct"),
 ("\\$1.25","\\boxed{1.25}","correct"),("\\$1.25","\\boxed{\\$1.25}","correct"),("\\$1.25","The answer is \\$1.25.","correct"),
 ("10\\%","\\boxed{10\\%}","correct"),("10\\%","\\boxed{10}","correct"),
 ("3","$x = 3$","correct"),("3","So $x=3$.","correct"),
 ("\\frac{5}{3}","\\boxed{5/3}","correct"),("-\\frac{3}{4}","\\boxed{-0.75}","correct"),
 ("\\sqrt{2}","\\boxed{2^{1/2}}","correct"),("\\sqrt{2}","\\boxed{\\sqrt{2}}","correct"),
 ("2","\\boxed{2}\\\\\n\\boxed{2}","correct"),
 ("4","The answer is $\\boxed{4}$ units.","correct"),
 ("x \\in (-\\infty, 2)","\\boxed{x<2}","correct"),
 ("\\left[ -\\frac{1}{2}, 3 \\right)","\\boxed{[-0.5, 3)}","correct"),
 ("1","The answer is $1$","correct"),
 ("\\text{B}","The answer is B","correct"),
 ("6","The final answer is $\\boxed{6}$.\n\n**Note**: There are 7 cases.","correct"),
 ("1/2","\\boxed{\\frac12}","correct"),("0.5","\\boxed{50\\%}","correct"),
 ("x=5","\\boxed{5}","correct"),("x=-1, x=5","\\boxed{5, -1}","correct"),("x=-1, x=5","\\boxed{x=5}","wrong"),
 ("5","So, $\\boxed{x = 5}$","correct"),
 ("16","Thus there are $\\boxed{16}$ possible values, and $a+b = 7$.","correct"),
 ("3\\sqrt{3}","\\boxed{\\sqrt{27}}","correct"),
 ("10","The answer is ten","wrong"),
 ("13","The sum is 13.\n\nAnswer: 13","correct"),
 ("-2","Answer:-2","correct"),
 ("2","Answer: $2$ meters","correct"),
 ("0.3","Answer: 30%","correct"),
 ("\\frac{9}{4}","Answer: 9/4","correct"),("\\frac{9}{4}","Answer: 2.25","correct"),("\\frac{9}{4}","Answer: 2 1/4","correct"),
]:
    add("dataset_forms", dataset_src(g, r), g, r, e)

# ---- 22. a response that is only the answer (cons@k compares extracted answers) --------
for g, r, e in [
    ("2x + 3", "2x + 3", "correct"),
    ("2x + 3", "3 + 2x", "correct"),
    ("2x + 3", "2x + 4", "wrong"),
    ("(1, 2)", "(1, 2)", "correct"),
    ("(1, 2)", "(2, 1)", "wrong"),
    ("x = 2, y = 3", "x = 2, y = 3", "correct"),
    ("\\frac{1}{2}", "\\frac12", "correct"),
    ("y = 2x + 3", "y = 2x + 3", "correct"),
    ("y = 2x + 3", "y = 2x", "wrong"),
    ("12", "3 cats and 12 dogs", "correct"),
    ("5", "5 apples", "correct"),
    ("[0, \\infty)", "x \\ge 0", "correct"),
]:
    add("bare_response", "own", g, r, e)

with open(OUT, "w") as f:
    for c in cases:
        f.write(json.dumps(c, ensure_ascii=False) + "\n")
print(f"wrote {len(cases)} cases to {OUT}")
