"""The documentation builds without warnings and its numbers follow the code and the data.

The static tables of ``docs/analyses/overall_cr.md`` (prior and exact posterior summaries)
are recomputed here from ``models/overall_cr.toml`` with scipy, and those of
``docs/analyses/dose_toxicity.md`` from ``models/dose_toxicity_blrm.toml`` and
``models/dose_toxicity_crm.toml`` with the exact grid engine, and those of
``docs/analyses/survival.md`` (published numbers, the assumptions of the reconstruction,
the reconstructions of the specs and what the priors imply) from the packaged data,
:mod:`bayesblina.reconstruct.pseudo_ipd` and the ``models/survival_*.toml`` specs, so that the
pages cannot drift from the specs; ``docs/data.md`` must name every packaged data file and
every recorded contradiction.
"""

from __future__ import annotations

import csv
import importlib
import inspect
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, special, stats

from bayesblina.analyses import BLRMModel, CRMModel, get_model_class
from bayesblina.analyses.dose_toxicity.exact import blrm_grid_posterior
from bayesblina.analyses.registry import load_spec
from bayesblina.analyses.subgroups.compare import DEFAULT_COMPARE_PRIORS
from bayesblina.analyses.subgroups.model import (
    SubgroupModel,
    beta_difference_prob,
    contrast_label,
    hierarchical_posterior,
)
from bayesblina.core.frequentist import clopper_pearson, percent, round_half_up
from bayesblina.data import load_subgroups, load_survival_summaries
from bayesblina.pipeline import run_analysis
from bayesblina.reconstruct.pseudo_ipd import (
    ASSUMPTIONS,
    LANDMARK_TOL_POINTS,
    MEDIAN_TOL_MONTHS,
    assumptions_table,
    check_reconstruction,
    reconstruct_with_diagnostics,
)
from bayesblina.report.write import summary_entry

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SPEC = ROOT / "models" / "overall_cr.toml"
DATA = ROOT / "bayesblina" / "data"


def prob(value: float) -> str:
    """A probability as the overall-CR page prints it."""
    if value > 0.999:
        return "> 0.999"
    if value < 0.001:
        return "< 0.001"
    return f"{value:.3f}"


def prior_rows(spec_path: Path = SPEC) -> list[str]:
    """Rows of the prior table: Beta(a, b), mean, ESS, P(p > 0.275), P(p < 0.10)."""
    spec = tomllib.loads(spec_path.read_text(encoding="utf-8"))
    rows = []
    for name, prior_set in spec["priors"].items():
        p = prior_set["p"]
        a, b = float(p["alpha"]), float(p["beta"])
        dist = stats.beta(a, b)
        rows.append(
            f"| `{name}` | Beta({a:g}, {b:g}) | {a / (a + b):.3f} | {a + b:g} "
            f"| {prob(dist.sf(0.275))} | {prob(dist.cdf(0.10))} |"
        )
    return rows


def posterior_rows(spec_path: Path = SPEC) -> list[str]:
    """Rows of the exact posterior table, per population and prior set."""

    spec = tomllib.loads(spec_path.read_text(encoding="utf-8"))
    data = spec["data"]
    with (DATA / f"{data['table']}.csv").open(encoding="utf-8") as fh:
        counts = {
            r["population"]: (int(r["x"]), int(r["n"]))
            for r in csv.DictReader(fh)
            if r["quantity"] == data["quantity"]
        }
    rows = []
    for pop in data["populations"]:
        x, n = counts[pop]
        for name, prior_set in spec["priors"].items():
            a, b = float(prior_set["p"]["alpha"]), float(prior_set["p"]["beta"])
            post = stats.beta(a + x, b + n - x)
            lo, hi = post.ppf([0.025, 0.975])
            rows.append(
                f"| `{pop}` | `{name}` | Beta({a + x:g}, {b + n - x:g}) | {post.mean():.3f} "
                f"| {lo:.3f} to {hi:.3f} | {prob(post.sf(0.10))} | {prob(post.sf(0.275))} |"
            )
    return rows


def test_overall_cr_page_prior_table_matches_spec():
    page = (DOCS / "analyses" / "overall_cr.md").read_text(encoding="utf-8")
    for row in prior_rows():
        assert row in page, f"docs/analyses/overall_cr.md lacks (or has stale) row:\n{row}"


