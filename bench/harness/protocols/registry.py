"""The protocol registry: a protocol is a short script over the steps of CaseRun, with options.

A case names its protocol and options in one string, `name` or `name:option=value,...`
(bench.harness.case.canonical_protocol); each protocol declares the options it takes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.errors import BenchError
from bench.harness.steps import CaseRun
from bench.registry import Registry
from bench.suggest import did_you_mean

Protocol = Callable[[CaseRun], None]
Refuses = Callable[[str, dict], str]  # (method KIND, resolved options) -> why not, or ''
PROTOCOLS: Registry[Protocol] = Registry("protocol")


class ProtocolOptionError(BenchError, ValueError):
    """A protocol option that the protocol does not take, or a value it cannot use."""


@dataclass(frozen=True)
class Option:
    """One option of a protocol: its default, what it means, how a value is read and checked."""

    default: object
    help: str
    parse: Callable[[str], object] = str
    choices: tuple = ()


def control(*allowed: str) -> Option:
    """The `control` option (Frankle et al. 2021's sanity checks) with the values a protocol takes."""
    return Option("", f"sanity control: {', '.join(allowed)} (default none)",
                  choices=("", *allowed))


def protocol(name: str, options: dict[str, Option] | None = None, refuses: Refuses | None = None
             ) -> Callable[[Protocol], Protocol]:
    """Register the decorated function as the protocol `name`, taking `options`; `refuses` says
    why a method KIND cannot run under it with given options ('' when it can)."""
    def register(fn: Protocol) -> Protocol:
        fn.options = dict(options or {})  # type: ignore[attr-defined]
        fn.refuses = refuses or (lambda kind, options: "")  # type: ignore[attr-defined]
        return PROTOCOLS.register(name, fn)
    return register


def mask_control(kind: str, chosen: str) -> str:
    """Why a sanity control handed to the prune step cannot run for a method of `kind`, or ''."""
    if kind == "channel" and chosen:
        return (f"control={chosen} changes masks, but a channel method removes channels "
                "physically; use the control with a mask method")
    return ""


def refusal(kind: str, spec: str) -> str:
    """Why a method of KIND `kind` cannot run under the protocol string `spec` ('' when it can)."""
    fn, options = resolve(spec)
    return fn.refuses(kind, options)  # type: ignore[attr-defined]


def split(spec: str) -> tuple[str, str]:
    """(protocol name, option text) of a case's protocol string."""
    name, _, text = spec.partition(":")
    return name, text


def resolve(spec: str) -> tuple[Protocol, dict]:
    """The protocol a case's protocol string names and its options, every one resolved (the
    defaults filled in); an unknown option or a bad value is an error that lists the valid ones."""
    name, text = split(spec)
    fn = PROTOCOLS.get(name)
    declared: dict[str, Option] = getattr(fn, "options", {})
    valid = ", ".join(f"{k} ({o.help})" for k, o in declared.items()) or "none"
    given = {}
    for pair in filter(None, text.split(",")):
        key, eq, value = pair.partition("=")
        if key not in declared:
            raise ProtocolOptionError(f"protocol {name!r} has no option {key!r}"
                                      f"{did_you_mean(key, declared)}; its options: {valid}")
        if not eq:
            raise ProtocolOptionError(f"protocol option {key!r} has no value: write {key}=VALUE")
        try:
            given[key] = declared[key].parse(value)
        except ValueError as exc:
            raise ProtocolOptionError(f"protocol {name!r}, option {key}={value!r}: {exc}") from None
        if declared[key].choices and given[key] not in declared[key].choices:
            raise ProtocolOptionError(f"protocol {name!r}, option {key}={value!r}: choose one of "
                                      f"{', '.join(repr(c) for c in declared[key].choices)}")
    return fn, {k: given.get(k, o.default) for k, o in declared.items()}
