"""The documentation builds without warnings and its numbers follow the code and the data.

The tables of ``docs/analyses/overall_cr.md``, ``docs/analyses/dose_toxicity.md`` and
``docs/analyses/survival.md`` are computed when the docs are built (the ``bayesblina-table``
directive, with the rooms' ``tables`` modules; their tests are
``tests/test_response_rate_tables.py``, ``tests/test_dose_toxicity_tables.py`` and
``tests/test_survival_tables.py``). What stays here for those pages: the survival page's
prose (tolerances, validation numbers) and its pasted MCMC results, refitted by a slow test.
``docs/data.md`` must name every packaged data file and every recorded contradiction.
"""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

from bayesblina.analyses import get_model_class
from bayesblina.analyses.registry import load_spec
from bayesblina.analyses.subgroups.model import (
    SubgroupModel,
    beta_difference_prob,
    contrast_label,
    hierarchical_posterior,
)
from bayesblina.core.frequentist import clopper_pearson, percent, round_half_up
from bayesblina.data import load_subgroups
from bayesblina.pipeline import run_analysis
from bayesblina.reconstruct.pseudo_ipd import (
    ASSUMPTIONS,
    LANDMARK_TOL_POINTS,
    MEDIAN_TOL_MONTHS,
)
from bayesblina.report.write import summary_entry

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
DATA = ROOT / "bayesblina" / "data"


def test_data_page_names_every_file_and_contradiction():
    page = (DOCS / "data.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in DATA.iterdir() if p.suffix in (".csv", ".toml"))
    assert files
    missing = [f for f in files if f"`{f}`" not in page]
    assert not missing, f"docs/data.md does not describe {missing}"
    entries = tomllib.loads((DATA / "contradictions.toml").read_text(encoding="utf-8"))
    ids = [c["id"] for c in entries["contradiction"]]
    missing = [i for i in ids if f"| {i} |" not in page]
    assert not missing, f"docs/data.md does not list contradiction(s) {missing}"


def test_api_page_lists_only_importable_modules():

    page = (DOCS / "api.md").read_text(encoding="utf-8")
    modules = re.findall(r"^\.\. automodule:: (\S+)$", page, flags=re.MULTILINE)
    assert modules
    for name in modules:
        importlib.import_module(name)


@pytest.mark.slow
@pytest.mark.docs
def test_sphinx_build_is_warning_free(tmp_path):
    out = tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         str(DOCS), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stdout}\n{proc.stderr}"
    assert (out / "index.html").is_file()
    assert (out / "analyses" / "overall_cr.html").is_file()
    assert (out / "analyses" / "dose_toxicity.html").is_file()
    assert (out / "analyses" / "survival.html").is_file()
    assert (out / "api.html").is_file()


# -- docs/analyses/survival.md --------------------------------------------------------------

SURVIVAL_PAGE = DOCS / "analyses" / "survival.md"


def test_survival_page_names_every_assumption_and_tolerance():
    """The prose quotes the code's tolerances (the assumption table is the code's own)."""
    page = " ".join(SURVIVAL_PAGE.read_text(encoding="utf-8").split())  # lines rewrapped
    assert f"within {MEDIAN_TOL_MONTHS:g} months" in page
    assert f"within {LANDMARK_TOL_POINTS:g} percentage points" in page
    assert len({a.key for a in ASSUMPTIONS}) == len(ASSUMPTIONS)


def test_survival_page_validation_numbers_match_the_tests():
    """The leukemia cross-check numbers quoted on the page are those the tests assert."""
    source = (ROOT / "tests" / "analyses" / "survival" / "test_model.py").read_text(encoding="utf-8")
    page = SURVIVAL_PAGE.read_text(encoding="utf-8")
    for number in ("33.7652", "1.35373", "3.515687", "-1.267335", "0.311709"):
        assert number in source
        assert number in page


