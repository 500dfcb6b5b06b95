"""A self-contained HTML report: one page, images embedded, a section per analysis.

The page opens with the key findings (a row per question: the paper's answer beside the
posterior's, each linking to its section) and a sticky table of contents. Each section shows
the question, the gate verdict in one line, one figure and one compact table; everything
else is folded under ``<details>`` or, when longer than :data:`FOLD_ROWS` rows, linked to
its CSV only. The design studies follow the analyses (:func:`design_section`).
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from importlib.resources import files
from typing import Any

import pandas as pd

from bayesblina.analyses.registry import get_components
from bayesblina.core.findings import NONE, Finding, published_cell
from bayesblina.core.fit import AnalysisResult
from bayesblina.core.gate import LABELS
from bayesblina.core.spec import loosened_text
from bayesblina.core.summaries import element_keys
from bayesblina.design.studies import DesignResult

#: a table with more rows than this is not shown in the page: its CSV is linked instead
FOLD_ROWS = 40
#: the CSV of the published numbers and their reproduction
REPRODUCTION_CSV = "published_numbers_reproduced.csv"


def _table(df: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    if df is None or df.empty:
        return "<p><em>none</em></p>"
    text = df.to_html(
        index=False,
        border=0,
        classes="tbl",
        na_rep="–",
        float_format=lambda v: floatfmt.format(v),
        escape=True,
    )
    text = re.sub(r">\s+<", "><", text)  # pandas indents every cell: a third of the bytes
    return f"<div class='scroll'>{text}</div>"  # a wide table scrolls, not the page


def _num(value: Any) -> str:
    """Format a hyperparameter: a number or a list of numbers."""
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(f"{v:g}" for v in value) + ")"
    return f"{value:g}"


def _badge(status: str) -> str:
    cls = "fail" if status == "FAILED" else "pass"  # designs: EXACT, SIMULATED
    return f'<span class="badge {cls}">{html.escape(status)}</span>'


def prior_table(result: AnalysisResult) -> pd.DataFrame:
    """One row per prior set and parameter: family, hyperparameters, implied mean."""
    rows = []
    for name, prior_set in result.spec.priors.items():
        for param, prior in prior_set.parameter_priors().items():
            hyper = ", ".join(f"{k} = {_num(v)}" for k, v in prior.hyperparameters().items())
            row = {"prior set": name, "parameter": param, "prior": f"{prior.family}({hyper})"}
            if prior.family == "beta":
                row["prior mean"] = prior.mean
                row["prior ESS (patients)"] = prior.ess
            row["description"] = prior_set.description
            rows.append(row)
    return pd.DataFrame(rows)


def _fmt_interval(lo: float, hi: float, scale: float = 100.0, digits: int = 1) -> str:
    return f"{lo * scale:.{digits}f}–{hi * scale:.{digits}f}"


def side_by_side(result: AnalysisResult) -> pd.DataFrame:
    """Published frequentist estimate (exact CI) beside each prior set's posterior."""
    ref = result.reference
    table = result.summary_table()
    if ref is None or table.empty or "population" not in table:
        return pd.DataFrame()
    rows = []
    for _, r in ref.iterrows():
        row = {
            "population": r["population"],
            "CR / n": f"{r['x']}/{r['n']}",
            "published % (95% CI)": published_cell(r),
            "exact CP 95% CI, %": _fmt_interval(r["cp_low"], r["cp_high"]),
        }
        for _, s in table[table["population"] == r["population"]].iterrows():
            row[f"{s['prior_set']}: mean % (95% CrI)"] = (
                f"{100 * s['mean']:.1f} ({_fmt_interval(s['eti_low'], s['eti_high'])})"
            )
        rows.append(row)
    return pd.DataFrame(rows)


