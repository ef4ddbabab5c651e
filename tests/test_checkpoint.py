"""Loading and saving: the hub's sharded 77-key layout, the 76-key tied save, the real config on meta, bad
checkpoints."""
import json
import pytest
import torch
from safetensors.torch import save_file, load_file
from lsrl.huginn import CheckpointError, HuginnConfig, HuginnForCausalLM

# config.json of the hub checkpoint, with the sizes swapped for tiny ones (fields as the hub file spells them)
HUB_CONFIG = {
    "architectures": ["RavenForCausalLM"],
    "auto_map": {"AutoConfig": "raven_config_minimal.RavenConfig",
                 "AutoModelForCausalLM": "raven_modeling_minimal.RavenForCausalLM"},
    "model_type": "huginn_raven", "name": "steps/num-steps-32", "architecture_class_name": "RecurrentGPT",
    "block_class_name": "SandwichBlock", "norm_class_name": "RMSNorm_llama", "mlp_class_name": "GatedMLP",
    "nonlin_name": "SiLU", "init_orthogonal": False, "activation_checkpoint_impl": "per-iteration",
    "padding_multiple": 4096,
    "hf_config": {"_name_or_path": "x"}, "torch_dtype": "float32", "transformers_version": "4.47.1",
    "n_embd": 64, "n_heads": 4, "num_attention_heads": 4, "num_key_value_heads": 4, "n_layers": 8,
    "n_layers_in_prelude": 2,
    "n_layers_in_recurrent_block": 4, "n_layers_in_coda": 2, "vocab_size": 256, "padded_vocab_size": 256,
    "intermediate_size": 128, "block_size": 128, "norm_eps": 1e-6, "bias": False, "qk_bias": True,
    "tie_embeddings": True,
    "mean_recurrence": 32, "mean_backprop_depth": 8, "sampling_scheme": "poisson-lognormal-filling",
    "state_init": "like-init", "injection_type": "linear", "init_strategy": "takase", "test_time_noise": 0,
    "test_time_noise_type": "fixed", "bos_token_id": 65504, "eos_token_id": 65505, "pad_token_id": 65509,
}  # note: no rope_base, as in some hub revisions -> defaults to 50000


