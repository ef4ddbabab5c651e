"""The shipped tiny models load the Hugging Face way: `AutoTokenizer` (and `AutoProcessor`, which TRL calls) give the
ids, text and chat prompts of lsrl's own loader; `AutoModelForCausalLM` gives lsrl's logits (for the Huginn after
`lsrl.tiny.register_auto_classes()`). lsrl's own ids are pinned: the models were trained on them."""
import hashlib, json
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoProcessor, AutoTokenizer
from lsrl.data import PromptFormat
from lsrl.huginn import HuginnForCausalLM
from lsrl.models import TINY_CAUSAL_DIR, TINY_DIR, load_tiny, tiny_problems
from lsrl.tiny import register_auto_classes, training_text

FOLDERS = pytest.mark.parametrize("folder", [TINY_DIR, TINY_CAUSAL_DIR], ids=["tiny-huginn", "tiny-causal"])
# sha256 of the ids lsrl's loader gives `texts()` (the ids the shipped models were trained on, measured before the
# Auto-class fix, which left tokenizer.json untouched); a change here means the shipped weights see other inputs
LSRL_IDS_SHA256 = "b2c2c7055736bb0052b715e3f58120ce2fb48994e43e05e384e664cebd95d7da"


def texts() -> list:
    "Chat prompts (special tokens, blank lines, digits) and completions of problems, and edge cases."
    out = []
    for p in tiny_problems(48, "train") + tiny_problems(16):
        prompt, completion = training_text(p)
        out += [prompt, completion, prompt + completion]
    out += ["\n\n", "a\n\nb", "x.\n\n\ny", "  two  spaces  ", "12345 + 678 = 13023", "héllo ∑ 7", "",
            "<|begin_text|><|begin_header|>user<|end_header|>\n\n3 x 4?<|end_turn|>"]
    return out


def ids_digest(tok) -> str:
    return hashlib.sha256(json.dumps([tok(t)["input_ids"] for t in texts()]).encode()).hexdigest()


@FOLDERS
def test_lsrl_loader_ids_are_the_trained_ones(folder):
    _, tok = load_tiny(folder)
    assert tok("a\n\nb 12")["input_ids"] == [70, 204, 204, 71, 226, 22, 23]
    assert ids_digest(tok) == LSRL_IDS_SHA256


@FOLDERS
@pytest.mark.parametrize("trust", [None, True])
def test_auto_tokenizer_is_lsrl_tokenizer(folder, trust):
    _, ref = load_tiny(folder)
    auto = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=trust)
    ts = texts()
    ids = [auto(t)["input_ids"] for t in ts]
    assert ids == [ref(t)["input_ids"] for t in ts]
    assert [auto.decode(i) for i in ids] == [ref.decode(i) for i in ids] and auto.decode(ids[0]) == ts[0]
    assert auto.batch_decode(ids, skip_special_tokens=True) == ref.batch_decode(ids, skip_special_tokens=True)
    assert (len(auto), auto.bos_token_id, auto.eos_token_id, auto.pad_token_id) == \
        (len(ref), ref.bos_token_id, ref.eos_token_id, ref.pad_token_id)
    fmt, p = PromptFormat(), tiny_problems(1)[0]
    msgs = [{"role": "system", "content": fmt.system}, {"role": "user", "content": fmt.user_text(p)}]
    for tokenize in (False, True):
        a = auto.apply_chat_template(msgs, tokenize=tokenize, add_generation_prompt=True)
        assert a == ref.apply_chat_template(msgs, tokenize=tokenize, add_generation_prompt=True)
    assert auto.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True) == fmt.render(p)


def test_auto_processor_as_trl_loads_it_is_lsrl_tokenizer():
    _, ref = load_tiny(TINY_CAUSAL_DIR)
    proc = AutoProcessor.from_pretrained(str(TINY_CAUSAL_DIR))
    assert [proc(t)["input_ids"] for t in texts()] == [ref(t)["input_ids"] for t in texts()]


def test_auto_model_for_causal_lm_is_lsrl_tiny_causal():
    ref, tok = load_tiny(TINY_CAUSAL_DIR)
    auto = AutoModelForCausalLM.from_pretrained(str(TINY_CAUSAL_DIR))
    assert type(auto) is type(ref) and auto.dtype == torch.float32 and not auto.training
    enc = tok([training_text(p)[0] for p in tiny_problems(4)], return_tensors="pt", padding=True)
    with torch.no_grad():
        assert torch.equal(auto(**enc).logits, ref(**enc).logits)


def test_auto_model_for_causal_lm_is_lsrl_huginn_once_registered():
    register_auto_classes()
    ref, tok = load_tiny()
    auto = AutoModelForCausalLM.from_pretrained(str(TINY_DIR), dtype=torch.float32)
    assert isinstance(auto, HuginnForCausalLM) and not auto.training
    x = torch.tensor([tok(training_text(tiny_problems(1)[0])[0])["input_ids"]])
    g = lambda: torch.Generator().manual_seed(0)
    with torch.no_grad():
        assert torch.equal(auto(x, num_steps=4, generator=g()).logits, ref(x, num_steps=4, generator=g()).logits)
