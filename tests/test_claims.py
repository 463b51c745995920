"""The claims rule by machine (embedeval.claims): a finding sentence needs a reference to its test row and wording
that fits the row's verdict. The checker catches planted overstatements, and every committed page passes."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import pytest

from embedeval.claims import Resolver, check_page, check_sentence
from tests.conftest import ROOT

TABLE = {
    "tests": [
        {"a": "untied", "b": "wt", "n": 3, "p": 0.004, "p_holm": 0.011, "margin": 1.0,
         "verdict": "wt better than untied (Holm p 0.011)"},
        {"a": "untied", "b": "re", "n": 3, "p": 0.2, "p_holm": 0.4, "margin": 1.0,
         "verdict": "no difference shown (Holm p 0.40), and equality not shown at ±1"},
        {"a": "wt", "b": "re", "n": 3, "p": 0.5, "p_holm": 0.5, "margin": 1.0, "equivalent": True,
         "verdict": "equal within ±1 perplexity (TOST, 90% interval inside)"},
        {"a": "wt", "b": "al", "n": 1, "p": None, "margin": 1.0, "verdict": "one seed only: -0.50, no test"},
    ]
}  # fmt: skip


@pytest.fixture()
def resolver(tmp_path) -> Resolver:
    (tmp_path / "t.json").write_text(json.dumps(TABLE))
    return Resolver(tmp_path)


@pytest.mark.parametrize(
    "sentence, fault",
    [
        ("WT changes nothing measurable.", "without a reference"),
        ("WT changes nothing measurable <!-- claim: t.json tests untied>wt -->.", "where the test shows a difference"),
        ("RE is the same as untied <!-- claim: t.json tests untied>re -->.", "from a non-significant test"),
        ("RE is lower than untied <!-- claim: t.json tests untied>re -->.", "must say 'not shown'"),
        ("RE and WT are equal <!-- claim: t.json tests wt>re -->.", "must state its margin"),
        ("AL is better than WT <!-- claim: t.json tests wt>al -->.", "one seed"),
        ("WT is significantly better on 6 of 21 <!-- claim: t.json tests untied>wt -->.", "Holm family has 3 tests"),
        ("WT beats untied <!-- claim: t.json tests untied>nope -->.", "no row"),
        ("WT beats untied <!-- claim: none: -->.", "needs a reason"),
        ("U is significantly better on 6 of 21 <!-- claim: holm 7: Williams within each seed -->.", "has 7 tests"),
    ],
)
def test_the_checker_catches_planted_overstatements(sentence, fault, resolver):
    problems = check_sentence(sentence, resolver)
    assert any(fault in p for p in problems), problems


@pytest.mark.parametrize(
    "sentence",
    [
        "WT is better than untied (Holm p 0.011) <!-- claim: t.json tests untied>wt -->.",
        "RE is 0.8 lower, but the difference is not shown <!-- claim: t.json tests untied>re -->.",
        "RE and WT are equal within ±1 perplexity <!-- claim: t.json tests wt>re -->.",
        "In one seed AL was 0.5 better than WT <!-- claim: t.json tests wt>al -->.",
        "Press & Wolf find tying better <!-- claim: none: the paper's claim, not ours -->.",
        "The runs took 13 epochs.",
        "U is significantly better on 0, 0 and 1 of 7 benchmarks <!-- claim: holm 7: Williams within each seed -->.",
    ],
)
def test_sentences_that_fit_their_tests_pass(sentence, resolver):
    assert check_sentence(sentence, resolver) == []


def test_a_page_of_rules_is_exempt_only_when_it_says_so(tmp_path, resolver):
    page = tmp_path / "rules.md"
    page.write_text("# Rules\n\nA helps needs a test.\n")
    assert len(check_page(page, tmp_path, resolver)) == 1
    page.write_text("# Rules\n<!-- claims: rules and definitions only, no findings -->\n\nA helps needs a test.\n")
    assert check_page(page, tmp_path, resolver) == []


def test_a_reference_after_the_full_stop_belongs_to_its_sentence(tmp_path, resolver):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\nWT changes nothing measurable. <!-- claim: t.json tests untied>wt --> The next one.\n\n"
                    "| a table | better |\n|---|---|\n\n```\nbetter in code\n```\n")  # fmt: skip
    (problem,) = check_page(page, tmp_path, resolver)
    assert problem.line == 3 and "shows a difference" in problem.why


PENDING: dict[str, int] = {}  # pages still being annotated, with the flagged sentences they may keep (none now)


def test_every_committed_page_keeps_the_claims_rule():
    resolver = Resolver(ROOT)
    pages = sorted(glob.glob(str(ROOT / "reports" / "**" / "*.md"), recursive=True))
    pages += [str(ROOT / "README.md"), *sorted(glob.glob(str(ROOT / "docs" / "*.md")))]
    grown = []
    for page in pages:
        name = str(Path(page).relative_to(ROOT))
        problems = check_page(Path(page), ROOT, resolver)
        allowed = PENDING.get(name, 0)
        if len(problems) > allowed:
            grown += [str(p) for p in problems] + [f"{name}: {len(problems)} flagged, {allowed} allowed"]
    assert not grown, "\n".join(grown)