@pytest.mark.slow
@pytest.mark.mcmc
def test_survival_page_os_results_are_current():
    """The pasted OS results are reproduced (to Monte Carlo error) by the spec as shipped.

    The page quotes one run of ``models/survival_os.toml``; this refits it (without the
    LOO alternatives and the PPC, which do not change the posterior) and checks the
    quoted posterior medians of the OS row, so that a change of the spec, the
    reconstruction or the model cannot leave stale numbers on the page.
    """


    spec = load_spec(ROOT / "models" / "survival_os.toml")
    spec = spec.model_copy(update={
        "options": spec.options.model_copy(update={"compare": [], "ppc_draws": 0}),
    })
    result = run_analysis(spec)
    assert result.passed
    (fit,) = result.fits.values()
    summary = fit.summary.set_index(["quantity", "element"])["median"]
    page = SURVIVAL_PAGE.read_text(encoding="utf-8")
    row = next(line for line in page.splitlines() if line.startswith("| OS (`survival_os`)"))
    quoted = [float(x) for x in re.findall(r"\| ([0-9.]+) \(", row)]
    fitted = [summary[("median", "")], summary[("surv", "6.0")], summary[("surv", "12.0")],
              summary[("surv", "24.0")], summary[("rmst", "")]]
    assert len(quoted) == len(fitted)
    for q, f in zip(quoted, fitted, strict=True):
        assert q == pytest.approx(f, rel=0.03, abs=0.006), (quoted, fitted)


# -- docs/analyses/subgroups.md -------------------------------------------------------------

SUBGROUP_PAGE = DOCS / "analyses" / "subgroups.md"
SUBGROUP_SPECS = (
    "subgroups_age", "subgroups_marrow_blasts", "subgroups_refractory",
    "subgroups_previous_hsct", "subgroups_previous_relapses", "subgroups_region",
    "subgroups_age_exnex",
)


def mean_sd(mean: float, sd: float) -> str:
    """A posterior mean with its SD, as the subgroup page prints them."""
    return f"{mean:.3f} ({sd:.3f})"