def write_hub_layout(model, folder):
    """Four fp32 shards + index, with the duplicate lm_head.weight and freqs_cis: 77 keys, as on the hub."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(HUB_CONFIG))
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    assert len(sd) == 77
    keys = sorted(sd)
    shards = [keys[i::4] for i in range(4)]
    wm = {}
    for i, ks in enumerate(shards, 1):
        name = f"model-{i:05d}-of-00004.safetensors"
        save_file({k: sd[k] for k in ks}, str(folder / name), metadata={"format": "pt"})
        wm.update({k: name for k in ks})
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": 0}, "weight_map": wm}))
    return sd


@pytest.fixture
def hub_model():
    torch.manual_seed(1)
    return HuginnForCausalLM(HuginnConfig(**HUB_CONFIG)).eval()


def test_config_reads_hub_fields():
    c = HuginnConfig(**HUB_CONFIG)
    assert (c.n_embd, c.n_heads, c.rope_base, c.mean_recurrence) == (64, 4, 50000.0, 32)
    assert HuginnConfig.huginn_0125().to_dict()["n_embd"] == 5280


def test_load_hub_sharded_layout(hub_model, tmp_path):
    sd = write_hub_layout(hub_model, tmp_path / "hub")
    m = HuginnForCausalLM.from_pretrained(tmp_path / "hub")
    assert m.lm_head.weight is m.transformer.wte.weight and m.freqs_cis.dtype == torch.float32
    for k, v in m.state_dict().items(): assert torch.equal(v, sd[k]), k
    ids = torch.randint(0, 256, (1, 5))
    g = lambda: torch.Generator().manual_seed(0)
    assert torch.equal(m(ids, num_steps=3, generator=g()).logits, hub_model(ids, num_steps=3, generator=g()).logits)


def test_save_round_trip_and_sharding(hub_model, tmp_path):
    hub_model.save_pretrained(tmp_path / "one")
    hub_model.save_pretrained(tmp_path / "many", max_shard_size=200_000)
    assert len(list((tmp_path / "many").glob("*.safetensors"))) > 1
    for d in ("one", "many"):
        m = HuginnForCausalLM.from_pretrained(tmp_path / d)
        assert m.config.to_dict()["n_embd"] == 64
        for (k, a), b in zip(hub_model.state_dict().items(), m.state_dict().values()): assert torch.equal(a, b), k
    mb = HuginnForCausalLM.from_pretrained(tmp_path / "one", dtype="bfloat16")
    assert mb.transformer.core_block[0].attn.Wqkv.weight.dtype == torch.bfloat16


def test_missing_and_misshapen_keys_are_named(hub_model, tmp_path):
    hub_model.save_pretrained(tmp_path)
    sd = load_file(tmp_path / "model.safetensors")
    del sd["transformer.core_block.2.mlp.proj.weight"]
    sd["transformer.adapter.weight"] = sd["transformer.adapter.weight"][:, :64].contiguous()
    sd["transformer.extra.weight"] = torch.zeros(2)
    save_file(sd, tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError) as e: HuginnForCausalLM.from_pretrained(tmp_path)
    msg = str(e.value)
    assert "transformer.core_block.2.mlp.proj.weight" in msg and "missing" in msg
    assert "transformer.adapter.weight: checkpoint (64, 64) vs model (64, 128)" in msg
    assert "unexpected keys ['transformer.extra.weight']" in msg


def test_missing_files_error(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(HUB_CONFIG))
    with pytest.raises(FileNotFoundError, match="model.safetensors"): HuginnForCausalLM.from_pretrained(tmp_path)


def test_real_config_on_meta_device():
    with torch.device("meta"): m = HuginnForCausalLM(HuginnConfig.huginn_0125())
    assert sum(p.numel() for p in m.parameters()) == 3_564_976_800
    sd = m.state_dict()
    blocks = [f"transformer.{part}.{i}" for part, n in (("prelude", 2), ("core_block", 4), ("coda", 2))
              for i in range(n)]
    per_block = ["norm_1.weight", "norm_2.weight", "norm_3.weight", "norm_4.weight", "attn.Wqkv.weight", "attn.qk_bias",
                 "attn.proj.weight", "mlp.fc.weight", "mlp.proj.weight"]
    expected = {f"{b}.{k}" for b in blocks for k in per_block} | {
        "transformer.wte.weight", "transformer.adapter.weight", "transformer.ln_f.weight", "lm_head.weight",
        "freqs_cis"}
    assert set(sd) == expected and len(sd) == 77
    shapes = {"freqs_cis": (1, 4096, 1, 48, 2), "transformer.wte.weight": (65536, 5280),
              "transformer.core_block.0.attn.Wqkv.weight": (15840, 5280),
              "transformer.core_block.0.attn.qk_bias": (2, 1, 55, 96),
              "transformer.core_block.0.mlp.fc.weight": (35840, 5280),
              "transformer.core_block.0.mlp.proj.weight": (5280, 17920),
              "transformer.adapter.weight": (5280, 10560), "lm_head.weight": (65536, 5280)}
    for k, s in shapes.items(): assert tuple(sd[k].shape) == s, k
    core = sum(p.numel() for p in m.transformer.core_block.parameters()) + m.transformer.adapter.weight.numel()
    assert core == 1_637_349_120
    # the hub index's total_size: 4 bytes x (parameters + duplicate head + freqs_cis)
    assert 4 * (3_564_976_800 + 346_030_080 + 393_216) == 15_645_600_384


def test_invalid_config_says_what_to_change():
    with pytest.raises(ValueError, match="n_layers=9 must equal prelude"): HuginnConfig.tiny(n_layers=9)
    with pytest.raises(ValueError, match="only 'linear'"): HuginnConfig.tiny(injection_type="none")


# ---- the trainer's run folder: keep_last
from lsrl.trainer import Trainer, TrainConfig  # noqa: E402

TINY = dict(model="tiny-random", mode="outcome", num_steps=2, group_size=2, prompts_per_update=2, micro_batches=1,
            max_new_tokens=4, train_size=8, grader="symbolic", lr=1e-3, seed=3)
ckpts = lambda d: sorted(p.name for p in d.iterdir() if "ckpt" in p.name)


def test_keep_last_keeps_the_newest_checkpoints_and_resume_continues(tmp_path):
    cfg = TrainConfig(**TINY, updates=3, keep_last=2)
    Trainer(cfg, tmp_path).train()
    assert ckpts(tmp_path) == ["ckpt-000002", "ckpt-000003"]
    more = Trainer(cfg.replace(updates=5), tmp_path)
    hist = more.train()
    assert len(hist) == 5 and more.update == 5 and ckpts(tmp_path) == ["ckpt-000004", "ckpt-000005"]
    Trainer(TrainConfig(**TINY, updates=3, keep_last=0), tmp_path / "all").train()
    assert ckpts(tmp_path / "all") == ["ckpt-000001", "ckpt-000002", "ckpt-000003"]


def test_the_checkpoint_resumed_from_stays_until_a_newer_one_is_written(tmp_path):
    cfg = TrainConfig(**TINY, updates=2, keep_last=1)
    Trainer(cfg, tmp_path).train()
    assert ckpts(tmp_path) == ["ckpt-000002"]
    def crash(tr, m): raise RuntimeError("killed before the checkpoint of update 3")
    with pytest.raises(RuntimeError, match="killed"):
        Trainer(cfg.replace(updates=4), tmp_path, callbacks=[crash]).train()
    assert ckpts(tmp_path) == ["ckpt-000002"]          # still there: no newer checkpoint exists
    again = Trainer(cfg.replace(updates=4), tmp_path)
    assert len(again.train()) == 4 and ckpts(tmp_path) == ["ckpt-000004"]