def test_overall_cr_page_posterior_table_matches_spec_and_data():
    page = (DOCS / "analyses" / "overall_cr.md").read_text(encoding="utf-8")
    for row in posterior_rows():
        assert row in page, f"docs/analyses/overall_cr.md lacks (or has stale) row:\n{row}"


# -- docs/analyses/dose_toxicity.md ---------------------------------------------------------

BLRM_SPEC = ROOT / "models" / "dose_toxicity_blrm.toml"
CRM_SPEC = ROOT / "models" / "dose_toxicity_crm.toml"
DOSE_PAGE = DOCS / "analyses" / "dose_toxicity.md"


def dose(value: float) -> str:
    """A dose (µg/m²/day) as the dose-toxicity page prints it."""
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def target_label(t: float) -> str:
    """An MTD target: 1/6 by name, others as decimals."""
    return "1/6" if abs(t - 1 / 6) < 1e-6 else f"{t:g}"


def dose_toxicity_tables() -> dict[str, list[str]]:
    """Rows of every table of the dose-toxicity page, recomputed by the exact engine.

    Keys: ``prior`` (prior-implied P(DLT) with no data), ``posterior`` (P(DLT) per studied
    dose and the stepwise cohort), ``mtd`` (MTD per target, EWOC dose), ``treatments``
    (the three treatments of stepwise regimens), ``fifth_dlt`` (the Discussion's fifth
    DLT), ``pk_expansion`` (the PK expansion's 0/26 included) and ``crm``.
    """


    spec = load_spec(BLRM_SPEC)
    opts = spec.options
    hi = opts.cuts[1]
    studied = [float(d) for d in opts.studied_doses]
    tables: dict[str, list[str]] = {k: [] for k in (
        "prior", "posterior", "mtd", "treatments", "fifth_dlt", "pk_expansion", "crm")}
    for name, prior_set in spec.priors.items():
        th = prior_set.theta
        # the prior alone: the grid posterior of a data set with no patients
        one = np.ones((1, 1))
        prior = blrm_grid_posterior(one, one, np.zeros((1, 1)), np.zeros((1, 1)),
                                    d_ref=opts.d_ref, mean=th.mean, sd=th.sd, corr=th.corr)
        q = prior.p_quantiles(studied, (0.025, 0.5, 0.975))[0]
        cells = [f"{prob(m)} ({prob(lo)} to {prob(up)})" for lo, m, up in q]
        over15 = prior.prob_exceeds([15.0], hi)[0, 0]
        beta_lo, beta_hi = np.exp(th.mean[1] + np.array([-1.959964, 1.959964]) * th.sd[1])
        mtd_med = prior.mtd_quantiles(opts.targets[0], (0.5,))[0, 0]
        tables["prior"].append(
            f"| `{name}` | N({th.mean[0]:g}, {th.sd[0]:g}²) | N({th.mean[1]:g}, {th.sd[1]:g}²) "
            f"| {th.corr:g} | {' | '.join(cells)} | {prob(over15)} | {beta_lo:.2f} to "
            f"{beta_hi:.2f} | {dose(mtd_med)} |"
        )

        model = BLRMModel.from_spec(spec, name)
        exact = model.exact_table(spec.summary)
        extra = model.extra_tables(None, spec)  # exact engine only: needs no fit
        curve = extra["Posterior DLT curve over the dose grid (exact engine)"].set_index("dose")
        treatments = extra["Stepwise regimens: three treatments (exact engine)"]
        fifth = extra["Sensitivity: the Discussion's fifth DLT (exact engine)"]
        over_col = f"P(p>{hi:g})"
        for _, r in exact[exact["quantity"] == "p_dose"].iterrows():
            c = curve.loc[float(r["element"])]
            tables["posterior"].append(
                f"| `{name}` | {r['element']} | {prob(r['mean'])} | {prob(r['median'])} "
                f"({prob(r['eti_low'])} to {prob(r['eti_high'])}) | {prob(c['P(under)'])} "
                f"| {prob(c['P(target)'])} | {prob(r[over_col])} |"
            )
        for _, r in exact[exact["quantity"] == "p_cohort"].iterrows():
            if len(model.data.set_index("label").loc[r["element"], "periods"]) > 1:
                tables["posterior"].append(
                    f"| `{name}` | {r['element']} (stepwise) | {prob(r['mean'])} | — | — | — "
                    f"| {prob(r[over_col])} |"
                )
        ewoc = fifth.loc[fifth["scenario"] == "as published", "EWOC dose"].iloc[0]
        for t, (_, r) in zip(opts.targets, exact[exact["quantity"] == "mtd"].iterrows(),
                             strict=True):
            tables["mtd"].append(
                f"| `{name}` | {target_label(t)} | {dose(r['median'])} | {dose(r['eti_low'])} "
                f"to {dose(r['eti_high'])} | {prob(r['P(MTD>=15)'])} | {ewoc:g} |"
            )
        t0 = f"{opts.targets[0]:g}"
        for _, r in treatments.iterrows():
            cohorts = " | ".join(prob(r[f"P(DLT) {lab}"]) for lab in model.data["label"])
            tables["treatments"].append(
                f"| `{name}` | {r['treatment']} | {cohorts} | {dose(r[f'MTD({t0}) median'])} "
                f"| {prob(r[f'P(p(15)>{hi:g})'])} |"
            )
        for _, r in fifth.iterrows():
            over = " | ".join(prob(r[f"P(p({d:g})>{hi:g})"]) for d in studied)
            tables["fifth_dlt"].append(
                f"| `{name}` | {r['scenario']} | {dose(r[f'MTD({t0}) median'])} "
                f"| {r[f'MTD({t0}) 90% interval']} | {prob(r[f'P(MTD({t0})>=15)'])} | {over} "
                f"| {r['EWOC dose']:g} |"
            )

        data = BLRMModel.load_data(spec.data.model_copy(update={"include_pk_expansion": True}))
        pk = model.set_data(data)
        exact = pk.exact_table(spec.summary).set_index(["quantity", "element"])
        ewoc = pk.grid_posterior().ewoc(np.asarray(opts.dose_grid), opts.max_overdose_prob,
                                        opts.cuts)[0]
        mtd = exact.loc[("mtd", t0)]
        tables["pk_expansion"].append(
            f"| `{name}` | {prob(exact.loc[('p_dose', '5'), 'mean'])} "
            f"| {prob(exact.loc[('p_dose', '15'), 'mean'])} "
            f"| {prob(exact.loc[('p_dose', '30'), 'mean'])} "
            f"| {prob(exact.loc[('p_dose', '15'), over_col])} "
            f"| {prob(exact.loc[('p_dose', '30'), over_col])} | {dose(mtd['median'])} "
            f"({dose(mtd['eti_low'])} to {dose(mtd['eti_high'])}) | {ewoc:g} |"
        )

    crm_spec = load_spec(CRM_SPEC)
    for name in crm_spec.priors:
        crm = CRMModel.from_spec(crm_spec, name)
        post = crm.grid_posterior()
        exact = crm.exact_table(crm_spec.summary).set_index(["quantity", "element"])
        plugin = post.p_plugin()[0]
        over = post.prob_exceeds(crm.options.cuts[1])[0]
        best = crm.options.dose_levels[int(post.recommend(crm.options.target)[0])]
        for k, level in enumerate(crm.options.dose_levels):
            mean = exact.loc[("p_level", f"{level:g}"), "mean"]
            tables["crm"].append(
                f"| `{name}` | {level:g} | {crm.options.skeleton[k]:g} | {prob(mean)} "
                f"| {prob(plugin[k])} | {prob(over[k])} | {'**yes**' if level == best else '—'} |"
            )
    return tables