def exact_check(result: AnalysisResult) -> pd.DataFrame:
    """MCMC against the closed form: the largest absolute difference, in MCSE, per prior set."""
    rows = []
    for name, extras in result.extras.items():
        fit = result.fits[name]
        if fit.summary is None or extras.exact is None:
            continue
        keys = element_keys(fit.summary)
        merged = fit.summary.merge(extras.exact[[*keys, "mean"]], on=keys, suffixes=("", "_exact"))
        merged = merged[merged["mean_exact"].notna()]
        z = ((merged["mean"] - merged["mean_exact"]).abs() / merged["mcse_mean"]).max()
        rows.append(
            {
                "prior set": name,
                "max |MCMC − exact| posterior mean": float(
                    (merged["mean"] - merged["mean_exact"]).abs().max()
                ),
                "in MCSE units": float(z),
                "within 3 MCSE": bool(z <= 3),
            }
        )
    return pd.DataFrame(rows)


def gate_flag_lines(flags: dict[str, Any]) -> list[str]:
    """The warning a section shows when its spec loosened the documented gate."""
    if not flags:
        return []
    lines = [f"<p class='failmsg'>Gate loosened by the spec: "
             f"{html.escape(loosened_text(flags))}. "
             "These results passed a weaker gate than the documented one.</p>"]
    if flags["weak"]:
        lines.append("<p class='failmsg'>Weak gate allowed (<code>allow_weak_gate</code>): "
                     f"{html.escape('; '.join(flags['weak']))}.</p>")
    return lines


def table_file(analysis: str, title: str) -> str:
    """The CSV of a component's table, named by what it holds.

    ``<analysis>_<title>.csv``, the title in lower case with ``_`` for anything else:
    ``survival_os_reconstruction_uncertainty.csv``.
    """
    return f"{analysis}_{re.sub(r'[^a-z0-9]+', '_', title.lower()).strip('_')}.csv"


def readable(df: pd.DataFrame, result: AnalysisResult) -> pd.DataFrame:
    """A table as people read it: prior sets by their title (``PriorSetBase.label``)."""
    if df is None or df.empty or "prior_set" not in df:
        return df
    return df.assign(prior_set=df["prior_set"].map(result.prior_label)).rename(
        columns={"prior_set": "prior set"})


def _fold(title: str, df: pd.DataFrame | None, csv: str | None, floatfmt: str = "{:.3g}",
          open_: bool = False) -> str:
    """A table under a ``<details>`` element; one longer than FOLD_ROWS only as its CSV."""
    link = f' · <a href="tables/{html.escape(csv)}">{html.escape(csv)}</a>' if csv else ""
    n = 0 if df is None else len(df)
    head = f"<details{' open' if open_ else ''}><summary>{html.escape(title)}"
    if df is not None and n > FOLD_ROWS and csv:
        return (f"{head} ({n} rows, CSV only)</summary><p>{n} rows: too long for the page; "
                f"see the CSV{link}.</p></details>")
    rows = f" ({n} row{'s' if n != 1 else ''}{link})" if df is not None else ""
    return f"{head}{rows}</summary>{_table(df, floatfmt)}</details>"


def _img(png: bytes, alt: str) -> str:
    b64 = base64.b64encode(png).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}"></figure>'


def gate_line(result: AnalysisResult) -> str:
    """The gate verdict in one line: how many fits passed and the worst value of each check."""
    fits = result.fits
    passed = sum(f.gate.passed for f in fits.values())
    worst: dict[str, tuple[float, float]] = {}
    for f in fits.values():
        for c in f.gate.checks:
            high_is_bad = c.name in ("rhat_max", "divergences")
            old = worst.get(c.name)
            if old is None or (c.value > old[0] if high_is_bad else c.value < old[0]):
                worst[c.name] = (c.value, c.threshold)
    parts = []
    for name, (value, threshold) in worst.items():
        op = "≤" if name in ("rhat_max", "divergences") else "≥"
        parts.append(f"{LABELS.get(name, name)} {value:.4g} ({op} {threshold:g})")
    verdict = "PASSED" if passed == len(fits) else "FAILED"
    return (f"<p class='gate'><strong>Diagnostics gate: {verdict}</strong> for {passed} of "
            f"{len(fits)} prior set{'s' if len(fits) != 1 else ''}; worst across them: "
            f"{html.escape(', '.join(parts))}.</p>")


