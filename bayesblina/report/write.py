"""Write a run's outputs into one folder, all or nothing.

:func:`write_results` writes every file into a staging folder beside ``DIR`` and swaps it
in at the end (:class:`bayesblina.io.OutputFolder`), so ``DIR`` always holds one complete
run: the previous one until the new one is complete.

Layout of ``DIR``::

    idata/<analysis>.nc          all prior sets of the analysis, dim ``prior_set``
    tables/<analysis>_data.csv, tables/<analysis>_posterior.csv,
    tables/<analysis>_diagnostics.csv, tables/<analysis>_published.csv,
    tables/<analysis>_<table title>.csv (each component table)
    tables/published_numbers_reproduced.csv   the paper's numbers and their reproduction
    figures/<analysis>.png
    tables/design_<name>_<table>.csv, figures/design_<name>.png   each design study
    summary.json                 one entry per analysis (status, diagnostics, results) and
                                 one per design study (``designs``: summary, finding, spec)
    report.html                  self-contained page
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from bayesblina.analyses.registry import get_components
from bayesblina.core.figures import figure_png
from bayesblina.core.fit import AnalysisResult
from bayesblina.core.summaries import element_keys
from bayesblina.design.studies import DesignResult
from bayesblina.io import OutputFolder, atomic_path, write_bytes, write_json, write_text
from bayesblina.report.html import REPRODUCTION_CSV, render_report, table_file


def summary_entry(result: AnalysisResult) -> dict[str, Any]:
    """The ``summary.json`` entry of one analysis.

    ``results[prior_set][element]`` holds the posterior quantities by name (``mean``,
    ``median``, ``eti_low``/``eti_high``, ``hdi_low``/``hdi_high``, ``P(p>t)``) for fits
    that passed the gate; a fit that failed has ``null`` there, never numbers.

    An analysis's components may add keys of their own
    (:attr:`bayesblina.core.components.Extras.json`), each as ``entry[key][prior_set]``
    (``null`` for a fit that failed; the key is absent when no fit passed). The subgroup models
    (:func:`bayesblina.analyses.subgroups.components.summaries`) add, for the fit and
    for each model of its LOO comparison (``model`` one of ``partial``, ``none``,
    ``complete``, ``exnex``):

    * ``subgroups[prior_set][model][level]``: ``mean``, ``eti_low``, ``eti_high`` and
      ``ci_prob`` (the mass of the equal-tailed interval, ``[summary] ci_prob``) of the
      level's CR rate, plus ``P(exchangeable)`` for EXNEX; ``null`` for a comparison fit
      that failed the gate;
    * ``subgroup_contrasts[prior_set][model][contrast]``: the same for each contrast
      ``"p(a) - p(b)"``, plus ``P(diff>0)`` (models with contrasts only);
    * ``subgroup_models[prior_set][model]``: ``role`` (``"fit"`` or ``"comparison"``),
      ``gate`` and ``prior`` of each model.

    ``gate_flags`` is empty when the spec's gate is the documented one; otherwise it holds
    ``loosened`` (each threshold looser than its default, with both values) and ``weak``
    (thresholds that switch a check off, allowed by ``gate.allow_weak_gate``).
    """
    summary = result.summary_table()
    results: dict[str, Any] = {}
    for name, fit in result.fits.items():
        if not fit.gate.passed:
            results[name] = None
            continue
        rows = summary[summary["prior_set"] == name]
        keys = element_keys(rows)
        results[name] = {
            _key(r, keys): {k: v for k, v in r.items() if k not in ("prior_set", *keys)}
            for r in rows.to_dict(orient="records")
        }
    entry: dict[str, Any] = {
        "name": result.spec.name,
        "title": result.spec.analysis.title,
        "model": result.spec.analysis.model,
        "spec": result.spec.source_path,
        "spec_sha256": result.spec.source_sha256,
        "status": result.status,
        "gate_flags": result.spec.gate_flags(),
        "data_sha256": result.data_sha256,
        "sampler": result.spec.sampler.model_dump(),
        "diagnostics": {name: fit.gate.to_dict() for name, fit in result.fits.items()},
        "results": results,
        "decisions": {name: dict(e.decision) for name, e in result.extras.items()},
    }
    extra: dict[str, dict[str, Any]] = {}
    for name, extras in result.extras.items():
        for key, value in extras.json.items():
            extra.setdefault(key, {})[name] = value
    for key, per_set in extra.items():
        if key in entry:
            raise ValueError(f"summary_json key {key!r} would replace a summary.json key")
        entry[key] = {name: per_set.get(name) for name in result.fits}
    return entry


def _key(row: dict[str, Any], keys: list[str]) -> str:
    """Key of a summary row: ``"all_5_15"``, ``"p_dose[15]"`` or ``"hazard_ratio"``."""
    if len(keys) == 1:
        return str(row[keys[0]])
    rest = [str(row[k]) for k in keys[1:] if str(row[k]) != ""]
    return f"{row[keys[0]]}[{', '.join(rest)}]" if rest else str(row[keys[0]])


def write_csv(path: Path, df: pd.DataFrame) -> None:
    """Write a CSV file atomically."""
    write_text(path, df.to_csv(index=False))


def write_results(
    results: list[AnalysisResult],
    out_dir: str | Path,
    provenance: dict[str, Any],
    reproduction: pd.DataFrame | None = None,
    designs: Sequence[DesignResult] = (),
) -> Path:
    """Write every output of a run into ``out_dir``, all or nothing; return the report's path.

    Parameters
    ----------
    results : list of AnalysisResult
        The analyses of the run.
    out_dir : str or Path
        Output folder: new, empty or a previous run's (replaced whole).
    provenance : dict
        Run-level provenance (versions, seed override, command).
    reproduction : pandas.DataFrame, optional
        The table of reproduced published numbers, shown at the top of the report.
    designs : sequence of DesignResult, optional
        The run's design studies (:func:`bayesblina.design.studies.run_design`): their
        tables, figures, ``summary.json`` entries and report sections.

    Raises
    ------
    bayesblina.io.OutputError
        If the folder cannot be used (see :func:`bayesblina.io.check_output_dir`) or another
        run is writing into it.
    """
    with OutputFolder(out_dir) as folder:
        assert folder.staging is not None
        write_folder(results, folder.staging, provenance, reproduction, designs=designs)
        return folder.commit() / "report.html"


def nc_attrs(result: AnalysisResult, provenance: dict[str, Any]) -> dict[str, str]:
    """What an analysis's ``.nc`` says of its run: the gate verdict of every prior set."""
    return {
        "gate_status": result.status,
        "gate": json.dumps({n: f.gate.to_dict() for n, f in result.fits.items()},
                           sort_keys=True, allow_nan=True),
        "gate_flags": json.dumps(result.spec.gate_flags(), sort_keys=True),
        "run_id": str(provenance.get("run_id", "")),
    }


