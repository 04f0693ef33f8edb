"""Knobs that make the stand-in misbehave the ways Confluence Cloud does: latency, rate limits, errors and dropped
connections, including the ambiguous "the page was created, then the answer was lost"."""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Fault:
    """One scheduled failure, used ``times`` times by the next matching API requests.

    ``status``: the HTTP status to answer (429, 500, 503 ...); ignored when ``drop``.
    ``retry_after``: seconds for the Retry-After header, or None for no header.
    ``drop``: close the connection without any answer.
    ``after``: carry the operation out first, then fail (the create happened, the client cannot know).
    ``op``: the OpenAPI operationId it applies to (``createPage``, ``getPages`` ...); None for any operation.
    """

    status: int = 429
    retry_after: float | None = None
    drop: bool = False
    after: bool = False
    op: str | None = None
    times: int = 1

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        allowed = set(cls.__dataclass_fields__)
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        fault = cls(**data)
        if fault.times < 1:
            raise ValueError("times must be at least 1")
        return fault


@dataclass
class FractionFault:
    """Answer a share of matching requests with ``status`` (the "30 % of calls get 429, Retry-After: 1" storm)."""

    rate: float = 0.0
    status: int = 429
    retry_after: float | None = 1
    op: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FractionFault:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fraction fields: {sorted(unknown)}")
        fraction = cls(**data)
        if not 0.0 <= fraction.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        return fraction


@dataclass
class Knobs:
    latency_ms: float = 0.0
    faults: list[Fault] = field(default_factory=list)
    fraction: FractionFault = field(default_factory=FractionFault)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultPlan:
    """Thread-safe holder of the knobs; handlers ask it what to do with each request."""

    def __init__(self, seed: int = 7) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self.knobs = Knobs()
        self.injected = 0

    def set(
        self,
        *,
        latency_ms: float | None = None,
        faults: list[Fault | dict[str, Any]] | None = None,
        add_faults: list[Fault | dict[str, Any]] | None = None,
        fraction: FractionFault | dict[str, Any] | None = None,
    ) -> Knobs:
        """Change the given knobs (``faults`` replaces the schedule, ``add_faults`` appends to it)."""
        parsed_faults = (
            [f if isinstance(f, Fault) else Fault.from_dict(f) for f in faults] if faults is not None else None
        )
        parsed_added = [f if isinstance(f, Fault) else Fault.from_dict(f) for f in add_faults or []]
        parsed_fraction = (
            fraction if isinstance(fraction, FractionFault) or fraction is None else FractionFault.from_dict(fraction)
        )
        with self._lock:
            if latency_ms is not None:
                if latency_ms < 0:
                    raise ValueError("latency_ms must not be negative")
                self.knobs.latency_ms = float(latency_ms)
            if parsed_faults is not None:
                self.knobs.faults = parsed_faults
            self.knobs.faults.extend(parsed_added)
            if parsed_fraction is not None:
                self.knobs.fraction = parsed_fraction
            return Knobs(self.knobs.latency_ms, list(self.knobs.faults), self.knobs.fraction)

    def reset(self) -> None:
        with self._lock:
            self.knobs = Knobs()
            self.injected = 0

    @property
    def latency(self) -> float:
        return self.knobs.latency_ms / 1000.0

    def take(self, op: str, *, after: bool) -> Fault | None:
        """The fault to apply to this request at this moment (before or after carrying it out), consuming it."""
        with self._lock:
            for index, fault in enumerate(self.knobs.faults):
                if fault.after != after or (fault.op is not None and fault.op != op):
                    continue
                fault.times -= 1
                if fault.times <= 0:
                    del self.knobs.faults[index]
                self.injected += 1
                return Fault(fault.status, fault.retry_after, fault.drop, fault.after, fault.op, 1)
            fraction = self.knobs.fraction
            applies = not after and fraction.rate > 0 and (fraction.op is None or fraction.op == op)
            if applies and self._random.random() < fraction.rate:
                self.injected += 1
                return Fault(status=fraction.status, retry_after=fraction.retry_after, op=op)
            return None