def answer_table(result: AnalysisResult) -> pd.DataFrame:
    """The compact table that answers the section's question.

    The published result beside each prior set's posterior where the analysis has one
    (rates); otherwise the decisions (dose finding) and the posterior summary's rows of
    its first quantities, at most :data:`FOLD_ROWS` of them.
    """
    beside = side_by_side(result)
    if not beside.empty:
        return beside
    summary = result.summary_table()
    if summary.empty:
        return summary
    keys = element_keys(summary.drop(columns="prior_set"))
    cols = ["prior_set", *keys, "mean", "median", "eti_low", "eti_high",
            *[c for c in summary.columns if c.startswith("P(")]]
    table = summary[[c for c in cols if c in summary]]
    if "quantity" in table:  # the quantities people asked for, not the model's parameters
        derived = ~table["quantity"].astype(str).str.endswith("_")
        table = table[derived]
    table = table.dropna(axis=1, how="all")
    return readable(table.head(FOLD_ROWS), result)


def analysis_section(result: AnalysisResult, figure_png: bytes | None,
                     findings: Sequence[Finding] = ()) -> str:
    """HTML for one analysis: question, gate line, figure, answer; the rest folded."""
    spec = result.spec
    name = spec.name
    parts = [
        f'<section id="{html.escape(name)}">',
        f"<h2>{html.escape(spec.analysis.title)} {_badge(result.status)}</h2>",
        f"<p class='q'><strong>Question.</strong> {html.escape(spec.analysis.question)}</p>",
        gate_line(result),
    ]
    parts += gate_flag_lines(spec.gate_flags())
    if not result.passed:
        failed = [n for n, f in result.fits.items() if not f.gate.passed]
        parts.append(
            "<p class='failmsg'>FAILED: the fits for prior set(s) "
            f"{html.escape(', '.join(result.prior_label(n) for n in failed))} did not pass the "
            "diagnostics gate; their posteriors are not reported.</p>"
        )
    if figure_png:
        parts.append(_img(figure_png, f"{spec.analysis.title}: every prior set's posterior"))
    for f in findings:
        parts.append(f"<p class='finding'><strong>Finding.</strong> {html.escape(f.sentence)}</p>")
    summary = result.summary_table()
    if not summary.empty:
        title = ("Published result beside the posterior" if not side_by_side(result).empty
                 else "The posterior: what answers the question")
        parts += [f"<h3>{title}</h3>", _table(answer_table(result), "{:.3g}")]
        decisions = pd.DataFrame(
            [{"prior set": result.prior_label(n), **e.decision}
             for n, e in result.extras.items() if e.decision])
        if not decisions.empty:
            parts += ["<h3>Decisions</h3>", _table(decisions, "{:.3g}")]
    if spec.analysis.description:
        parts.append(f"<p class='desc'>{html.escape(spec.analysis.description)}</p>")
    folded = [
        _fold("Data", result.model.data, f"{name}_data.csv", "{:g}"),
        _fold("Priors", prior_table(result), None),
        _fold("Diagnostics gate: every check", readable(result.diagnostics_table(), result),
              f"{name}_diagnostics.csv", "{:.4g}"),
    ]
    if not summary.empty:
        folded.append(_fold("Posterior summaries", readable(summary, result),
                            f"{name}_posterior.csv", "{:.4f}"))
        check = exact_check(result)
        if not check.empty:
            folded.append(_fold("Independent check: MCMC against an exact computation",
                                check, None, "{:.4g}"))
        else:
            reason = get_components(spec.analysis.model).no_exact or (
                "no exact table was computed for this analysis")
            folded.append(f"<details><summary>Independent check</summary>"
                          f"<p>{html.escape(reason)}.</p></details>")
        for title, table in result.extra_tables().items():
            folded.append(_fold(title, readable(table, result), table_file(name, title)))
        if result.reference is not None:
            folded.append(_fold("Published result (frequentist)", result.reference,
                                f"{name}_published.csv"))
    parts += ["<div class='more'>", *folded, "</div>"]
    parts.append(
        f"<p class='meta'>analysis <code>{html.escape(name)}</code> · model "
        f"<code>{html.escape(spec.analysis.model)}</code> · spec "
        f"<code>{html.escape(spec.source_path)}</code> · data SHA-256 "
        f"<code>{result.data_sha256[:16]}…</code></p>")
    parts.append("</section>")
    return "\n".join(parts)


