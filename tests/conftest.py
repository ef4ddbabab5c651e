import os, sys
import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))  # tests/golden.py and helpers
torch.set_num_threads(min(2, os.cpu_count() or 1))

from hypothesis import settings
# CI machines are shared: a per-example deadline would fail on timing noise, not on behaviour
settings.register_profile("lsrl", deadline=None, print_blob=True)
settings.load_profile("lsrl")


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available(): return
    skip = pytest.mark.skip(reason="needs a CUDA GPU: run on a lent GPU machine (`pytest -m cuda`)")
    for item in items:
        if "cuda" in item.keywords: item.add_marker(skip)


@pytest.fixture(autouse=True)
def no_openai_key(monkeypatch):
    "No test reaches a real grader: with a key set, `grader='auto'` and the demo would go to the network."
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.fixture
def tiny():
    from lsrl.huginn import HuginnConfig, HuginnForCausalLM
    torch.manual_seed(0)
    return HuginnForCausalLM(HuginnConfig.tiny()).eval()
