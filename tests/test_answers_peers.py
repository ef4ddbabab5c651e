"""lsrl's answer checks against two peers, math-verify and lm-eval, on a corpus of realistic outputs.

Every case where lsrl's verdict differs from a peer's is listed below with the reason; the test fails on a new
disagreement and on a listed case that no longer disagrees, so the lists stay exact. The peers are called the way
their own evaluations call them (`tests/answer_peers.py`); the cases are in `tests/answer_corpus.py`.
"""
import pytest
from answer_corpus import CASES
from answer_peers import lm_eval_verdict, math_verify_verdict
from lsrl.answers import SafeVerifier, check_answer, extract_math, normalize_math, parse_mathqa_options

pytest.importorskip("math_verify")

MATH_VERIFY_ALLOWED = {  # reason -> ids of the cases where lsrl and math-verify disagree for it
    "GSM8K keeps lm-eval's strict rule, the first `#### N`; math-verify reads the last": ["gsm-two-hashes"],
    "TeX reads `\\frac\\pi3` as `\\frac{\\pi}{3}`; math-verify cannot parse the shorthand": ["math-pi-frac-short"],
    "an open last `\\boxed{` is no answer (documented decision); math-verify reads the earlier, abandoned box or "
    "the open one": ["math-open-after-guess", "math-open-after-guess-2", "math-open-only"],
    "math-verify reads the text after `####` only as plain text, without `$...$`: it takes `3` from `3\\sqrt{2}` "
    "and misses `16\\pi`, polynomials and intervals; lsrl reads the LaTeX": [
        "hash-sqrt", "hash-sqrt-lead", "hash-pi", "hash-poly", "hash-interval"],
    "math-verify's letter rule wants a letter between spaces and misses `(b)`, `(d)`, `(D)`": [
        "mathqa-paren", "mathqa-final-answer-letter", "mathqa-paren-upper", "mathqa-sentence"],
    "lsrl's MathQA rule maps a final number to the one option with that value; math-verify reads letters only": [
        "mathqa-number-only", "mathqa-number-only-frac", "mathqa-number-percent"],
}

LM_EVAL_ALLOWED = {  # reason -> ids of the cases where lsrl and lm-eval disagree for it
    "lsrl compares numbers, lm-eval compares strings: `#### 50.00` is 50": ["gsm-trailing-zeros"],
    "lm-eval's flexible-extract takes the last match even when it is `$.` (after `$\\boxed{24}$.`); lsrl takes the "
    "last match that is a number, as math-verify does": ["gsm-boxed-gsm", "gsm-latex-end"],
    "TeX reads `\\frac\\pi3` and `\\frac1{2}` by arguments; Minerva's regex `(frac)([^{])(.)` splits `\\pi` and "
    "makes `\\frac{1}{{}2}`": ["math-pi-frac-short", "math-frac-mixed-braces"],
    "`is_equiv` needs sympy's `parse_latex`, which reads only the first item of a list or interval, so lists in "
    "another order, intervals with `\\left`/`\\right` and matrices must match as strings; math-verify agrees with "
    "lsrl": ["math-interval-left", "math-list-order", "math-text-and-list", "math-matrix"],
    "the same `parse_latex` reads `2,3` as 2 and so takes a list that begins with the gold for the gold; lsrl and "
    "math-verify say no": ["math-lead-and", "math-lead-list"],
    "`\\boxed 5.`: lm-eval keeps the sentence's full stop in the answer": ["math-box-space"],
    "lm-eval's `remove_boxed` accepts only `\\boxed`, not `\\fbox`": ["math-fbox"],
    "a trailing `\\%` is presentation (lsrl drops it; math-verify agrees)": ["math-percent-bare"],
    "lm-eval's `get_unnormalized_answer` needs the sentence to end in `I hope it is correct.`": ["minerva-no-hope"],
    "lm-eval's `minerva_math` reads no `####`; lsrl's prompt asks for it and math-verify reads it": [
        "hash-frac", "hash-frac-dollars", "hash-slash", "hash-int", "hash-sqrt", "hash-pi", "hash-neg", "hash-poly",
        "hash-interval", "hash-units", "hash-trailing-period", "hash-revised-right"],
    "no final-answer marker at all: lsrl and math-verify read the last number, lm-eval's `minerva_math` nothing": [
        "bare-last-int", "bare-last-dollar"],
}