@pytest.fixture(scope="module")
def dose_toxicity_page_tables() -> dict[str, list[str]]:
    return dose_toxicity_tables()


@pytest.mark.parametrize(
    "table", ["prior", "posterior", "mtd", "treatments", "fifth_dlt", "pk_expansion", "crm"]
)
def test_dose_toxicity_page_tables_match_specs(dose_toxicity_page_tables, table):
    page = DOSE_PAGE.read_text(encoding="utf-8")
    rows = dose_toxicity_page_tables[table]
    assert rows
    for row in rows:
        assert row in page, f"{DOSE_PAGE.name} lacks (or has stale) {table} row:\n{row}"


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
SURVIVAL_SPECS = ("survival_os", "survival_rfs", "survival_rfs_mrd", "survival_rfs_mrd_ph")


def sig(value: float) -> str:
    """A positive number to two significant digits, never in exponent notation."""

    return np.format_float_positional(value, precision=2, unique=False, fractional=False,
                                      trim="-")


def prior_text(prior) -> str:
    """A prior of a survival spec as the page prints it."""
    if prior.family == "normal":
        return f"N({prior.mu:g}, {prior.sigma:g}²)"
    if prior.family == "half_normal":
        return f"half-normal({prior.sigma:g})"
    return prior.family


def survival_tables() -> dict[str, list[str]]:
    """Rows of the survival page's tables, recomputed from the data, the code and the specs.

    Keys: ``published`` (the printed KM summaries), ``assumptions`` (every assumption of
    the reconstruction), ``reconstructions`` (the reconstructions each spec fits, checked
    against the published numbers), ``priors`` and ``implied`` (what the priors imply,
    by deterministic quantile grids) and ``runs`` (the settings of each spec, which the
    pasted MCMC results quote).
    """


    tables: dict[str, list[str]] = {k: [] for k in (
        "published", "assumptions", "reconstructions", "priors", "implied", "runs")}
    summ = load_survival_summaries()
    for _, r in summ[summ["endpoint"].isin(["os", "rfs"])].iterrows():
        landmark = ("—" if pd.isna(r["landmark_pct"])
                    else f"{r['landmark_pct']:g}% at {r['landmark_time']:g} months")
        fu = "—" if pd.isna(r["median_followup_months"]) else f"{r['median_followup_months']:g}"
        tables["published"].append(
            f"| {r['endpoint'].upper()} | `{r['population']}` | {r['n']} "
            f"| {r['median_months']:.1f} ({r['ci_low']:.1f} to {r['ci_high']:.1f}) | {landmark} "
            f"| {fu} | {r['source']} |"
        )
    for _, a in assumptions_table().iterrows():
        tables["assumptions"].append(f"| {a['key']} | {a['endpoints']} | {a['topic']} "
                                     f"| {a['text']} |")

    specs = {name: load_spec(ROOT / "models" / f"{name}.toml") for name in SURVIVAL_SPECS}
    done = set()
    for name, spec in specs.items():
        d = spec.data
        s = spec.sampler
        tables["runs"].append(
            f"| `{name}` | {d.endpoint} | {d.reconstructions} | {d.seed} | {s.chains} "
            f"| {s.draws} | {s.tune} | {s.seed} |"
        )
        if (d.endpoint, d.reconstructions, d.seed) in done:
            continue
        done.add((d.endpoint, d.reconstructions, d.seed))
        rec = reconstruct_with_diagnostics(d.endpoint, d.reconstructions, d.seed)
        checks = pd.concat([check_reconstruction(d.endpoint, df).assign(k=k)
                            for k, df in enumerate(rec.draws)], ignore_index=True)
        for pop, c in checks.groupby("population", sort=False):
            def rng(q: str, fmt: str, c=c) -> str:
                v = c.loc[c["quantity"] == q, "reconstructed"]
                if not len(v):
                    return "—"
                lo, hi = f"{v.min():{fmt}}", f"{v.max():{fmt}}"
                return lo if lo == hi else f"{lo} to {hi}"

            pub = c.loc[c["quantity"] == "median", "published"].iloc[0]
            lm = c.loc[c["quantity"] == "rfs_6_months_pct", "published"]
            ok = bool(c.loc[c["criterion"], "within_tolerance"].all())
            tables["reconstructions"].append(
                f"| `{d.endpoint}` | `{pop}` | {d.reconstructions} (seed {d.seed}) "
                f"| {rec.candidates} | {pub:g} | {rng('median', '.2f')} "
                f"| {f'{lm.iloc[0]:g}' if len(lm) else '—'} | {rng('rfs_6_months_pct', '.1f')} "
                f"| {rng('events', '.0f')} | {'yes' if ok else '**no**'} |"
            )

    # what the priors imply: deterministic quantile grids (midpoints of N equal-probability
    # cells of each prior), every combination weighted equally
    n = 1000
    u = (np.arange(n) + 0.5) / n

    def grid(prior) -> np.ndarray:
        if prior.family == "normal":
            return stats.norm(prior.mu, prior.sigma).ppf(u)
        if prior.family == "half_normal":
            return stats.halfnorm(scale=prior.sigma).ppf(u)
        raise AssertionError(f"no grid for prior family {prior.family!r}")

    def interval(x, fmt) -> str:
        """Median (95% interval): of grid values, or of a frozen scipy distribution."""
        qs = [0.025, 0.5, 0.975]
        lo, mid, hi = x.ppf(qs) if hasattr(x, "ppf") else np.quantile(x, qs)
        return f"{fmt(mid)} ({fmt(lo)} to {fmt(hi)})"

    def lognormal(prior):  # exp of a normal prior, exactly
        return stats.lognorm(s=prior.sigma, scale=np.exp(prior.mu))

    for name, spec in specs.items():
        o = spec.options
        for set_name, prior_set in spec.priors.items():
            pri = prior_set.parameter_priors()
            scale, shape = grid(pri["log_scale"])[:, None], grid(pri["shape"])[None, :]
            log_lambda = scale if o.scale_prior == "log_lambda" else -scale / shape
            lam = np.exp(log_lambda) * np.ones_like(shape)
            median = lam * np.log(2) ** (1 / shape)
            s12 = np.exp(-((12 / lam) ** shape))
            if o.scale_prior == "log_lambda":  # lambda is lognormal: exact quantiles
                lo, hi = lognormal(pri["log_scale"]).ppf([0.025, 0.975])
            else:
                lo, hi = np.quantile(lam, [0.025, 0.975])
            rho_lo, rho_hi = stats.halfnorm(scale=pri["shape"].sigma).ppf([0.025, 0.975])
            effect = prior_text(pri["effect"]) if "effect" in pri else "—"
            tables["priors"].append(
                f"| `{name}` | `{set_name}` | {prior_text(pri['log_scale'])} "
                f"| {prior_text(pri['shape'])} | {effect} | {sig(lo)} to {sig(hi)} "
                f"| {sig(rho_lo)} to {sig(rho_hi)} "
                f"| {stats.halfnorm(scale=pri['shape'].sigma).cdf(1.0):.2f} |"
            )
            af = hr = "—"
            if "effect" in pri:
                eff = grid(pri["effect"])[:, None]
                if o.form == "aft":  # AF = exp(b1) exactly lognormal, HR = exp(-rho b1)
                    af_x, hr_x = lognormal(pri["effect"]), np.exp(-shape * eff)
                else:  # HR = exp(g) exactly lognormal, AF = exp(-g / rho)
                    with np.errstate(over="ignore"):
                        af_x, hr_x = np.exp(-eff / shape), lognormal(pri["effect"])
                af, hr = interval(af_x, sig), interval(hr_x, sig)
            tables["implied"].append(
                f"| `{name}` | `{set_name}` | {interval(median, sig)} | {interval(s12, prob)} "
                f"| {af} | {hr} |"
            )
    return tables