def design_section(result: DesignResult) -> str:
    """HTML for one design study: question, finding, figures, its first table; the rest folded."""
    spec = result.spec
    name = html.escape(spec.name)
    cls = "fail" if result.status == "FAILED" else "pass"
    parts = [
        f'<section class="design" id="design-{name}">',
        f"<h2>{html.escape(spec.design.title)} "
        f'<span class="badge {cls}">{html.escape(result.status)}</span></h2>',
        f"<p class='q'><strong>Question.</strong> {html.escape(spec.design.question)}</p>",
        f"<p class='finding'><strong>Finding.</strong> {html.escape(result.finding)}</p>",
    ]
    figures = [("", result.figure), *result.extra_figures.items()]
    for what, png in figures:
        if png:
            parts.append(_img(png, f"{spec.design.title}" + (f": {what}" if what else "")))
    tables = list(result.tables.items())
    if tables and len(tables[0][1]) <= FOLD_ROWS:  # the first table answers the question
        title, table = tables.pop(0)
        parts += [f"<h3>{html.escape(title.capitalize())}</h3>", _table(table, "{:.4g}")]
    if spec.design.description:
        parts.append(f"<p class='desc'>{html.escape(spec.design.description)}</p>")
    parts += ["<div class='more'>",
              *[_fold(title.capitalize(), table, result.csv_name(title), "{:.4g}")
                for title, table in tables], "</div>"]
    parts.append(
        f"<p class='meta'>design study <code>{html.escape(spec.name)}</code> · kind "
        f"<code>{html.escape(spec.kind)}</code> · spec "
        f"<code>{html.escape(spec.source_path)}</code> · SHA-256 "
        f"<code>{spec.source_sha256[:16]}…</code></p>")
    parts.append("</section>")
    return "\n".join(parts)


def design_finding(result: DesignResult) -> Finding:
    """A design study's key-findings row: its finding (a given design where it has one)."""
    given = result.summary.get("given") if isinstance(result.summary, dict) else None
    published = (f"the given design {given['boundaries']}"
                 if isinstance(given, dict) and "boundaries" in given else NONE)
    return Finding(result.spec.design.title, published, NONE, NONE, result.finding)


def key_findings(results: Sequence[AnalysisResult], designs: Sequence[DesignResult],
                 findings: dict[str, list[Finding]]) -> str:
    """The table the report opens with: a row per question, linking to its section."""
    head = ("<tr><th>question</th><th>the paper (frequentist)</th>"
            "<th>posterior, default prior</th><th>other prior sets</th><th>finding</th></tr>")
    rows = []

    def row(anchor: str, status: str, f: Finding, note: str = "") -> str:
        cells = [f.published, f.posterior, f.other_priors, f.sentence]
        badge = _badge(status) + (f" <em>{html.escape(note)}</em>" if note else "")
        return (f"<tr><td><a href='#{html.escape(anchor)}'>{html.escape(f.question)}</a> "
                f"{badge}</td>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
                + "</tr>")

    for r in results:
        note = "gate loosened by the spec" if r.spec.gate_flags() else ""
        for f in findings.get(r.spec.name, []):
            rows.append(row(r.spec.name, r.status, f, note))
    for d in designs:
        rows.append(row(f"design-{d.name}", d.status, design_finding(d)))
    return (f"<table class='tbl findings'><thead>{head}</thead><tbody>{''.join(rows)}"
            "</tbody></table>")


def _toc(results: Sequence[AnalysisResult], designs: Sequence[DesignResult],
         reproduced: bool) -> str:
    items = [("key-findings", "Key findings")]
    if reproduced:
        items.append(("reproduced", "Published numbers reproduced"))
    links = "".join(f"<li><a href='#{a}'>{html.escape(t)}</a></li>" for a, t in items)
    links += "<li><a href='#analyses'>Analyses</a><ul>" + "".join(
        f"<li><a href='#{html.escape(r.spec.name)}'>{html.escape(r.spec.analysis.title)}</a>"
        f"{'' if r.passed else ' (FAILED)'}</li>" for r in results) + "</ul></li>"
    if designs:
        links += "<li><a href='#design-studies'>Design studies</a><ul>" + "".join(
            f"<li><a href='#design-{html.escape(d.name)}'>{html.escape(d.spec.design.title)}"
            "</a></li>" for d in designs) + "</ul></li>"
    links += "<li><a href='#run'>The run: overview and provenance</a></li>"
    return (f"<nav id='toc' aria-label='contents'><p><strong>Contents</strong></p>"
            f"<ul>{links}</ul></nav>")


