"""Analogy question sets (a : b :: c : d) as files: Google's ``questions-words.txt`` layout and the MSR CSV."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from embedeval.errors import EmbedevalError
from embedeval.files import check_regular_file


@dataclass
class AnalogySet:
    """Questions a : b :: c : d, each in a section (Google's 14, MSR's 16 part-of-speech relations)."""

    name: str
    questions: list[tuple[str, str, str, str]]
    section_of: list[int]
    sections: list[str]
    path: str = ""
    sha256: str = ""

    def __len__(self) -> int:
        return len(self.questions)

    def syntactic(self, section: str) -> bool:
        """Google's syntactic sections are named gram*; MSR's relations (JJ_JJR ...) are all syntactic."""
        return section.startswith("gram") or "_" in section


def parse_analogies(path: str | Path, name: str | None = None) -> AnalogySet:
    """Google's ``questions-words.txt`` layout (``: section`` lines, then four words a line) or the MSR CSV
    (``,type,word1,word2,word3,target``). A malformed line is an error naming the file and line."""
    path = Path(path)
    check_regular_file(path, "analogy file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise EmbedevalError("bytes that are not UTF-8", path, raw[: err.start].count(b"\n") + 1) from None
    questions: list[tuple[str, str, str, str]] = []
    section_of: list[int] = []
    sections: list[str] = []
    first = text.lstrip().split("\n", 1)[0]
    if first.replace(" ", "").lower().startswith(",type,word1,word2,word3"):
        index: dict[str, int] = {}
        for line_no, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if line_no == 1 or not row:
                continue
            if len(row) < 6 or not all(row[2:6]):
                raise EmbedevalError(f"expected 6 fields (,type,word1,word2,word3,target), found {len(row)}", path,
                                     line_no)  # fmt: skip
            section = index.setdefault(row[1], len(index))
            if section == len(sections):
                sections.append(row[1])
            questions.append((row[2], row[3], row[4], row[5]))
            section_of.append(section)
    else:
        for line_no, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            if line.startswith(":"):
                sections.append(line[1:].strip() or f"section {len(sections) + 1}")
                continue
            parts = line.split()
            if len(parts) != 4:
                raise EmbedevalError(f"expected four words (a b c d), found {len(parts)}: {line.strip()[:60]!r}",
                                     path, line_no)  # fmt: skip
            if not sections:
                sections.append("all")
            questions.append((parts[0], parts[1], parts[2], parts[3]))
            section_of.append(len(sections) - 1)
    if not questions:
        raise EmbedevalError("analogy file has no questions", path)
    return AnalogySet(name or path.stem, questions, section_of, sections, str(path), hashlib.sha256(raw).hexdigest())


def looks_like_analogies(path: str | Path) -> bool:
    """A file in one of the analogy layouts (a ``: section`` line first, or the MSR header), not word pairs."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as handle:
            first = next((line for line in handle if line.strip()), "")
    except OSError:
        return False
    return first.startswith(": ") or first.replace(" ", "").lower().startswith(",type,word1,word2,word3")