def write_folder(
    results: list[AnalysisResult],
    out: Path,
    provenance: dict[str, Any],
    reproduction: pd.DataFrame | None = None,
    designs: Sequence[DesignResult] = (),
) -> Path:
    """Write every output of a run into the folder ``out`` (a staging folder); return the report.

    Prefer :func:`write_results`, which makes the folder's replacement all or nothing. Each
    design study writes ``tables/design_<name>_<table>.csv`` (the table's name in lower case,
    ``_`` for anything else), ``figures/design_<name>.png`` and its entry of
    ``summary.json``'s ``designs`` list (:meth:`bayesblina.design.studies.DesignResult.entry`).
    """
    figures: dict[str, bytes | None] = {}
    for r in results:
        name = r.spec.name
        idata = r.idata()
        attrs = nc_attrs(r, provenance)
        idata.attrs = {**idata.attrs, **attrs}
        idata.posterior.attrs.update(attrs)
        with atomic_path(out / "idata" / f"{name}.nc") as tmp:
            idata.to_netcdf(str(tmp), engine="h5netcdf")
        write_csv(out / "tables" / f"{name}_data.csv", r.model.data)
        write_csv(out / "tables" / f"{name}_posterior.csv", r.summary_table())
        write_csv(out / "tables" / f"{name}_diagnostics.csv", r.diagnostics_table())
        for title, table in r.extra_tables().items():
            write_csv(out / "tables" / table_file(name, title), table)
        ref = r.reference
        if ref is not None:
            write_csv(out / "tables" / f"{name}_published.csv", ref)
        make_figure = get_components(r.spec.analysis.model).figure
        fig = make_figure(r) if make_figure is not None else None
        figures[name] = figure_png(fig) if fig is not None else None
        if figures[name] is not None:
            write_bytes(out / "figures" / f"{name}.png", figures[name])
    for d in designs:
        for title, table in d.tables.items():
            write_csv(out / "tables" / d.csv_name(title), table)
        if d.figure is not None:
            write_bytes(out / "figures" / d.figure_name(), d.figure)
        for what, png in d.extra_figures.items():
            write_bytes(out / "figures" / d.figure_name(what), png)
    if reproduction is not None:
        write_csv(out / "tables" / REPRODUCTION_CSV, reproduction)
    write_json(
        out / "summary.json",
        {"provenance": provenance, "analyses": [summary_entry(r) for r in results],
         "designs": [d.entry() for d in designs]},
    )
    report = out / "report.html"
    write_text(report, render_report(results, figures, provenance, reproduction,
                                     designs=designs))
    return report
