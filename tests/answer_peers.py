"""The two peers lsrl's answer checks are compared with, called the way their own evaluations call them.

- **math-verify**: `verify(parse(gold), parse(output))`, gold first. MATH golds are parsed as `$gold$`; MathQA uses
  its `StringExtractionConfig` for the letters a-e and A-E.
- **lm-eval** (`lm_eval` package): for GSM8K the two `filter_list` regexes of its `gsm8k` task yaml (strict-match,
  and flexible-extract where strict finds nothing), scored by its `exact_match` metric with the yaml's
  `regexes_to_ignore` and `ignore_case`; for MATH the `minerva_math` utilities: `get_unnormalized_answer` (Minerva's
  sentence), else `last_boxed_only_string` + `remove_boxed` (the rule lm-eval applies to gold solutions), then
  `normalize_final_answer` on both sides and `is_equiv`. lm-eval has no generative MathQA task, so it has no verdict
  there (None).
"""
import logging
from pathlib import Path


def math_verify_verdict(kind, text, gold):
    from math_verify import StringExtractionConfig, parse, verify
    if kind == "mathqa":
        cfg = [StringExtractionConfig(strings=tuple("abcdeABCDE"))]  # MathQA letters are lower case; models write both
        return bool(verify(parse(gold, cfg), parse(text, cfg)))
    g = parse(f"${gold}$") if kind == "math" else parse(gold)
    return bool(verify(g, parse(text)))


def _gsm8k_yaml():
    import yaml
    import lm_eval
    return yaml.safe_load((Path(lm_eval.__file__).parent / "tasks" / "gsm8k" / "gsm8k.yaml").read_text())


def lm_eval_verdict(kind, text, gold):
    if kind == "mathqa": return None
    if kind == "gsm8k":
        from lm_eval.api.metrics import exact_match_hf_evaluate
        from lm_eval.filters.extraction import RegexFilter
        cfg = _gsm8k_yaml()
        metric = cfg["metric_list"][0]
        kw = {k: metric[k] for k in ("regexes_to_ignore", "ignore_case", "ignore_punctuation") if k in metric}
        for entry in cfg["filter_list"]:  # strict-match first; flexible-extract only when strict finds nothing
            rx = entry["filter"][0]
            filt = RegexFilter(regex_pattern=rx["regex_pattern"], group_select=rx.get("group_select", 0))
            pred = filt.apply([[text]], [{}])[0][0]
            if pred != filt.fallback: break
        return bool(exact_match_hf_evaluate([pred], [f"#### {gold}"], **kw)["exact_match"] == 1)
    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    from lm_eval.tasks.minerva_math import utils as U
    raw = U.get_unnormalized_answer(text)
    if raw == "[invalidanswer]":
        box = U.last_boxed_only_string(text)
        if box is None: return False
        try: raw = U.remove_boxed(box)
        except AssertionError: return False  # an `\fbox{...}`: remove_boxed only takes `\boxed`
    return bool(U.is_equiv(U.normalize_final_answer(raw), U.normalize_final_answer(gold)))