# Cases lsrl rewards that no peer with a verdict rewards: each only because the peers cannot read the format
LSRL_ALONE_REWARDS = {"math-pi-frac-short", "hash-sqrt", "hash-pi", "hash-poly", "hash-interval", "mathqa-paren",
                      "mathqa-final-answer-letter", "mathqa-paren-upper", "mathqa-sentence", "mathqa-number-only",
                      "mathqa-number-only-frac", "mathqa-number-percent"}


def flat(allowed): return {i for ids in allowed.values() for i in ids}


@pytest.fixture(scope="module")
def verdicts():
    "id -> (lsrl, math-verify, lm-eval) verdicts; lm-eval's is None where it has none (MathQA) or is not installed."
    try:
        import lm_eval  # noqa: F401
        have_lm = True
    except ImportError:
        have_lm = False
    v = SafeVerifier(timeout=60)
    out = {}
    for c in CASES:
        opts = parse_mathqa_options(c.options) if c.options else None
        lsrl = check_answer(c.text, c.gold, c.kind, opts, verifier=v).correct
        out[c.id] = (lsrl, math_verify_verdict(c.kind, c.text, c.gold),
                     lm_eval_verdict(c.kind, c.text, c.gold) if have_lm else None)
    v.close()
    return out


def test_corpus_is_large_and_covers_every_kind():
    kinds = [c.kind for c in CASES]
    assert len(CASES) >= 200 and len({c.id for c in CASES}) == len(CASES)
    assert kinds.count("gsm8k") >= 30 and kinds.count("math") >= 100 and kinds.count("mathqa") >= 20
    assert flat(MATH_VERIFY_ALLOWED) | flat(LM_EVAL_ALLOWED) <= {c.id for c in CASES}


def test_math_verify_disagreements_are_exactly_the_allowed(verdicts):
    got = {i for i, (lsrl, mv, _) in verdicts.items() if lsrl != mv}
    allowed = flat(MATH_VERIFY_ALLOWED)
    assert got - allowed == set(), f"new disagreements with math-verify: {sorted(got - allowed)}"
    assert allowed - got == set(), f"allowed but agreeing now (remove them): {sorted(allowed - got)}"


def test_lm_eval_disagreements_are_exactly_the_allowed(verdicts):
    pytest.importorskip("lm_eval", reason="lm-eval is a test-only dependency: pip install -r requirements/dev.txt")
    got = {i for i, (lsrl, _, lm) in verdicts.items() if lm is not None and lsrl != lm}
    allowed = flat(LM_EVAL_ALLOWED)
    assert got - allowed == set(), f"new disagreements with lm-eval: {sorted(got - allowed)}"
    assert allowed - got == set(), f"allowed but agreeing now (remove them): {sorted(allowed - got)}"


def test_lsrl_never_rewards_alone_except_for_unread_formats(verdicts):
    pytest.importorskip("lm_eval", reason="lm-eval is a test-only dependency: pip install -r requirements/dev.txt")
    alone = {i for i, (lsrl, mv, lm) in verdicts.items() if lsrl is True and mv is False and lm is not True}
    assert alone == LSRL_ALONE_REWARDS


def test_agreement_figures(verdicts):
    n = len(verdicts)
    mv = sum(lsrl == m for lsrl, m, _ in verdicts.values())
    with_lm = [(lsrl, lm) for lsrl, _, lm in verdicts.values() if lm is not None]
    lm = sum(a == b for a, b in with_lm)
    allowed = len(flat(MATH_VERIFY_ALLOWED)) + len(flat(LM_EVAL_ALLOWED))
    print(f"\nanswer corpus: {n} cases; agreement with math-verify {mv}/{n} ({mv / n:.1%}), with lm-eval "
          f"{lm}/{len(with_lm)} ({lm / max(len(with_lm), 1):.1%}); allow-list {allowed} entries "
          f"({len(flat(MATH_VERIFY_ALLOWED))} math-verify, {len(flat(LM_EVAL_ALLOWED))} lm-eval)")
    assert mv == n - len(flat(MATH_VERIFY_ALLOWED)) and mv / n >= 0.9
    if with_lm: assert lm == len(with_lm) - len(flat(LM_EVAL_ALLOWED)) and lm / len(with_lm) >= 0.8


def test_normalisation_is_idempotent_on_the_corpus():
    for c in CASES:
        if c.kind != "math": continue
        for s in (c.gold, extract_math(c.text)):
            once = normalize_math(s)
            assert normalize_math(once) == once, (c.id, s, once)