def render_report(
    results: list[AnalysisResult],
    figures: dict[str, bytes | None],
    provenance: dict[str, Any],
    reproduction: pd.DataFrame | None = None,
    designs: Sequence[DesignResult] = (),
) -> str:
    """The whole report as one HTML string (no external files but the linked CSV tables).

    Key findings first, then the analyses, then the design studies (a section each), then
    the run's overview and provenance.
    """
    css = files("bayesblina.report").joinpath("report.css").read_text(encoding="utf-8")
    findings = {}
    for r in results:
        make = get_components(r.spec.analysis.model).findings
        findings[r.spec.name] = make(r) if make is not None else []
    overview = pd.DataFrame(
        [
            {
                "analysis": r.spec.name,
                "title": r.spec.analysis.title,
                "status": r.status,
                "gate": "loosened by the spec" if r.spec.gate_flags() else "documented",
                "prior sets": len(r.fits),
                "seconds": sum(f.seconds for f in r.fits.values()),
            }
            for r in results
        ]
    )
    prov = pd.DataFrame({"item": list(provenance), "value": [str(v) for v in provenance.values()]})
    reproduced = reproduction is not None and not reproduction.empty
    body = [
        "<h1>bayesblina: Bayesian re-analysis of the paediatric blinatumomab phase I/II trial</h1>",
        "<p>von Stackelberg A, et al. <em>J Clin Oncol</em> 34, 2016 "
        "(DOI 10.1200/JCO.2016.67.3301). Aggregate published data only.</p>",
        "<div class='part' id='key-findings'><h2>Key findings</h2>",
        "<p>A row per question: the paper's frequentist result, the posterior under each "
        "analysis's default (first) prior set, the range across its other prior sets, and a "
        "sentence generated from the numbers. Each question links to its section.</p>",
        key_findings(results, designs, findings), "</div>",
    ]
    if reproduced:
        assert reproduction is not None
        ok = int(reproduction["matches"].sum())
        body += [
            "<div class='part' id='reproduced'><h2>Published numbers reproduced</h2>",
            f"<p>{ok} of {len(reproduction)} published numbers reproduced to the printed "
            "decimal (rows that do not match are the paper's recorded contradictions).</p>",
            _fold("The numbers that do not match", reproduction[~reproduction["matches"]],
                  None, "{:g}"),
            _fold("Every published number and its reproduction", reproduction,
                  REPRODUCTION_CSV, "{:g}"), "</div>",
        ]
    body += ["<div class='part' id='analyses'><h2>Analyses</h2></div>"]
    body += [analysis_section(r, figures.get(r.spec.name), findings[r.spec.name])
             for r in results]
    if designs:
        overview_d = pd.DataFrame([{"design study": d.name, "title": d.spec.design.title,
                                    "kind": d.spec.kind, "status": d.status} for d in designs])
        body += ["<div class='part' id='design-studies'><h2>Design studies</h2>",
                 "<p>Planning of follow-up trials from this trial's numbers; every probability "
                 "is an exact computation (a MAP prior aside, which is an MCMC fit through the "
                 "diagnostics gate; an escalation study simulates trials).</p>",
                 _table(overview_d), "</div>"]
        body += [design_section(d) for d in designs]
    body += ["<div class='part' id='run'><h2>The run</h2>",
             _fold("Analyses: status, gate, prior sets, seconds", overview, None, "{:.1f}"),
             _fold("Provenance", prov, None), "</div>"]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>bayesblina report</title>"
        f"<style>{css}</style></head><body>\n{_toc(results, designs, reproduced)}\n"
        "<main>\n" + "\n".join(body) + "\n</main></body></html>\n"
    )
