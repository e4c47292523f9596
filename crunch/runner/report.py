"""The summary printed at the end of a local test."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ..core.fsutil import human_size
from .checks import CheckFailure
from .loop import CallStats
from .timings import distribution


@dataclass
class Report:
    stats: Dict[str, CallStats]
    wall_seconds: float
    read_seconds: float
    peak_memory: Optional[int]
    prediction_path: Optional[str]
    rows: int
    failures: List[CheckFailure] = field(default_factory=list)
    deterministic: Optional[bool] = None
    determinism_detail: str = ""
    checks_run: int = 0

    @property
    def valid(self) -> bool:
        return not self.failures

    @property
    def ok(self) -> bool:
        return self.valid and self.deterministic is not False

    def lines(self) -> List[str]:
        out = [""]
        for name, stats in self.stats.items():
            average = f", {stats.seconds / stats.calls:.3f} s each" if stats.calls > 1 else ""
            out.append(f"{name + '()':<9} {stats.calls:>4} call(s)  {stats.seconds:8.3f} s{average}")
            if len(stats.durations) > 1:
                out.append(f"{'':<9} {distribution(stats.durations)}")
        out.append(f"{'data':<9}  read in {self.read_seconds:.3f} s")
        memory = human_size(self.peak_memory) if self.peak_memory else "unknown"
        out.append(f"wall time {self.wall_seconds:.3f} s, peak memory {memory}")
        if self.prediction_path:
            out.append(f"prediction: {self.prediction_path} ({self.rows} rows)")
        if self.deterministic is True:
            out.append(f"determinism: {self.determinism_detail}")
        elif self.deterministic is False:
            out.append(f"determinism: infer() is not deterministic: {self.determinism_detail}")
        for failure in self.failures:
            out.append(failure.format())
        if self.valid:
            out.append("prediction is valid")
        else:
            out.append(f"prediction is not valid: {len(self.failures)} check failure(s)")
        return out

    def text(self) -> str:
        return "\n".join(self.lines())
