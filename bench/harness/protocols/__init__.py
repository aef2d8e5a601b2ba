"""Protocols: when a case prunes and trains. Each is a short script over the steps of CaseRun,
registered by name with the options it takes (registry.py); importing this package registers
oneshot, imp, gmp, at_init, scratch and recover (language models)."""

from bench.harness.protocols import at_init, gmp, imp, oneshot, recover, scratch  # noqa: F401
from bench.harness.protocols.registry import (
    PROTOCOLS,
    Option,
    ProtocolOptionError,
    control,
    protocol,
    refusal,
    resolve,
    split,
)

__all__ = ["PROTOCOLS", "Option", "ProtocolOptionError", "control", "protocol", "refusal", "resolve",
           "split"]
