"""The import's report: what became of every line, and the rejects file."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

# Rejections listed in the report itself; all of them are in the rejects files.
MAX_LISTED_REJECTIONS = 1000


@dataclass
class FileReport:
    """What became of each line of one file."""

    file: str
    found: bool = False
    lines: int = 0
    imported: int = 0
    updated: int = 0
    already_present: int = 0
    duplicates: int = 0
    rejected: int = 0
    blank: int = 0

    @property
    def accounted(self) -> int:
        return (
            self.imported + self.updated + self.already_present + self.duplicates
            + self.rejected + self.blank
        )


@dataclass
class ImportReport:
    """The outcome of one import run, printed by the command (and as JSON)."""

    data_dir: str
    dry_run: bool
    rejects_path: str | None = None
    reasons_path: str | None = None
    files: dict[str, FileReport] = field(default_factory=dict)
    rejections: list[dict] = field(default_factory=list)
    rejections_total: int = 0
    renamed_alert_ids: list[dict] = field(default_factory=list)
    cooldowns_rebuilt: int = 0
    seconds: float = 0.0

    @property
    def all_lines_accounted(self) -> bool:
        return all(f.lines == f.accounted for f in self.files.values())

    def as_dict(self) -> dict:
        document = asdict(self)
        document["files"] = {
            name: {**asdict(report), "accounted": report.accounted}
            for name, report in self.files.items()
        }
        document["all_lines_accounted"] = self.all_lines_accounted
        return document


class RejectsFile:
    """The rejects file (rejected lines, verbatim) and its companion list of reasons,
    both opened only when the first line is rejected."""

    def __init__(self, path: Path | None):
        self.path = path
        self.reasons_path = (
            path.with_name(path.stem + ".reasons.txt") if path is not None else None
        )
        self._lines = None
        self._reasons = None

    def write(self, file: str, line: int, reason: str, raw: bytes) -> None:
        if self.path is None:
            return
        if self._lines is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lines = self.path.open("wb")
            self._reasons = self.reasons_path.open("w", encoding="utf-8")
        self._lines.write(raw if raw.endswith(b"\n") else raw + b"\n")
        self._reasons.write(f"{file}:{line}: {reason}\n")

    @property
    def written(self) -> bool:
        return self._lines is not None

    def close(self) -> None:
        for handle in (self._lines, self._reasons):
            if handle is not None:
                handle.close()
