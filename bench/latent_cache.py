"""Snapshot decoding of every depth k = 1..r: lsrl's one batched generation over one prefill (`decode_snapshots`)
against the naive way, r separate `generate(prompt, num_steps=k)` calls. Same state table, greedy; the test suite
checks the tokens agree, this file only measures.

Config: ~28M parameters (n_embd 512, 8 heads, MLP 1376, vocab 4096), prompt 200 tokens, snapshots of 64 tokens,
r in {4, 8, 16, 32}, CPU, 2 threads. Reports wall time and counted core-block token-steps (one token-step: one
core-block pass over one token).
Writes bench/results/latent_cache.json."""
import sys, time
import torch
from common import bench_model, setup, table, write
from lsrl.latents import decode_snapshots, make_state_table

P, N = 200, 64
DEPTHS = [int(a) for a in sys.argv[1:]] or [4, 8, 16, 32]


def main():
    setup(2)
    model, n_params = bench_model()
    ids = torch.randint(0, 4096, (1, P))
    table_ = make_state_table(model, 1, P + N, torch.Generator().manual_seed(0))
    decode_snapshots(model, ids, 2, 4, state_table=table_)  # warm-up
    rows = []
    for r in DEPTHS:
        model.core_token_steps = 0
        t = time.perf_counter()
        snap = decode_snapshots(model, ids, r, N, state_table=table_)
        t_ours, steps_ours = time.perf_counter() - t, model.core_token_steps
        model.core_token_steps = 0
        t = time.perf_counter()
        naive = [model.generate(ids, num_steps=k, max_new_tokens=N, state_table=table_).new_tokens for k in snap.depths]
        t_naive, steps_naive = time.perf_counter() - t, model.core_token_steps
        agree = sum(torch.equal(a, b[0]) for a, b in zip(snap.tokens[0], naive))
        rows.append(dict(r=r, naive_s=t_naive, ours_s=t_ours, speedup=t_naive / t_ours,
                         naive_steps=steps_naive, ours_steps=steps_ours, step_ratio=steps_naive / steps_ours,
                         spec_naive=r * (r + 1) // 2 * (P + N), spec_ours=r * P + r * (r + 1) // 2 * N,
                         depths_identical=f"{agree}/{r}"))
        print(table(rows[-1:], list(rows[-1])), flush=True)
    print(f"\nsnapshot decoding, {n_params / 1e6:.1f}M params, prompt {P}, {N} tokens per snapshot, 2 threads")
    print(table(rows, list(rows[0])))
    print("(counted steps: generate runs no forward after its last token, so each row counts N-1 new positions)")
    path = write('latent_cache', dict(config=dict(params=n_params, prompt=P, snapshot_tokens=N), rows=rows))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
