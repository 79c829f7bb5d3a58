"""What ``clipdesk check`` found: kept apart so that the checker and the command line
can name it without loading the whole library."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CheckReport"]


@dataclass
class CheckReport:
    ok: bool
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    cannot_repair: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"ok": self.ok, "problems": self.problems}
        if self.notes:
            out["notes"] = self.notes
        if self.repaired:
            out["repaired"] = self.repaired
        if self.cannot_repair:
            out["cannot_repair"] = self.cannot_repair
        return out
