"""The deterministic tiny-model fixture whose golden values came from the Huginn reference implementation: every weight
is a closed-form function of its name, so the same model can be built in both implementations."""
import numpy as np
import torch
from lsrl.huginn import HuginnConfig, HuginnForCausalLM

NORM_SUFFIXES = ("norm_1.weight", "norm_2.weight", "norm_3.weight", "norm_4.weight", "ln_f.weight")
IDS = [[1, 7, 42, 255, 3, 100, 64, 9]]


def golden_config() -> HuginnConfig:
    return HuginnConfig.tiny(n_embd=64, n_heads=4, intermediate_size=128, vocab_size=256, block_size=128,
                             mean_recurrence=4, mean_backprop_depth=2)


def phi(name: str) -> float:
    return (sum(map(ord, name)) % 1000) / 100


def golden_value(name: str, shape) -> torch.Tensor:
    n = int(np.prod(shape))
    base = np.sin(2.3 * (np.arange(n, dtype=np.float64) + 1) + phi(name))
    if name.endswith(NORM_SUFFIXES): v = 1 + 0.1 * base
    elif name.endswith("qk_bias") or name == "transformer.wte.weight": v = 0.5 * base
    else: v = 0.15 * base
    return torch.from_numpy(v.reshape(shape)).float()


def golden_model(dtype=torch.float32) -> HuginnForCausalLM:
    model = HuginnForCausalLM(golden_config())
    with torch.no_grad():
        for name, p in model.named_parameters():  # the tied head appears once, as transformer.wte.weight
            p.copy_(golden_value(name, tuple(p.shape)))
    return model.to(dtype).eval()


def golden_inputs():
    ids = torch.tensor(IDS)
    j = np.arange(1 * 8 * 64, dtype=np.float64)
    s0 = torch.from_numpy((0.5 * np.cos(0.7 * (j + 1))).reshape(1, 8, 64)).float()
    return ids, s0
