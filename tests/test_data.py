"""Data: synthetic generator properties, loaders' skip reports, prompt formats."""
import json
import pytest
from hypothesis import given, settings, strategies as st
from lsrl.answers import check_answer
from lsrl.data import PromptFormat, SyntheticSpec, load_gsm8k, read_rows, synthetic_problems


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 4), st.integers(0, 3), st.integers(1, 200), st.integers(2, 9),
       st.sets(st.sampled_from("+-*/"), min_size=1))
def test_synthetic_answers_are_exact(seed, lo, extra, max_value, max_factor, ops):
    spec = SyntheticSpec(min_steps=lo, max_steps=lo + extra, max_value=max_value, max_factor=max_factor,
                         ops=tuple(sorted(ops)))
    for p in synthetic_problems(5, seed, spec):
        assert int(p.gold) >= 0 and lo <= len(p.metadata["ops"]) <= lo + extra
        assert check_answer(p.metadata["solution"], p.gold).correct is True  # the worked solution grades as correct
        assert set(p.metadata["ops"]) <= ops | {"+"}


def test_same_seed_same_problems_different_seed_different():
    a, b, c = synthetic_problems(20, 5), synthetic_problems(20, 5), synthetic_problems(20, 6)
    assert [p.question for p in a] == [p.question for p in b] != [p.question for p in c]


def test_loader_reports_bad_rows(tmp_path):
    f = tmp_path / "g.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in [{"question": "q", "answer": "#### 3"}, {"question": "q"},
                                                      {"question": "q", "answer": "#### three"}]))
    got = load_gsm8k(f)
    assert len(got) == 1 and got.report() == ("1 problems loaded, 2 skipped: "
                                              "{'missing question or answer': 1, 'unparseable gold': 1}")


def test_unsupported_files_and_missing_parquet_engine(tmp_path):
    (tmp_path / "x.csv").write_text("a,b")
    with pytest.raises(ValueError, match="unsupported file type"): read_rows(tmp_path / "x.csv")
    try: import pyarrow  # noqa: F401  (only the error path is testable without it)
    except ImportError:
        (tmp_path / "x.parquet").write_bytes(b"PAR1")
        with pytest.raises(ImportError, match="pyarrow"): read_rows(tmp_path / "x.parquet")


def test_plain_prompt_format():
    p = synthetic_problems(1)[0]
    assert PromptFormat(chat=False, instruction="").render(p) == p.question


def test_missing_file_is_named_not_sent_to_the_hub(tmp_path):
    "A path that does not exist says so (it used to ask for `pip install datasets`, which would not help)."
    from lsrl.data import check_source
    for src in ("/nonexistent.jsonl", tmp_path / "gone.jsonl", "runs/data/train.json"):
        with pytest.raises(FileNotFoundError, match="does not exist"): load_gsm8k(src)
    check_source("openai/gsm8k")       # a hub id is left to the hub
