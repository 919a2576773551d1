"""Settings of one emulated Dataverse environment, and the parsers for their command-line strings.

``EmulatorConfig`` is what ``seeder emulator serve`` builds from its options; ``parse_cost_ms`` and
``parse_faults`` turn ``write=W,read=R,request=Q`` and ``429=0.05,503=0.02,reset=0.01,slow=0.01`` into
:class:`CostModel` and :class:`FaultSpec`, raising :class:`UsageError` on anything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from seeder.errors import UsageError

__all__ = ["CostModel", "EmulatorConfig", "FaultSpec", "parse_cost_ms", "parse_faults"]


@dataclass(frozen=True)
class CostModel:
    """Simulated server time in milliseconds: per record written, per record read, per request."""

    write: float = 1.0
    read: float = 0.01
    request: float = 0.5

    def to_dict(self) -> dict[str, float]:
        return {"write": self.write, "read": self.read, "request": self.request}


@dataclass(frozen=True)
class FaultSpec:
    """Per-request probabilities of an injected 429, 503, connection reset or slow response."""

    throttle: float = 0.0
    unavailable: float = 0.0
    reset: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 1.0

    @property
    def any(self) -> bool:
        return (self.throttle + self.unavailable + self.reset + self.slow) > 0

    def to_dict(self) -> dict[str, float]:
        return {"429": self.throttle, "503": self.unavailable, "reset": self.reset, "slow": self.slow}


@dataclass(frozen=True)
class EmulatorConfig:
    """One emulated environment. ``time_scale`` F divides the 300 s window and both budgets by F."""

    state: Path | None = None
    demo: bool = False
    records: int = 1000
    seed: int = 1
    schema_paths: tuple[Path, ...] = ()
    time_scale: float = 1.0
    cost_ms: CostModel = field(default_factory=CostModel)
    faults: str | None = None
    production: bool = False
    with_connections: bool = False
    limits: bool = True

    def __post_init__(self) -> None:
        if self.time_scale <= 0:
            raise UsageError(f"time scale must be positive, got {self.time_scale}")
        if self.records < 0:
            raise UsageError(f"records must be zero or more, got {self.records}")
        if isinstance(self.cost_ms, str):
            object.__setattr__(self, "cost_ms", parse_cost_ms(self.cost_ms))
        parse_faults(self.faults)  # validate early

    @property
    def fault_spec(self) -> FaultSpec:
        return parse_faults(self.faults)


def _pairs(spec: str, what: str) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise UsageError(f"{what}: '{part}' is not KEY=VALUE", hint=f"example: {_EXAMPLES[what]}")
        try:
            number = float(value)
        except ValueError:
            raise UsageError(f"{what}: '{value}' is not a number", hint=f"example: {_EXAMPLES[what]}") from None
        if number < 0:
            raise UsageError(f"{what}: '{part}' must not be negative")
        out.append((key.strip().lower(), number))
    return out


_EXAMPLES = {"--cost-ms": "write=5,read=0.1,request=2", "--faults": "429=0.05,503=0.02,reset=0.01,slow=0.01"}


def parse_cost_ms(spec: str | None) -> CostModel:
    """``"write=W,read=R,request=Q"`` (any subset, any order) → :class:`CostModel`."""
    if spec is None or not spec.strip():
        return CostModel()
    values = CostModel().to_dict()
    for key, number in _pairs(spec, "--cost-ms"):
        if key not in values:
            raise UsageError(f"--cost-ms: unknown cost '{key}'", hint="use write=, read= and request=")
        values[key] = number
    return CostModel(**values)


_FAULT_KEYS = {"429": "throttle", "503": "unavailable", "reset": "reset", "slow": "slow"}


def parse_faults(spec: str | None) -> FaultSpec:
    """``"429=0.05,503=0.02,reset=0.01,slow=0.01"`` → :class:`FaultSpec` (rates in 0..1, summing to ≤ 1)."""
    if spec is None or not spec.strip():
        return FaultSpec()
    values: dict[str, float] = {}
    for key, number in _pairs(spec, "--faults"):
        if key not in _FAULT_KEYS:
            raise UsageError(f"--faults: unknown fault '{key}'", hint="use 429=, 503=, reset= and slow=")
        values[_FAULT_KEYS[key]] = number
    if sum(values.values()) > 1.0:
        raise UsageError("--faults: the rates add up to more than 1")
    return FaultSpec(**values)
