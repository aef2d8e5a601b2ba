"""A case's identity: its coordinates and conditions, its test id and its stable key.

Every list of grouping, condition and pairing keys used by reports and statistics is derived from
the field metadata here, so a new condition is one field with a default (old keys stay the same).
"""

from __future__ import annotations

from dataclasses import MISSING, Field, dataclass, field, fields

from bench.training.recipes import stable_hash

DEFAULT_PROTOCOL = "oneshot"
UNSTRUCTURED = "unstructured"


def _coordinate(position: int | None, help: str, **default) -> Field:
    """A grid coordinate; `position` orders the report's group keys (None: the replicate, seed)."""
    return field(metadata={"role": "coordinate", "position": position, "help": help}, **default)


def _condition(default, help: str, column: str | None = None, tag: str | None = None) -> Field:
    """What else fixes a case: `column` names it in result rows (default: the field name) and
    `tag` formats it into the test id when it is not the default (None: never in the id)."""
    return field(default=default, metadata={"role": "condition", "column": column, "tag": tag,
                                            "help": help})


@dataclass(frozen=True)
class Case:
    """The coordinates of one case; everything else is held fixed by the bench."""

    method: str = _coordinate(2, "method name (file stem in methods/)")
    dataset: str = _coordinate(0, "dataset name")
    arch: str = _coordinate(1, "architecture name")
    ratio: float = _coordinate(3, "target compression (dense / kept parameters)")
    seed: int = _coordinate(None, "seed of the method, calibration batch and finetuning", default=0)
    pattern: str = _coordinate(4, "sparsity pattern: unstructured, or N:M along the input dimension",
                               default=UNSTRUCTURED)
    pretrain: str = _condition("", "pretraining recipe (empty: the dataset's default)",
                               column="pretrain_recipe", tag="pre={}")
    finetune: str = _condition("", "finetuning recipe (empty: the dataset's default)",
                               column="finetune_recipe", tag="ft={}")
    pretrain_seed: int = _condition(0, "seed of the pretrained weights", tag="ps{}")
    include_classifier: bool = _condition(False, "the classifier's weight is prunable too")
    calibration_size: int = _condition(128, "examples in the calibration batch")
    protocol: str = _condition(DEFAULT_PROTOCOL, "how pruning and training are scheduled", tag="{}")
    # structured pruning (issue 14): the unit the ratio is met in, and channel widths' multiple
    target: str = _condition("params", "unit of the ratio: params, or macs (dense / kept MACs)",
                             tag="{}")
    round_to: int = _condition(1, "kept channels per group rounded up to a multiple of this",
                               tag="rt{}")

    def __post_init__(self) -> None:
        object.__setattr__(self, "ratio", float(self.ratio))  # 2 and 2.0 are one case, one key
        object.__setattr__(self, "seed", int(self.seed))
        object.__setattr__(self, "protocol", canonical_protocol(self.protocol))
        if self.pattern != UNSTRUCTURED:
            parse_pattern(self.pattern)

    @property
    def task(self) -> str:
        """The task the case belongs to: 'lm' when its dataset is a text corpus, else
        'classification'."""
        from bench.lm.corpus import is_corpus

        return "lm" if is_corpus(self.dataset) else "classification"

    @property
    def id(self) -> str:
        """Test id: method-dataset-arch-r<ratio>-s<seed>, plus a tag per non-default condition."""
        parts = [self.method, self.dataset, self.arch, f"r{self.ratio:g}", f"s{self.seed}"]
        if self.pattern != UNSTRUCTURED:
            n, m = parse_pattern(self.pattern)
            parts.append(f"n{n}m{m}")
        for f in fields(self):
            tag = f.metadata.get("tag")
            if tag and getattr(self, f.name) != f.default:
                parts.append(tag.format(getattr(self, f.name)))
        return "-".join(parts)

    @property
    def key(self) -> str:
        """Stable hash of the non-default fields (the rule of Recipe.key): adding a field with a
        default keeps every existing key."""
        return stable_hash(self.non_default())

    def non_default(self) -> dict:
        """The fields that differ from their defaults (coordinates without one always count)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.default is MISSING or getattr(self, f.name) != f.default}

    def columns(self) -> dict:
        """The case's fields as result-row columns (recipe fields are resolved by the run)."""
        out = {"case_id": self.id, "case_key": self.key, "task": self.task}
        for f in fields(self):
            if not f.metadata.get("column"):
                out[f.name] = getattr(self, f.name)
        return out

    def __str__(self) -> str:
        return self.id


def canonical_protocol(spec: str) -> str:
    """A protocol with its options, `name` or `name:option=value,...`, options sorted by name so
    that one experiment has one spelling (and one key)."""
    name, _, options = str(spec).strip().partition(":")
    pairs = sorted(p.strip() for p in options.split(",") if p.strip())
    pairs = [f"{k.strip()}={v.strip()}" if eq else k for k, eq, v in (p.partition("=") for p in pairs)]
    return f"{name.strip()}:{','.join(pairs)}" if pairs else name.strip()


def parse_pattern(pattern: str) -> tuple[int, int]:
    """(N, M) of an 'N:M' pattern, refusing anything but integers 0 < N < M."""
    n, sep, m = str(pattern).partition(":")
    if not (sep and n.strip().isdigit() and m.strip().isdigit() and 0 < int(n) < int(m)):
        from bench.errors import InvalidValueError

        raise InvalidValueError(f"pattern {pattern!r} is not valid: use {UNSTRUCTURED!r} or 'N:M' "
                                "with integers 0 < N < M, e.g. 2:4")
    return int(n), int(m)


def coordinates() -> tuple[str, ...]:
    """Grid coordinates in report order (dataset, arch, method, ratio); the seed is left out."""
    placed = [f for f in fields(Case) if f.metadata["role"] == "coordinate"
              and f.metadata["position"] is not None]
    return tuple(f.name for f in sorted(placed, key=lambda f: f.metadata["position"]))


def conditions() -> tuple[str, ...]:
    """Row columns of the conditions: never averaged over, a report column when they vary."""
    return tuple(f.metadata["column"] or f.name for f in fields(Case)
                 if f.metadata["role"] == "condition")


REPLICATE = "seed"
GROUP_KEYS = coordinates()  # one report line per group, aggregated over seeds
CONDITION_KEYS = conditions()
# Rows paired across methods: same coordinates but the method, same seed, same conditions and
# the very same pretrained weights (by content).
PAIR_KEYS = (*(k for k in GROUP_KEYS if k != "method"), REPLICATE, *CONDITION_KEYS,
             "pretrained_sha256")
