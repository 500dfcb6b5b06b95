"""The report page: key findings first, a table of contents whose links resolve, sections that
show one answer and fold the rest, long tables as CSV links only, prior sets by their titles.

Without MCMC: overall_cr drawn from its exact posterior (the ``result`` fixture of
tests/report/conftest.py). The default report in a real browser: tests/report/test_browser.py.
"""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from bayesblina.analyses.response_rate.components import findings
from bayesblina.core.findings import estimate, published_text, span
from bayesblina.report.html import FOLD_ROWS, _badge, render_report, table_file
from bayesblina.report.write import write_results


class _Page(HTMLParser):
    """Ids, fragment links and tables (with their row counts) of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.links: list[str] = []
        self.hrefs: list[str] = []
        self.rows: list[int] = []
        self.toc_links = 0
        self._in_toc = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "nav" and a.get("id") == "toc":
            self._in_toc = True
        if tag == "a" and a.get("href", "").startswith("#"):
            self.links.append(a["href"][1:])
            self.toc_links += self._in_toc
        elif tag == "a":
            self.hrefs.append(a.get("href", ""))
        if tag == "table":
            self.rows.append(0)
        if tag == "tr" and self.rows:
            self.rows[-1] += 1

    def handle_endtag(self, tag):
        if tag == "nav":
            self._in_toc = False


def _page(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


def test_helpers_format_an_estimate_a_range_and_a_published_ci():
    row = {"mean": 0.38885, "eti_low": 0.2805, "eti_high": 0.5033}
    assert estimate(row) == "38.9% (95% CrI 28.1–50.3)"
    assert estimate({"mean": 0.104, "eti_low": -0.058, "eti_high": 0.326}, unit=" points") == \
        "10.4 points (95% CrI -5.8 to 32.6)"  # a negative bound is not read as a range
    assert span([0.322, 0.388, 0.36]) == "32.2 to 38.8%"
    assert span([0.5, 0.5]) == "50.0%" and span([]) == "–"
    assert published_text({"published_pct": 39.0, "published_ci_low": 27.0,
                           "published_ci_high": 51.0}) == "39% (95% CI 27–51)"
    assert published_text({"published_pct": 6.0}) == "6%"
    assert published_text({"published_pct": float("nan")}) == "–"


def test_the_findings_of_a_rate_are_the_published_ci_and_the_summary(result):
    rows = findings(result)
    assert len(rows) == len(result.reference)  # one per population
    table = result.summary_table()
    for row, (_, ref) in zip(rows, result.reference.iterrows(), strict=True):
        pop = ref["population"]
        assert pop in row.question
        assert row.published == published_text(ref)
        own = table[(table["prior_set"] == "uniform") & (table["population"] == pop)].iloc[0]
        assert row.posterior == estimate(own)
        others = table[(table["prior_set"] != "uniform") & (table["population"] == pop)]
        assert row.other_priors == f"mean {span(others['mean'])}"
        # the sentence carries the numbers, the prior set by its title, and the tail probs
        assert result.prior_label("uniform") == "uniform Beta(1, 1)"
        assert "uniform Beta(1, 1)" in row.sentence and estimate(own) in row.sentence
        assert f"P(p > 27.5%) = {own['P(p>0.275)']:.3f}" in row.sentence
    assert rows[0].published == "39% (95% CI 27–51)"  # Table 2, to the printed decimal


def test_a_default_fit_that_failed_reports_no_numbers(result):
    failed = dataclasses.replace(
        result.fits["uniform"],
        gate=dataclasses.replace(result.fits["uniform"].gate, checks=tuple(
            dataclasses.replace(c, passed=False) for c in result.fits["uniform"].gate.checks)))
    broken = dataclasses.replace(result, fits={**result.fits, "uniform": failed})
    rows = findings(broken)
    assert all("failed the diagnostics gate" in r.posterior for r in rows)
    assert not any(re.search(r"\d+\.\d%", r.posterior) for r in rows)


def test_the_page_opens_with_the_key_findings_and_every_link_resolves(result):
    text = render_report([result], {"overall_cr": None}, {"run_id": "t"})
    page = _page(text)
    assert len(page.ids) == len(set(page.ids)), "an id is used twice"
    assert page.toc_links >= 3
    assert set(page.links) <= set(page.ids), set(page.links) - set(page.ids)
    body = text.split("<main>", 1)[1]
    assert body.index("Key findings") < body.index('<section id="overall_cr"')
    head = body.split('<section id="overall_cr"')[0]
    assert "href='#overall_cr'" in head and "39% (95% CI 27–51)" in head
    # prior sets by their titles in the page, by their keys in the CSVs
    section = body.split('<section id="overall_cr"')[1]
    assert "sceptical Beta(2, 18)" in section
    assert "Diagnostics gate: PASSED</strong> for 4 of 4 prior sets" in section


def test_long_tables_are_linked_not_inlined(result, tmp_path):
    n = FOLD_ROWS + 5
    long = pd.DataFrame({"x": np.arange(n), "y": np.linspace(0, 1, n)})
    short = pd.DataFrame({"x": [1, 2]})
    extras = {name: dataclasses.replace(e, tables={"A long grid": long, "A short one": short})
              for name, e in result.extras.items()}
    named = dataclasses.replace(result, extras=extras)
    report = write_results([named], tmp_path / "out", {"command": "test"})
    text = report.read_text()
    page = _page(text)
    assert max(page.rows) <= FOLD_ROWS + 1  # header row + at most FOLD_ROWS rows inline
    csv = table_file("overall_cr", "A long grid")
    assert f"tables/{csv}" in page.hrefs
    assert (tmp_path / "out" / "tables" / csv).is_file()
    for href in page.hrefs:  # every relative link names a written file
        assert (tmp_path / "out" / href).is_file(), href
    assert "A short one" in text and text.count("<details") >= 6  # folded, not dropped


@pytest.mark.parametrize("status", ["EXACT", "SIMULATED"])
def test_a_design_status_other_than_failed_is_green(status):
    assert 'class="badge pass"' in _badge(status)
    assert 'class="badge fail"' in _badge("FAILED")