def subgroup_tables() -> dict[str, list[str]]:
    """Rows of the subgroup page's tables, recomputed from the data, the specs and the code.

    Keys: ``data`` (Fig 2 counts, recomputed exact CIs beside the published ones),
    ``priors`` (what each prior set implies, by exact one-dimensional integrals),
    ``settings`` (model, options and sampler of each spec), ``exact`` (posterior mean and
    SD of every level's CR rate under no, complete and partial pooling, by the conjugate
    posteriors and the quadrature of the models), ``contrasts`` and ``tau`` (the same for
    the contrasts and for τ) and ``exnex`` (the EXNEX posterior by quadrature).
    """


    tables: dict[str, list[str]] = {k: [] for k in (
        "data", "priors", "settings", "exact", "contrasts", "tau", "exnex")}

    def pct(value: float) -> str:
        return f"{round_half_up(100 * value, 1):.1f}"

    fig2 = load_subgroups().sort_values("order")
    for _, r in fig2.iterrows():
        x, n = int(r["cr"]), int(r["n"])
        lo, hi = clopper_pearson(x, n)
        tables["data"].append(
            f"| `{r['factor']}` | `{r['level']}` | {x}/{n} | {percent(x, n, 1):.1f} "
            f"| {pct(lo)} to {pct(hi)} | {r['published_pct']:.1f} ({r['published_ci_low']:.1f} "
            f"to {r['published_ci_high']:.1f}) |"
        )

    specs = {name: load_spec(ROOT / "models" / f"{name}.toml") for name in SUBGROUP_SPECS}

    # what the priors imply; prior sets shared by several specs are listed once
    def marginal_logit_quantiles(mu, tau, probs) -> list[float]:
        """Quantiles of mu + tau z (z ~ N(0, 1)): given tau it is N(m, s² + tau²)."""
        t_dist = stats.halfnorm(scale=tau.sigma)

        def cdf(t: float) -> float:
            def f(v):
                return stats.norm.cdf((t - mu.mu) / np.sqrt(mu.sigma**2 + v**2)) * t_dist.pdf(v)
            return integrate.quad(f, 0, np.inf, epsabs=1e-13, epsrel=1e-12, limit=200)[0]

        return [optimize.brentq(lambda t, q=q: cdf(t) - q, -60, 60, xtol=1e-12)
                for q in probs]

    seen: dict[str, list[str]] = {}
    rows: dict[str, tuple[str, str]] = {}
    for name, spec in specs.items():
        for set_name, prior_set in spec.priors.items():
            key = repr(prior_set.parameter_priors())
            seen.setdefault(key, []).append(name.removeprefix("subgroups_"))
            if key in rows:
                continue
            mu, tau = prior_set.mu, prior_set.tau
            typical = special.expit(stats.norm(mu.mu, mu.sigma).ppf([0.025, 0.975]))
            t_dist = stats.halfnorm(scale=tau.sigma)
            med = t_dist.median()
            odds = np.exp(stats.norm.ppf(0.975) * np.sqrt(2) * med)
            level = special.expit(marginal_logit_quantiles(mu, tau, [0.025, 0.975]))
            nex = "—"
            if hasattr(prior_set, "nex"):
                m, s = prior_set.nex.mu, prior_set.nex.sigma
                nlo, nhi = special.expit(stats.norm(m, s).ppf([0.025, 0.975]))
                nex = (f"N({m:g}, {s:g}²): {pct(nlo)}% to {pct(nhi)}%, "
                       f"w = {spec.options.weight:g}")
            rows[key] = (set_name, (
                f"| N({mu.mu:g}, {mu.sigma:g}²) | half-normal({tau.sigma:g}) "
                f"| {pct(typical[0])}% to {pct(typical[1])}% | {med:.2f} "
                f"| {t_dist.sf(1.0):.2f} | {odds:.1f} | {pct(level[0])}% to {pct(level[1])}% "
                f"| {nex} |"))
    for key, (set_name, rest) in rows.items():
        tables["priors"].append(f"| `{set_name}` | {', '.join(seen[key])} {rest}")

    for name, spec in specs.items():
        o, s = spec.options, spec.sampler
        model = get_model_class(spec.analysis.model).from_spec(spec)
        what = (f"EXNEX, w = {o.weight:g}" if spec.analysis.model == "exnex"
                else f"{o.pooling} pooling")
        contrasts = ", ".join(contrast_label(a, b) for a, b in model.contrasts()) or "—"
        compare = ", ".join(o.compare) or "—"
        tables["settings"].append(
            f"| `{name}` | {what} | {contrasts} | {compare} | {s.chains} | {s.draws} "
            f"| {s.tune} | {s.target_accept:g} | {s.seed} |"
        )

    # exact posteriors: conjugate (no, complete pooling) and quadrature (partial, EXNEX)
    flat = {"p": specs["subgroups_age"].options.compare_priors["none"]["p"]}
    for name, spec in specs.items():
        cls = get_model_class(spec.analysis.model)
        fits = {ps: cls.from_spec(spec, ps) for ps in spec.priors}
        first = next(iter(fits.values()))
        data = first.data
        factor = name.removeprefix("subgroups_")
        exact = {ps: m.exact_table(spec.summary).set_index(["quantity", "population"])
                 for ps, m in fits.items()}
        if spec.analysis.model == "exnex":
            for level in data["subgroup"]:
                for ps, table in exact.items():
                    r = table.loc[("p", level)]
                    tables["exnex"].append(
                        f"| `{level}` | `{ps}` | {r['P(exchangeable)']:.3f} "
                        f"| {mean_sd(r['mean'], r['sd'])} |"
                    )
            for a, b in first.contrasts():
                for ps, table in exact.items():
                    r = table.loc[("difference", contrast_label(a, b))]
                    tables["exnex"].append(
                        f"| {contrast_label(a, b)} | `{ps}` | — | {mean_sd(r['mean'], r['sd'])} |"
                    )
            continue
        none = SubgroupModel(data, flat, {"pooling": "none"}).conjugate_posteriors()
        complete = SubgroupModel(data, flat, {"pooling": "complete"}).conjugate_posteriors()
        for _, r in data.iterrows():
            level = r["subgroup"]
            partial = " | ".join(mean_sd(t.loc[("p", level), "mean"], t.loc[("p", level), "sd"])
                                 for t in exact.values())
            tables["exact"].append(
                f"| `{factor}` | `{level}` | {r['x'] / r['n']:.3f} "
                f"| {mean_sd(none[level].mean(), none[level].std())} "
                f"| {mean_sd(complete[level].mean(), complete[level].std())} | {partial} |"
            )
        for a, b in first.contrasts():
            label = contrast_label(a, b)
            ra, rb = (data.set_index("subgroup").loc[k] for k in (a, b))
            da, db = none[a], none[b]
            partial = " | ".join(
                mean_sd(t.loc[("difference", label), "mean"], t.loc[("difference", label), "sd"])
                for t in exact.values())
            tables["contrasts"].append(
                f"| `{factor}` | {label} | {ra['x'] / ra['n'] - rb['x'] / rb['n']:.3f} "
                f"| {mean_sd(da.mean() - db.mean(), np.sqrt(da.var() + db.var()))} "
                f"| {beta_difference_prob(da, db):.3f} | {partial} |"
            )
        taus = " | ".join(mean_sd(*t.loc[("tau", ""), ["mean", "sd"]]) for t in exact.values())
        tables["tau"].append(f"| `{factor}` | {len(data)} | {taus} |")
    for sigma in sorted({ps.tau.sigma for spec in specs.values() for ps in spec.priors.values()},
                        reverse=True):  # the prior means the tau table is read against
        tables["tau"].append(f"{stats.halfnorm(scale=sigma).mean():.2f} under "
                             f"half-normal({sigma:g})")
    return tables


