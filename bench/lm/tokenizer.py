"""Tokenizers of the language-model task: a Hugging Face tokenizer, or bytes for the tiny GPT."""

from __future__ import annotations

from typing import Protocol


class Tokenizer(Protocol):
    """What the task needs of a tokenizer: text to token ids, without special tokens."""

    name: str

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`."""
        ...


class ByteTokenizer:
    """UTF-8 bytes as tokens (vocabulary 256): the tiny GPT's tokenizer."""

    name = "bytes"
    vocab_size = 256

    def encode(self, text: str) -> list[int]:
        """The bytes of `text`."""
        return list(text.encode("utf-8"))

    def __hash__(self) -> int:
        return hash(self.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ByteTokenizer)


class HFTokenizer:
    """A Hugging Face tokenizer, special tokens left out so that windows are plain text."""

    def __init__(self, tokenizer, name: str) -> None:
        self.tokenizer, self.name = tokenizer, name

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`, no BOS/EOS added."""
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def __hash__(self) -> int:
        return hash(self.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HFTokenizer) and other.name == self.name
