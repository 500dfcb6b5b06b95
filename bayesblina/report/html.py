"""A self-contained HTML report: one page, images embedded, a section per analysis.

The design studies of a run follow the analyses, a section each (:func:`design_section`).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from importlib.resources import files
from typing import Any

import pandas as pd

from bayesblina.analyses.registry import get_components
from bayesblina.core.fit import AnalysisResult
from bayesblina.core.spec import loosened_text
from bayesblina.core.summaries import element_keys
from bayesblina.design.studies import DesignResult


def _table(df: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    if df is None or df.empty:
        return "<p><em>none</em></p>"
    return df.to_html(
        index=False,
        border=0,
        classes="tbl",
        na_rep="–",
        float_format=lambda v: floatfmt.format(v),
        escape=True,
    )


def _num(value: Any) -> str:
    """Format a hyperparameter: a number or a list of numbers."""
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(f"{v:g}" for v in value) + ")"
    return f"{value:g}"


def _badge(status: str) -> str:
    cls = "pass" if status == "PASSED" else "fail"
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


def published_cell(row: Any) -> str:
    """The published percentage with its CI, e.g. ``"39 (27–51)"``.

    Just the percentage (``"6"``) where the paper prints no CI, and ``"–"`` where it
    prints no percentage.
    """
    pct = row.get("published_pct")
    if pct is None or pd.isna(pct):
        return "–"
    lo, hi = row.get("published_ci_low"), row.get("published_ci_high")
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return f"{pct:g}"
    return f"{pct:g} ({lo:g}–{hi:g})"


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


def analysis_section(result: AnalysisResult, figure_png: bytes | None) -> str:
    """HTML for one analysis."""
    spec = result.spec
    parts = [
        f'<section id="{html.escape(spec.name)}">',
        f"<h2>{html.escape(spec.analysis.title)} {_badge(result.status)}</h2>",
        f"<p class='q'><strong>Question.</strong> {html.escape(spec.analysis.question)}</p>",
    ]
    if spec.analysis.description:
        parts.append(f"<p>{html.escape(spec.analysis.description)}</p>")
    parts.append(
        f"<p class='meta'>model <code>{html.escape(spec.analysis.model)}</code> · spec "
        f"<code>{html.escape(spec.source_path)}</code> · data SHA-256 "
        f"<code>{result.data_sha256[:16]}…</code></p>"
    )
    parts += ["<h3>Data</h3>", _table(result.model.data, "{:g}")]
    parts += ["<h3>Priors</h3>", _table(prior_table(result))]
    diag = result.diagnostics_table()
    if not diag.empty:
        diag = diag.rename(columns={"where": "worst at"})
    parts += ["<h3>Diagnostics gate</h3>", _table(diag, "{:.4g}")]
    parts += gate_flag_lines(spec.gate_flags())
    if not result.passed:
        failed = [n for n, f in result.fits.items() if not f.gate.passed]
        parts.append(
            "<p class='failmsg'>FAILED: the fits for prior set(s) "
            f"{html.escape(', '.join(failed))} did not pass the diagnostics gate; "
            "their posteriors are not reported.</p>"
        )
    summary = result.summary_table()
    if not summary.empty:
        beside = side_by_side(result)
        if beside.empty:
            beside = result.reference
        parts += ["<h3>Published result beside the posterior</h3>", _table(beside)]
        decisions = pd.DataFrame(
            [{"prior set": n, **e.decision} for n, e in result.extras.items() if e.decision]
        )
        if not decisions.empty:
            parts += ["<h3>Decisions</h3>", _table(decisions, "{:.3g}")]
        parts += ["<h3>Posterior summaries</h3>", _table(summary, "{:.4f}")]
        check = exact_check(result)
        if not check.empty:
            parts += [
                "<h3>Independent check: MCMC against an exact computation</h3>",
                _table(check, "{:.4g}"),
            ]
        else:
            reason = get_components(spec.analysis.model).no_exact or (
                "no exact table was computed for this analysis")
            parts += ["<h3>Independent check</h3>", f"<p>{html.escape(reason)}.</p>"]
        for title, table in result.extra_tables().items():
            parts += [f"<h3>{html.escape(title)}</h3>", _table(table, "{:.3g}")]
    if figure_png:
        b64 = base64.b64encode(figure_png).decode("ascii")
        alt = f"posterior of {html.escape(spec.name)}"
        parts.append(f'<img alt="{alt}" src="data:image/png;base64,{b64}">')
    parts.append("</section>")
    return "\n".join(parts)


#: a design study's table with more rows than this is folded under a <details> element
FOLD_ROWS = 40


def design_section(result: DesignResult) -> str:
    """HTML for one design study: title, question, finding, its tables and its figure."""
    spec = result.spec
    name = html.escape(spec.name)
    cls = "fail" if result.status == "FAILED" else "pass"
    parts = [
        f'<section class="design" id="design-{name}">',
        f"<h2>{html.escape(spec.design.title)} "
        f'<span class="badge {cls}">{html.escape(result.status)}</span></h2>',
        f"<p class='q'><strong>Question.</strong> {html.escape(spec.design.question)}</p>",
    ]
    if spec.design.description:
        parts.append(f"<p>{html.escape(spec.design.description)}</p>")
    parts += [
        f"<p class='meta'>design study <code>{html.escape(spec.kind)}</code> · spec "
        f"<code>{html.escape(spec.source_path)}</code> · SHA-256 "
        f"<code>{spec.source_sha256[:16]}…</code></p>",
        f"<p><strong>Finding.</strong> {html.escape(result.finding)}</p>",
    ]
    figures = [("", result.figure), *result.extra_figures.items()]
    for what, png in figures:
        if png:
            b64 = base64.b64encode(png).decode("ascii")
            alt = f"design study {name}" + (f": {html.escape(what)}" if what else "")
            parts.append(f'<img alt="{alt}" src="data:image/png;base64,{b64}">')
    for title, table in result.tables.items():
        if len(table) > FOLD_ROWS:  # long tables folded: the figure and the finding lead
            parts += [f"<details><summary>{html.escape(title)} ({len(table)} rows; CSV "
                      f"<code>tables/{html.escape(result.csv_name(title))}</code>)</summary>",
                      _table(table, "{:.4g}"), "</details>"]
        else:
            parts += [f"<h3>{html.escape(title)}</h3>", _table(table, "{:.4g}")]
    parts.append("</section>")
    return "\n".join(parts)


def render_report(
    results: list[AnalysisResult],
    figures: dict[str, bytes | None],
    provenance: dict[str, Any],
    reproduction: pd.DataFrame | None = None,
    designs: Sequence[DesignResult] = (),
) -> str:
    """The whole report as one HTML string (no external files).

    The analyses come first, then the design studies (an overview table and a section each).
    """
    css = files("bayesblina.report").joinpath("report.css").read_text(encoding="utf-8")
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
    body = [
        "<h1>bayesblina: Bayesian re-analysis of the paediatric blinatumomab phase I/II trial</h1>",
        "<p>von Stackelberg A, et al. <em>J Clin Oncol</em> 34, 2016 "
        "(DOI 10.1200/JCO.2016.67.3301). Aggregate published data only.</p>",
        "<h2>Overview</h2>",
        _table(overview, "{:.1f}"),
    ]
    if reproduction is not None and not reproduction.empty:
        ok = int(reproduction["matches"].sum())
        body += [
            "<h2>Published numbers reproduced</h2>",
            f"<p>{ok} of {len(reproduction)} published numbers reproduced to the printed "
            "decimal (rows that do not match are the paper's recorded contradictions).</p>",
            f"<details><summary>table</summary>{_table(reproduction, '{:g}')}</details>",
        ]
    body += [analysis_section(r, figures.get(r.spec.name)) for r in results]
    if designs:
        overview_d = pd.DataFrame([{"design study": d.name, "title": d.spec.design.title,
                                    "kind": d.spec.kind, "status": d.status} for d in designs])
        body += ["<h2>Design studies</h2>",
                 "<p>Planning of follow-up trials from this trial's numbers; every probability "
                 "is an exact computation (a MAP prior aside, which is an MCMC fit through the "
                 "diagnostics gate).</p>", _table(overview_d)]
        body += [design_section(d) for d in designs]
    body += ["<h2>Provenance</h2>", _table(prov)]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<title>bayesblina report</title>"
        f"<style>{css}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
