"""MATH answer scoring: the exploits and misreadings a policy trained on this reward could learn from."""
import pytest
from hypothesis import given, settings, strategies as st
from lsrl.answers import SafeVerifier, check_answer, extract_boxed, extract_math, extract_number, normalize_math


_V = []


def shared_verifier():
    "One math-verify worker for the module (hypothesis examples cannot take a function-scoped fixture)."
    if not _V: _V.append(SafeVerifier(timeout=60))
    return _V[0]


def teardown_module():
    for v in _V: v.close()


@pytest.fixture
def verifier(): return shared_verifier()


@pytest.mark.parametrize("text,gold", [
    (r"\boxed{3\sqrt{2}}", "3"), (r"\boxed{3}", r"3\sqrt{2}"), (r"\boxed{12}", r"12\pi"), (r"\boxed{12\pi}", "12"),
    (r"\boxed{-2i}", "-2"), (r"\boxed{2^{10}}", "2"), (r"\boxed{5x}", "5"), (r"\boxed{2 \text{ and } 3}", "2"),
    (r"\boxed{4+2i}", "4-2i"), (r"\boxed{10^6}", "10"), (r"\boxed{5!}", "5"), ("#### 3\\sqrt{2}", "3")])
def test_a_wrong_answer_that_begins_with_the_gold_number_is_wrong(text, gold, verifier):
    assert check_answer(text, gold, "math", verifier=verifier).correct is False


tails = st.sampled_from([r"\sqrt{2}", r"\sqrt{3}", r"\pi", "i", "x", "^{2}", "^{10}", "!", r"\text{ and } 7", ",7",
                         r"\cdot 7", "+1", "-i"])
# |n| >= 3: 0, 1, -1 and 2 equal some of these (1^{10} = 1, 2! = 2, 0x = 0), which is right, not an exploit
numbers = st.integers(3, 999) | st.integers(-999, -3)


@settings(max_examples=40)
@given(numbers, tails)
def test_no_tail_of_mathematics_keeps_the_leading_number(n, tail):
    v = shared_verifier()
    assert check_answer(rf"so $\boxed{{{n}{tail}}}$", str(n), "math", verifier=v).correct is False
    assert check_answer(rf"so $\boxed{{{n}}}$", f"{n}{tail}", "math", verifier=v).correct is False


def test_hashes_are_read_for_math(verifier):
    assert extract_math("We get $\\frac{2}{3}$.\n#### \\frac{2}{3}") == r"\frac{2}{3}"
    assert check_answer("We get $\\frac{2}{3}$.\n#### \\frac{2}{3}", r"\frac{2}{3}", "math", verifier=verifier).correct
    assert check_answer("#### \\frac{2}{3}", "3", "math", verifier=verifier).correct is False
    assert check_answer("#### 10\nWait, one case repeats.\n#### 9", "9", "math", verifier=verifier).correct


@pytest.mark.parametrize("text,gold,extracted", [
    ("Final Answer: The final answer is $-\\frac{2}{3}$. I hope it is correct.", r"-\frac{2}{3}", r"-\frac{2}{3}"),
    ("Final Answer: The final answer is $x^2+1$. I hope it is correct.", "x^2+1", "x^2+1"),
    ("so $x = 6$.\nFinal Answer: The final answer is $[2,5)$. I hope it is correct.", "[2,5)", "[2,5)"),
    ("Final Answer: The final answer is $12\\text{ km}$. I hope it is correct.", "12", "12")])
def test_minerva_sentence_is_read_without_a_box(text, gold, extracted, verifier):
    res = check_answer(text, gold, "math", verifier=verifier)
    assert (res.extracted, res.correct) == (extracted, True)


@pytest.mark.parametrize("raw,norm", [
    (r"12\text{ km}", "12"), (r"18\text{ square units}", "18"), (r"25\text{ cm}^2", "25"), (r"3\;\text{cm}", "3"),
    (r"1{,}000", "1000"), (r"1,\!000", "1000"), (r"\sqrt23", r"\sqrt{2}3"), (r"\fracab", r"\frac{a}{b}"),
    (r"\frac1{2}", r"\frac{1}{2}"), (r"\frac\pi2", r"\frac{\pi}{2}"), (r"\sqrt[3]8", r"\sqrt[3]{8}"),
    (r"5\text{ m}", "5"), (r"120 \text{ ways}", "120"), (r"\$42", "42"), (r"135^{\circ}", "135"),
    (r"2 \text{ and } 3", "2,3"), (r"\left[2, 5\right)", "[2,5)"), (r"0.\overline{3}", r"0.\overline{3}"),
    (r"\begin{pmatrix} 2 & 0 \\ 0 & 3 \end{pmatrix}", r"\begin{pmatrix}2&0\\0&3\end{pmatrix}"),
    (r"a + b", "a+b"), ("0,1", "0,1"), (r"2\pi r", r"2\pi r")])
def test_minerva_normalisation(raw, norm):
    assert normalize_math(raw) == norm


def test_an_open_last_box_is_no_answer(verifier):
    text = r"My first guess is $\boxed{3}$. Checking again, the answer is $\boxed{\frac{3}{"
    assert extract_boxed(text) is None and extract_math(text) is None
    assert check_answer(text, "3", "math", verifier=verifier).correct is False


def test_gsm8k_reads_the_last_number_when_lm_evals_last_match_is_not_one():
    assert extract_number(r"She buys $4 \times 6 = 24$ eggs, so she has $\boxed{24}$.") == "24"
    assert check_answer(r"She buys $4 \times 6 = 24$ eggs, so she has $\boxed{24}$.", "24").correct is True


def test_a_pathological_nesting_neither_crashes_nor_changes():
    deep = "\\frac{" * 3000 + "1" + "}{2}" * 3000  # past Python's recursion limit if braced recursively
    assert normalize_math(deep) == deep and normalize_math(rf"\boxed{{{deep}}}") == deep
