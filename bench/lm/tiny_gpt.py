"""A tiny GPT-2 trained here on the embedded Shakespeare in seconds: the test suite's language model.

Bytes as tokens, 2 blocks of width 64 with GPT-2's Conv1D layers (so that the Conv1D path is
exercised), trained deterministically with one thread from a fixed seed."""

from __future__ import annotations

import time

import torch

from bench.lm.tokenizer import ByteTokenizer
from bench.lm.windows import calibration

CONFIG = {"vocab_size": 256, "n_positions": 128, "n_embd": 64, "n_layer": 2, "n_head": 4,
          "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0, "tie_word_embeddings": True,
          "bos_token_id": None, "eos_token_id": None}
RECIPE = {"steps": 300, "batch": 16, "lr": 3e-3, "weight_decay": 0.0, "seed": 0, "threads": 1}


def train():
    """A GPT2LMHeadModel trained with RECIPE on windows of the Shakespeare calibration text, and
    its training metadata (final loss, seconds)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    previous = torch.get_num_threads()
    torch.set_num_threads(RECIPE["threads"])
    try:
        torch.manual_seed(RECIPE["seed"])
        model = GPT2LMHeadModel(GPT2Config(**CONFIG))
        data = calibration("shakespeare", RECIPE["steps"] * RECIPE["batch"], CONFIG["n_positions"],
                           RECIPE["seed"], ByteTokenizer())
        opt = torch.optim.AdamW(model.parameters(), lr=RECIPE["lr"],
                                weight_decay=RECIPE["weight_decay"])
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, RECIPE["steps"])
        start, loss = time.perf_counter(), None
        model.train()
        for batch in data.split(RECIPE["batch"]):
            loss = model(input_ids=batch, labels=batch).loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        return model.eval(), {"final_loss": loss.item(), "train_seconds": time.perf_counter() - start}
    finally:
        torch.set_num_threads(previous)
