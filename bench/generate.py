"""Decode speed at depth r = 8 with the per-step KV cache, against recomputing without a cache and against the matmul
floor: the time of the per-token matrix products alone (every Linear of every block call, the adapter and the head,
as matrix-vector products with the model's own weights), measured in the same run.

Config: n_embd 512, 8 heads, MLP 1376, vocab 4096; prompt 128 tokens, 64 new tokens, greedy, 2 threads.
Writes bench/results/generate.json."""
import torch
import torch.nn.functional as F
from common import bench_model, setup, timeit, table, write
from lsrl.latents import make_state_table

R, PROMPT, NEW = 8, 128, 64


def matmul_floor(model, n_tokens: int) -> float:
    "Seconds for the Linear layers' matrix-vector products of `n_tokens` decode steps at depth R (nothing else)."
    t = model.transformer
    x = torch.randn(1, 1, model.config.n_embd)
    xi = torch.randn(1, 1, model.config.intermediate_size)
    x2 = torch.randn(1, 1, 2 * model.config.n_embd)
    calls = ([(b, "pre") for b in t.prelude] + [(b, "core") for _ in range(R) for b in t.core_block]
             + [(b, "coda") for b in t.coda])

    def one_token():
        for b, _ in calls:
            F.linear(x, b.attn.Wqkv.weight)
            F.linear(x, b.attn.proj.weight)
            F.linear(x, b.mlp.fc.weight)
            F.linear(xi, b.mlp.proj.weight)
        for _ in range(R): F.linear(x2, t.adapter.weight)
        F.linear(x, model.lm_head.weight)

    def run():
        for _ in range(n_tokens): one_token()
    return timeit(run, repeat=3)


def main():
    setup(2)
    model, n_params = bench_model()
    ids = torch.randint(0, 4096, (1, PROMPT))
    table_ = make_state_table(model, 1, PROMPT + NEW, torch.Generator().manual_seed(0))

    # decode time = generate(PROMPT, NEW) - generate(PROMPT, 1): the prefill cancels out
    gen = lambda n: model.generate(ids, num_steps=R, max_new_tokens=n, state_table=table_)
    t_full = timeit(lambda: gen(NEW), repeat=3)
    t_prefill = timeit(lambda: gen(1), repeat=3)
    decode_s = (t_full - t_prefill) / (NEW - 1)

    def no_cache():  # recompute the whole sequence for every new token
        seq = ids
        with torch.no_grad():
            for _ in range(NEW - 1):
                logits = model(seq, num_steps=R, input_states=table_[:, :seq.shape[1]]).logits
                nxt = logits[:, -1].argmax(-1, keepdim=True)
                seq = torch.cat([seq, nxt], 1)
    t_nocache = timeit(no_cache, repeat=1, warmup=0) / (NEW - 1)
    floor = matmul_floor(model, NEW - 1) / (NEW - 1)
    check = gen(NEW).sequences
    rows = [dict(path="per-step KV cache", ms_per_token=decode_s * 1e3, tokens_per_s=1 / decode_s,
                 x_floor=decode_s / floor),
            dict(path="no cache (recompute)", ms_per_token=t_nocache * 1e3, tokens_per_s=1 / t_nocache,
                 x_floor=t_nocache / floor),
            dict(path="matmul floor", ms_per_token=floor * 1e3, tokens_per_s=1 / floor, x_floor=1.0)]
    print(f"decode at r={R}: {n_params / 1e6:.1f}M params, prompt {PROMPT}, {NEW} new tokens, greedy, 2 threads")
    print(table(rows, ["path", "ms_per_token", "tokens_per_s", "x_floor"]))
    print(f"cache speed-up over recompute: {t_nocache / decode_s:.1f}x; "
          f"within {decode_s / floor:.2f}x of the matmul floor")
    path = write("generate", dict(config=dict(n_embd=512, n_heads=8, intermediate_size=1376, vocab_size=4096, depth=R,
                                              prompt=PROMPT, new_tokens=NEW, params=n_params),
                                  rows=rows, speedup_vs_recompute=t_nocache / decode_s, ratio_to_floor=decode_s / floor,
                                  generated_tokens=check.shape[1] - PROMPT))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