@pytest.fixture(scope="module")
def subgroup_page_tables() -> dict[str, list[str]]:
    return subgroup_tables()


@pytest.mark.parametrize(
    "table", ["data", "priors", "settings", "exact", "contrasts", "tau", "exnex"]
)
def test_subgroup_page_tables_match_data_specs_and_code(subgroup_page_tables, table):
    page = SUBGROUP_PAGE.read_text(encoding="utf-8")
    rows = subgroup_page_tables[table]
    assert rows
    for row in rows:
        assert row in page, f"{SUBGROUP_PAGE.name} lacks (or has stale) {table} row:\n{row}"


def test_subgroup_page_exact_cis_are_the_published_ones(subgroup_page_tables):
    """The page says the recomputed exact CIs equal the printed ones: they do."""
    for row in subgroup_page_tables["data"]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert f"{cells[3]} ({cells[4]})" == cells[5], row


def test_subgroup_page_quotes_the_code_and_test_settings():
    """The quadrature settings and tolerances the page quotes are those of the code/tests."""


    page = SUBGROUP_PAGE.read_text(encoding="utf-8")
    defaults = inspect.signature(hierarchical_posterior).parameters
    assert f"$\\tau$ on {defaults['n_tau'].default} nodes" in page
    assert f"Gauss–Hermite quadrature with {defaults['n_gh'].default} nodes" in page
    tests = (ROOT / "tests" / "analyses" / "subgroups" / "test_model.py").read_text(encoding="utf-8")
    for code, text in (("abs=1e-9", "$10^{-9}$"), ("abs=1e-7", "$10^{-7}$"),
                       ("atol=2e-6", "$2 \\times 10^{-6}$")):
        assert code in tests and text in page, (code, text)


def test_subgroup_page_quotes_the_spec_records_and_names_the_summary_keys():
    """The sampler records quoted on the page are the specs' own; the JSON keys are the code's."""

    page = " ".join(SUBGROUP_PAGE.read_text(encoding="utf-8").split())  # lines rewrapped
    spec_text = (ROOT / "models" / "subgroups_age.toml").read_text(encoding="utf-8")
    for phrase in ("8 of 48 test fits", "none in 108", "3 of 72 test fits"):
        assert phrase in spec_text and phrase in page, phrase
    exnex_text = (ROOT / "models" / "subgroups_age_exnex.toml").read_text(encoding="utf-8")
    assert "no divergences in 30 test fits" in exnex_text and "30 test fits" in page
    doc = summary_entry.__doc__ or ""
    for key in ("subgroups[prior_set][model][level]",
                "subgroup_contrasts[prior_set][model][contrast]",
                "subgroup_models[prior_set][model]"):
        assert key in doc and key in page, key
