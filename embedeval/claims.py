"""The claims rule, checked by machine (docs/methods.md, section 10): every sentence of a results page that states a
finding carries a reference to the generated test row behind it, and its wording fits that row's verdict.

A reference is an HTML comment right after the sentence (invisible on the rendered page):

    WT is better than untied (Holm p 0.011). <!-- claim: reports/press-wolf/press-wolf-table6.json tests untied>wt -->

``FILE SECTION KEY`` names a table's JSON, a list of test rows in it, and the row: ``A>B`` for a table's contrasts
(``tests``), ``VARIANT::WHAT`` for ``claim_tests`` and ``geometry_tests``, the fraction, family or band for the
tying-claims page's sections (``benefit``, ``benefit_vs_full``, ``gap``, ``convergence``, ``rare_words``). Two more
forms: ``<!-- claim: one seed -->`` for a sentence about one seed's numbers (it must say so), and ``<!-- claim: none:
REASON -->`` for a sentence that uses a finding word without stating a finding of ours (a paper's claim, a setup),
and ``<!-- claim: holm N: WHERE -->`` for counts of tests corrected in a family of N named elsewhere (each seed's
Williams tests over its N benchmarks): every "k of M" in the sentence must count M = N.

What a verdict allows:
- *shown* (a difference with Holm p < 0.05): no sentence of equality ("the same", "changes nothing" ...);
- *not shown*: the sentence must say "not shown" (or "no difference shown", "not significant") and may not claim
  equality;
- *equal within ±m* (TOST): the sentence must state that margin, "within ±m";
- *one seed only*: the sentence must say "one seed" (or name the seed);
- a count of significant results ("significant on 6 of 21") must count the family its test row was corrected in.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FINDING = re.compile(
    r"\b(better|worse|equal to|equally|same\b[^.]{0,40}\bas|no change|unchanged|changes nothing|does not change|"
    r"helps|hurts|drives|causes|within ±|in every seed|all three seeds|outperform\w*|improves|lowers|raises|beats|"
    r"higher than|lower than|significantly|not shown|nothing measurable|narrows|regularis\w*|faster than|as closely as|"
    r"slower than|converges? faster|shaped like|behaves like|inherits)\b",
    re.IGNORECASE,
)
EQUALITY = re.compile(
    r"\b(same as|(is|are|stays?|remains?|looks?|was|were|trains? to) the same|equal to|equally|(is|are) equal|"
    r"no change|unchanged|changes nothing|does not change|nothing measurable|no (measurable )?effect|"
    r"does not (hurt|help|narrow|widen|move|matter)|makes no difference)\b",
    re.IGNORECASE,
)
HEDGE = re.compile(r"\b(not shown|no difference shown|not significant|no test|not tested|untested)\b", re.IGNORECASE)
ONE_SEED = re.compile(r"\b(one seed|single seed|seed \d+)\b", re.IGNORECASE)
COUNT = re.compile(r"\b(\d+) of (\d+)\b")
RULES_PAGE = "<!-- claims: rules and definitions only, no findings -->"  # in a page's first three lines
REFERENCE = re.compile(r"<!--\s*claim:\s*(.*?)\s*-->", re.DOTALL)

SECTIONS = {  # SECTION -> path of the list of test rows inside the JSON
    "tests": ("tests",),
    "claim_tests": ("claim_tests",),
    "geometry_tests": ("geometry_tests",),
    "benefit": ("data_size", "benefit"),
    "benefit_vs_full": ("data_size", "benefit_vs_full"),
    "gap": ("data_size", "gap"),
    "convergence": ("convergence", "tests"),
    "rare_words": ("rare_words", "tests"),
    "detection": ("detection", "tests"),
    "frequency": ("frequency", "tests"),
    "keyed": ("tests",),  # a page's own JSON whose top-level "tests" rows carry a "key"
}


@dataclass
class Problem:
    page: str
    line: int
    sentence: str
    why: str

    def __str__(self) -> str:
        shown = self.sentence if len(self.sentence) < 160 else self.sentence[:157] + "..."
        return f"{self.page}:{self.line}: {self.why}: {shown!r}"


def sentences(text: str) -> list[tuple[int, str]]:
    """(line, sentence) of a Markdown page's prose, and each row of a hand-written table as one sentence (a generated
    page's tables restate its test rows); code blocks and headings left out; a claim comment stays with the sentence
    it follows."""
    out, in_code, paragraph, start = [], False, [], 0
    generated = text.startswith("<!-- written by `embedeval")

    def flush() -> None:
        if not paragraph:
            return
        block = " ".join(paragraph)
        block = re.sub(r"([.!?])\s*((?:<!--\s*claim:.*?-->\s*)+)", lambda m: f" {m.group(2).strip()}{m.group(1)} ",
                       block)  # fmt: skip
        for piece in re.split(r"(?<=[.!?])\s+(?=[A-Z(*`\"“])", block):
            if piece.strip():
                out.append((start, piece.strip()))
        paragraph.clear()

    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            in_code = not in_code
            continue
        if stripped.startswith("|") and not in_code:
            flush()
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            is_rule = all(set(c) <= set("-: ") for c in cells)
            if not generated and not is_rule and number > 1 and not _is_header(text, number):
                out.append((number, " ".join(cells)))
            continue
        if in_code or stripped.startswith("#") or not stripped:
            flush()
            continue
        if stripped.startswith(("- ", "* ")) or re.match(r"\d+\. ", stripped):
            flush()
        if not paragraph:
            start = number
        paragraph.append(stripped)
    flush()
    return out


def _is_header(text: str, number: int) -> bool:
    """Whether line ``number`` (1-based) of ``text`` is a table's header (the line after it is the |---| rule)."""
    lines = text.splitlines()
    return number < len(lines) and bool(re.fullmatch(r"\|?[\s:|-]+\|?", lines[number].strip() or "x"))