@pytest.fixture(scope="module")
def survival_page_tables() -> dict[str, list[str]]:
    return survival_tables()


@pytest.mark.parametrize(
    "table", ["published", "assumptions", "reconstructions", "priors", "implied", "runs"]
)
def test_survival_page_tables_match_code_and_specs(survival_page_tables, table):
    page = SURVIVAL_PAGE.read_text(encoding="utf-8")
    rows = survival_page_tables[table]
    assert rows
    for row in rows:
        assert row in page, f"{SURVIVAL_PAGE.name} lacks (or has stale) {table} row:\n{row}"


def test_survival_page_reconstructions_meet_every_criterion(survival_page_tables):
    """Every reconstruction the specs fit reproduces the published numbers."""
    assert all(row.endswith("| yes |") for row in survival_page_tables["reconstructions"])


def test_survival_page_names_every_assumption_and_tolerance():

    page = SURVIVAL_PAGE.read_text(encoding="utf-8")
    assert f"within {MEDIAN_TOL_MONTHS:g} months" in page
    assert f"within {LANDMARK_TOL_POINTS:g} percentage points" in page
    assert len({a.key for a in ASSUMPTIONS}) == len(ASSUMPTIONS)


def test_survival_page_validation_numbers_match_the_tests():
    """The leukemia cross-check numbers quoted on the page are those the tests assert."""
    source = (ROOT / "tests" / "test_survival.py").read_text(encoding="utf-8")
    page = SURVIVAL_PAGE.read_text(encoding="utf-8")
    for number in ("33.7652", "1.35373", "3.515687", "-1.267335", "0.311709"):
        assert number in source
        assert number in page


@pytest.mark.slow
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
    flat = DEFAULT_COMPARE_PRIORS["none"]
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
    tests = (ROOT / "tests" / "test_subgroups.py").read_text(encoding="utf-8")
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
