"""Language models by name or by folder: GPT-2, OPT and Llama styles, Conv1D made Linear, refusals."""

from __future__ import annotations

import pytest
import torch

from bench.lm import models
from bench.lm.calibrate import sequential


def _tiny(kind: str):
    """A small random causal LM of the given family, as transformers builds it."""
    from transformers import (
        GPT2Config,
        GPT2LMHeadModel,
        LlamaConfig,
        LlamaForCausalLM,
        OPTConfig,
        OPTForCausalLM,
    )

    torch.manual_seed(0)
    if kind == "gpt2":
        return GPT2LMHeadModel(GPT2Config(vocab_size=256, n_positions=64, n_embd=32, n_layer=2, n_head=4))
    if kind == "opt":
        return OPTForCausalLM(OPTConfig(vocab_size=256, hidden_size=32, num_hidden_layers=2,
                                        ffn_dim=64, num_attention_heads=4, max_position_embeddings=64,
                                        word_embed_proj_dim=32))
    return LlamaForCausalLM(LlamaConfig(vocab_size=256, hidden_size=32, intermediate_size=64,
                                        num_hidden_layers=2, num_attention_heads=4,
                                        num_key_value_heads=2, max_position_embeddings=64))


def _save_tokenizer(folder):
    """A word-level tokenizer of 256 entries, saved as a Hugging Face fast tokenizer."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"[UNK]": 0} | {f"w{i}": i for i in range(1, 256)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]").save_pretrained(folder)


def test_conv1d_made_linear_computes_the_same():
    model = _tiny("gpt2").eval()
    ids = torch.randint(0, 256, (2, 16))
    with torch.no_grad():
        before = model(input_ids=ids).logits
        after = models.linear_conv1d(model)(input_ids=ids).logits
    assert torch.allclose(before, after, atol=1e-5)
    assert set(models.prunable_linears(model)) == {
        f"transformer.h.{i}.{n}.weight" for i in range(2)
        for n in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")}


@pytest.mark.parametrize("kind", ["gpt2", "opt", "llama"])
def test_a_local_folder_loads_by_path_and_calibrates_block_by_block(kind, tmp_path):
    folder = tmp_path / kind
    _tiny(kind).save_pretrained(folder)
    _save_tokenizer(folder)
    lm = models.load(str(folder))
    assert lm.tokenizer.encode("w1 w7 zz") == [1, 7, 0]
    assert lm.sha256 == models.recorded_sha256(str(folder)) and len(lm.sha256) == 64
    prunable = models.prunable_linears(lm.model)
    assert prunable and all(p.dim() == 2 for p in prunable.values())
    assert not any("lm_head" in n or "embed" in n for n in prunable)
    seen: dict[str, int] = {}
    sequential(lm.model, torch.randint(0, 256, (3, 16)), [n[:-7] for n in prunable],
               lambda names, stats: seen.update({n: stats.tokens[n] for n in names}))
    assert seen == {n[:-7]: 48 for n in prunable}  # every layer saw every calibration token


def test_refusals_name_the_problem(tmp_path):
    with pytest.raises(models.LanguageModelError, match="unknown language model"):
        models.load("gpt5")
    with pytest.raises(models.LanguageModelError, match="does not exist"):
        models.load(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "model.safetensors").write_bytes(b"x")
    with pytest.raises(models.LanguageModelError, match=r"no config\.json"):
        models.load(str(tmp_path / "empty"))
    from transformers import BertConfig, BertModel

    BertModel(BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32)).save_pretrained(tmp_path / "bert")
    with pytest.raises(models.LanguageModelError, match="causal language model"):
        models.load(str(tmp_path / "bert"))
    _tiny("llama").save_pretrained(tmp_path / "untokenized")
    with pytest.raises(models.LanguageModelError, match="no usable tokenizer"):
        models.load(str(tmp_path / "untokenized"))


def test_counts_of_a_pruned_model_from_the_dense_profile_equal_a_fresh_count():
    from bench.lm.measure import recount
    from bench.metrics.profile import profile

    model = models.linear_conv1d(_tiny("llama")).eval()
    ids = torch.randint(0, 256, (1, 16))
    dense = profile(model, ids)
    with torch.no_grad():
        for w in models.prunable_linears(model).values():
            w.mul_(torch.rand(w.shape) > 0.6)
    fresh, fast = profile(model, ids), recount(model, dense)
    assert fast.macs_nonzero == pytest.approx(fresh.macs_nonzero, rel=1e-6)
    assert [c.weight_nonzero for c in fast.layers] == [c.weight_nonzero for c in fresh.layers]
    assert fast.macs_total == fresh.macs_total