def _category(verdict: str) -> str:
    v = verdict.lower()
    if "one seed only" in v:
        return "one seed"
    if v.startswith("equal within"):
        return "equal"
    if "not shown" in v or "no difference shown" in v:
        return "not shown"
    if "no seed" in v or "outside the family" in v:
        return "untested"
    return "shown"


class Resolver:
    """Finds the test row a reference names (JSON files read once)."""

    def __init__(self, root: Path):
        self.root = root
        self.files: dict[str, Any] = {}

    def row(self, file: str, section: str, key: str) -> tuple[dict[str, Any] | None, int, str]:
        """(row, size of its Holm family, why not found)."""
        if file not in self.files:
            try:
                self.files[file] = json.loads((self.root / file).read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as err:
                return None, 0, f"cannot read {file} ({err})"
        data: Any = self.files[file]
        for part in SECTIONS.get(section, ()):
            data = data.get(part) if isinstance(data, dict) else None
        if section not in SECTIONS or not isinstance(data, list):
            return None, 0, f"{file} has no section {section!r}"
        family = sum(1 for r in data if r.get("p") is not None)
        for r in data:
            if _key_of(r, section) == key:
                return r, family, ""
        return None, family, f"no row {key!r} in {file} {section}"


def _key_of(row: dict[str, Any], section: str) -> str:
    if section == "tests":
        return f"{row.get('a')}>{row.get('b')}"
    if section in ("claim_tests", "geometry_tests"):
        return f"{row.get('variant')}::{row.get('what')}"
    for field in ("fraction", "family", "band", "key"):
        if field in row:
            return str(row[field])
    return ""


def check_sentence(sentence: str, resolver: Resolver) -> list[str]:
    """Why the sentence breaks the claims rule (empty: it keeps it)."""
    refs = REFERENCE.findall(sentence)
    text = REFERENCE.sub("", sentence)
    if not refs:
        return ["states a finding without a reference to its test"] if FINDING.search(text) else []
    problems = []
    equality = EQUALITY.search(re.sub(r"equality (is )?not shown", "", text, flags=re.IGNORECASE))
    for ref in refs:
        if ref.startswith("none:"):
            if len(ref) < 12:
                problems.append("'claim: none' needs a reason")
            continue
        if ref == "one seed":
            if not ONE_SEED.search(text):
                problems.append("a one-seed claim must say so ('one seed' or 'seed N')")
            continue
        holm_family = re.match(r"holm (\d+):\s*(.{8,})", ref)
        if holm_family:  # a count of per-seed tests whose family is stated (Williams over a report's benchmarks)
            size = int(holm_family.group(1))
            for counted, total in COUNT.findall(text):
                if int(total) != size:
                    problems.append(f"counts {counted} of {total}, but the Holm family it names has {size} tests")
            continue
        parts = ref.split(None, 2)
        if len(parts) != 3:
            problems.append(f"reference {ref!r} is not FILE SECTION KEY")
            continue
        row, family, why = resolver.row(*parts)
        if row is None:
            problems.append(why)
            continue
        kind = _category(str(row.get("verdict", "")))
        if kind == "shown" and equality:
            problems.append(f"claims equality ({equality.group(0)!r}) where the test shows a difference")
        elif kind == "not shown":
            if equality:
                problems.append(f"reads equality ({equality.group(0)!r}) from a non-significant test")
            if not HEDGE.search(text):
                problems.append("its test shows no difference: the sentence must say 'not shown'")
        elif kind == "equal":
            margin = f"±{row.get('margin'):g}" if row.get("margin") is not None else "±?"
            if f"within {margin}" not in text:
                problems.append(f"an equivalence must state its margin ('within {margin}')")
        elif kind == "one seed" and not ONE_SEED.search(text):
            problems.append("its row has one seed: the sentence must say so")
        elif kind == "untested" and not HEDGE.search(text):
            problems.append("its row has no test: the sentence must say so ('no test', 'not tested')")
        counts_named = any(r.startswith("holm ") for r in refs)  # counts belong to the family a holm reference names
        for counted, total in [] if counts_named else COUNT.findall(text):
            if re.search(r"significant|shown", text, re.IGNORECASE) and int(total) != family and family:
                problems.append(f"counts {counted} of {total}, but its Holm family has {family} tests")
    return problems


def check_page(path: Path, root: Path, resolver: Resolver | None = None) -> list[Problem]:
    resolver = resolver or Resolver(root)
    text = path.read_text(encoding="utf-8")
    problems = []
    if RULES_PAGE in text.split("\n", 3)[:3] or any(line.strip() == RULES_PAGE for line in text.splitlines()[:3]):
        return []  # a page of rules and definitions (docs/methods.md): it states no finding of ours
    generated = text.startswith("<!-- written by `embedeval")
    for line, sentence in sentences(text):
        if generated and sentence.startswith("Paper:"):
            continue  # a generated table's line that cites the paper it reproduces
        for why in check_sentence(sentence, resolver):
            problems.append(Problem(str(path.relative_to(root)) if path.is_relative_to(root) else str(path), line,
                                    REFERENCE.sub("", sentence).strip(), why))  # fmt: skip
    return problems
