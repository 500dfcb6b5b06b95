"""Subgroup models (Fig 2): data and bad input, the non-centred graph, the independent
quadrature, and (slow) every packaged subgroup spec against it, gated, with no divergences."""

from __future__ import annotations

import json
import logging

import arviz as az
import matplotlib
import numpy as np
import pandas as pd
import pymc as pm
import pytest
from scipy import integrate, special, stats

from bayesblina.analyses import MODELS
from bayesblina.analyses.registry import DEFAULT_SPEC_DIR as SPECS
from bayesblina.analyses.registry import load_spec
from bayesblina.analyses.subgroups import components
from bayesblina.analyses.subgroups.compare import (
    compare_subgroup_models,
    prior_text,
)
from bayesblina.analyses.subgroups.data import (
    DEFAULT_CONTRASTS,
    FACTORS,
    SubgroupData,
    contrast_label,
)
from bayesblina.analyses.subgroups.exnex import ExnexModel
from bayesblina.analyses.subgroups.model import SubgroupModel
from bayesblina.analyses.subgroups.plots import plot_subgroup_forest
from bayesblina.analyses.subgroups.quadrature import (
    _aghq,
    _grid_moments,
    _log_binom,
    hierarchical_posterior,
    population_rate,
)
from bayesblina.analyses.subgroups.spec import LOGIT_03, comparison_priors
from bayesblina.core.components import Extras
from bayesblina.core.fit import AnalysisResult, Fit
from bayesblina.core.gate import Check, GateResult
from bayesblina.core.priors import HalfCauchyPrior, HalfNormalPrior, NormalPrior
from bayesblina.core.spec import GateThresholds, SamplerSettings, SummarySettings
from bayesblina.core.summaries import mcse
from bayesblina.data import data_file, load_subgroups
from bayesblina.errors import DataError, SpecError
from bayesblina.io import write_json
from bayesblina.report.write import summary_entry, write_results

matplotlib.use("Agg")
logging.getLogger("pymc").setLevel(logging.ERROR)

# the lead registers the models in bayesblina/model/__init__.py; until then (and harmlessly
# after) register them here, before any spec naming them is loaded
MODELS.setdefault(SubgroupModel.name, SubgroupModel)
MODELS.setdefault(ExnexModel.name, ExnexModel)

MU = {"family": "normal", "mu": LOGIT_03, "sigma": 1.5}
HN1 = {"family": "half_normal", "sigma": 1.0}
NEX = {"family": "normal", "mu": LOGIT_03, "sigma": 2.18}
BETA11 = {"family": "beta", "alpha": 1.0, "beta": 1.0}
#: the comparison priors of the packaged specs ([options.compare_priors.*])
FLAT_PRIORS = {"none": {"p": BETA11}, "complete": {"p": BETA11}}
PARTIAL_SPECS = [f"subgroups_{f}" for f in FACTORS]
ALL_SPECS = [*PARTIAL_SPECS, "subgroups_age_exnex"]

SPEC_HEAD = """
[analysis]
name = "bad_spec"
title = "t"
question = "q"
model = "{model}"
"""
PARTIAL_PRIOR = """
[priors.p]
mu = { family = "normal", mu = -0.85, sigma = 1.5 }
tau = { family = "half_normal", sigma = 1.0 }
"""
EXNEX_PRIOR = PARTIAL_PRIOR + 'nex = { family = "normal", mu = -0.85, sigma = 2.18 }\n'


def spec_text(data: str, options: str = "", model: str = "subgroups", prior: str | None = None):
    prior = prior if prior is not None else (EXNEX_PRIOR if model == "exnex" else PARTIAL_PRIOR)
    return SPEC_HEAD.format(model=model) + data + options + prior


def age_data() -> pd.DataFrame:
    return SubgroupModel.load_data(SubgroupData(factor="age"))


# -- data ------------------------------------------------------------------------------


@pytest.mark.parametrize("factor", FACTORS)
def test_every_factor_adds_up_to_the_70_patients_and_27_crs(factor):
    data = SubgroupModel.load_data(SubgroupData(factor=factor))
    assert (int(data["n"].sum()), int(data["x"].sum())) == (70, 27)
    assert set(data["factor"]) == {factor}
    table = load_subgroups()
    levels = table[table["factor"] == factor].sort_values("order")["level"]
    assert list(data["subgroup"]) == list(levels)
    SubgroupModel(data, {"mu": MU, "tau": HN1})  # valid as it stands


def test_age_levels_are_the_published_counts():
    data = age_data().set_index("subgroup")
    assert data.loc["<2", ["x", "n"]].tolist() == [6, 10]
    assert data.loc["7-17", ["x", "n"]].tolist() == [13, 40]
    assert data.loc["<2", "published_pct"] == 60.0


def test_unknown_factor_lists_the_allowed_ones(write_spec):
    path = write_spec(spec_text('[data]\nfactor = "sex"\n'))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    msg = str(err.value)
    assert str(path) in msg and "'data.factor'" in msg and "unknown factor 'sex'" in msg
    assert "allowed: ['region', 'marrow_blasts', 'age'" in msg
    assert "'all'" not in msg  # the population row is not a factor


@pytest.mark.parametrize(
    ("data", "options", "model", "match"),
    [
        # a level with no patients
        ('[data]\nrows = [{ label = "a", x = 0, n = 0 }, { label = "b", x = 1, n = 5 }]\n', "",
         "subgroups", r"'data.rows': rows.0, column 'n': value 0 is invalid: a denominator"),
        # CRs above patients
        ('[data]\nrows = [{ label = "a", x = 5, n = 3 }, { label = "b", x = 1, n = 5 }]\n', "",
         "subgroups", r"'data.rows': rows.0, column 'x': value 5 is invalid: it exceeds n = 3"),
        # levels that do not add up to the analysed population
        ('[data]\nrows = [{ label = "a", x = 5, n = 30 }, { label = "b", x = 22, n = 30 }]\n'
         "population_n = 70\npopulation_x = 27\n", "", "subgroups",
         "the levels add up to 60 patients, but population_n = 70"),
        ('[data]\nrows = [{ label = "a", x = 5, n = 40 }, { label = "b", x = 20, n = 30 }]\n'
         "population_n = 70\npopulation_x = 27\n", "", "subgroups",
         "the levels add up to 25 CRs, but population_x = 27"),
        ('[data]\nrows = [{ label = "a", x = 5, n = 40 }]\n', "", "subgroups",
         r"'data.rows'.*at least 2"),
        ('[data]\nrows = [{ label = "a", x = 5, n = 40 }, { label = "a", x = 1, n = 4 }]\n', "",
         "subgroups", r"'data.rows': rows.0, rows.1: duplicated row \(label = 'a'\)"),
        ('[data]\nfactor = "age"\nrows = [{ label = "a", x = 5, n = 40 }, '
         '{ label = "b", x = 1, n = 4 }]\n', "", "subgroups", "exactly one of 'factor'"),
        # EXNEX weight outside [0, 1]
        ('[data]\nfactor = "age"\n', "[options]\nweight = 1.5\n", "exnex",
         r"'options.weight'.*EXNEX weight w .* must be in \[0, 1\] \(got 1.5\)"),
        ('[data]\nfactor = "age"\n', "[options]\nweight = -0.1\n", "exnex",
         r"'options.weight'.*must be in \[0, 1\] \(got -0.1\)"),
        ('[data]\nfactor = "age"\n', '[options]\npooling = "some"\n', "subgroups",
         r"'options.pooling'.*'partial', 'none' or 'complete'"),
        ('[data]\nfactor = "age"\n', '[options]\ncompare = ["bma"]\n', "subgroups",
         r"'options.compare.0'"),
    ],
)
def test_bad_subgroup_specs(write_spec, data, options, model, match):
    path = write_spec(spec_text(data, options, model))
    with pytest.raises(SpecError, match=match) as err:
        load_spec(path)
    assert str(path) in str(err.value)


def test_tau_prior_family_must_be_positive(write_spec):
    prior = PARTIAL_PRIOR.replace('{ family = "half_normal", sigma = 1.0 }',
                                  '{ family = "normal", mu = 0, sigma = 1 }')
    with pytest.raises(SpecError, match=r"'priors.p.tau'.*not allowed.*half_normal"):
        load_spec(write_spec(spec_text('[data]\nfactor = "age"\n', prior=prior)))


@pytest.mark.parametrize(
    ("pooling", "prior", "match"),
    [
        ("partial", {"p": {"family": "beta", "alpha": 1, "beta": 1}},
         r"pooling 'partial' needs priors for exactly \['mu', 'tau'\] \(missing \['mu', 'tau'\]; "
         r"not used: \['p'\]\)"),
        ("none", {"mu": MU, "tau": HN1},
         r"pooling 'none' needs priors for exactly \['p'\]"),
        ("complete", {"p": {"family": "beta", "alpha": 1, "beta": 1}, "mu": MU},
         r"pooling 'complete' needs priors for exactly \['p'\] \(not used: \['mu'\]\)"),
        ("partial", {"mu": MU}, r"\(missing \['tau'\]\)"),
    ],
)
def test_a_prior_set_has_exactly_the_priors_of_its_pooling(pooling, prior, match):
    with pytest.raises(SpecError, match=match):
        SubgroupModel(age_data(), prior, {"pooling": pooling})
    model = SubgroupModel(age_data(), {"mu": MU, "tau": HN1})
    with pytest.raises(SpecError, match="needs priors"):
        model.set_prior({"p": {"family": "beta", "alpha": 1, "beta": 1}})


def test_exnex_needs_the_nex_component(write_spec):
    with pytest.raises(SpecError, match=r"missing required key 'priors.p.nex'"):
        load_spec(write_spec(spec_text('[data]\nfactor = "age"\n', model="exnex",
                                       prior=PARTIAL_PRIOR)))
    with pytest.raises(ValueError, match=r"must be in \[0, 1\] \(got 2.0\)"):
        ExnexModel(age_data(), {"mu": MU, "tau": HN1, "nex": NEX}, {"weight": 2.0})


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"subgroup": ["a", "b"], "x": [0, 1], "n": [0, 5]}),
         r"subgroup 'a': no patients \(n = 0\)"),
        (pd.DataFrame({"subgroup": ["a", "b"], "x": [4, 1], "n": [3, 5]}),
         "subgroup 'a': CRs x=4 exceed patients n=3"),
        (pd.DataFrame({"subgroup": ["a", "b"], "x": [-1, 1], "n": [3, 5]}),
         "subgroup 'a': negative CR count"),
        (pd.DataFrame({"subgroup": ["a", "b"], "x": [1.5, 1], "n": [3, 5]}),
         "subgroup 'a': counts must be integers"),
        (pd.DataFrame({"subgroup": ["a"], "x": [1], "n": [3]}), "at least two levels"),
        (pd.DataFrame({"subgroup": ["a", "a"], "x": [1, 1], "n": [3, 3]}),
         r"duplicate level\(s\) \['a'\]"),
        (pd.DataFrame({"level": ["a", "b"], "x": [1, 1], "n": [3, 3]}),
         r"missing column\(s\) \['subgroup'\]"),
    ],
)
def test_bad_data_frames_are_refused(frame, match):
    with pytest.raises(DataError, match=match):
        SubgroupModel(frame, {"mu": MU, "tau": HN1})


def _edited_fig2(tmp_path, factor, level, column, value):
    table = pd.read_csv(data_file("subgroups_fig2.csv"), dtype=str, keep_default_na=False)
    hit = (table["factor"] == factor) & (table["level"] == level)
    table.loc[hit, column] = str(value)
    path = tmp_path / "fig2.csv"
    table.to_csv(path, index=False)
    return path


def test_a_factor_that_does_not_add_up_is_refused_by_the_loader(tmp_path, write_spec):
    path = _edited_fig2(tmp_path, "age", "7-17", "n", 39)
    with pytest.raises(DataError, match=r"factor 'age'.*add up to 69 patients and 27 CRs"):
        load_subgroups(path)
    with pytest.raises(DataError, match=r"factor 'age'.*add up to 69 patients"):  # the spec loader checks the data
        load_spec(write_spec(spec_text(f'[data]\nfactor = "region"\nfile = "{path.name}"\n'), folder=tmp_path))


def test_a_level_without_patients_is_refused_by_the_loader(tmp_path):
    # previous_relapses "0" (0/2) emptied, its two patients moved to "1": margins still hold
    path = _edited_fig2(tmp_path, "previous_relapses", "0", "n", 0)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    hit = (table["factor"] == "previous_relapses") & (table["level"] == "1")
    table.loc[hit, "n"] = "33"
    table.to_csv(path, index=False)
    with pytest.raises(DataError, match="n"):
        load_subgroups(path)


# -- the graph ---------------------------------------------------------------------------


def test_partial_pooling_is_non_centred():
    model = SubgroupModel(age_data(), {"mu": MU, "tau": HN1})
    pm_model = model.build()
    assert {rv.name for rv in pm_model.free_RVs} == {"mu", "tau", "z"}
    assert {d.name for d in pm_model.deterministics} == {"theta", "p", "difference"}
    z = pm_model["z"]
    assert z.owner.op.name == "normal"
    values = np.array([-1.3, 0.2, 2.5])
    np.testing.assert_allclose(pm.logp(z, values).eval(), stats.norm.logpdf(values))
    # p is expit(mu + tau z), and the likelihood uses that logit
    point = {"mu": -0.3, "tau_log__": np.log(0.7), "z": np.array([1.2, -0.4, 0.1])}
    outs = pm_model.replace_rvs_by_values([pm_model["p"], pm_model["difference"]])
    p, diff = pm_model.compile_fn(outs, inputs=pm_model.value_vars, on_unused_input="ignore")(point)
    expected = special.expit(-0.3 + 0.7 * point["z"])
    np.testing.assert_allclose(p, expected, rtol=1e-12)
    np.testing.assert_allclose(diff, [expected[0] - expected[2]], rtol=1e-12)
    logp = pm_model.compile_logp(vars=[pm_model["y"]], sum=True)(point)
    x, n = np.array([6, 8, 13]), np.array([10, 20, 40])
    assert logp == pytest.approx(stats.binom.logpmf(x, n, expected).sum(), rel=1e-10)


def test_no_and_complete_pooling_graphs():
    flat = {"p": {"family": "beta", "alpha": 1, "beta": 1}}
    none = SubgroupModel(age_data(), flat, {"pooling": "none"}).build()
    assert {rv.name for rv in none.free_RVs} == {"p"}
    complete_model = SubgroupModel(age_data(), flat, {"pooling": "complete"})
    complete = complete_model.build()
    assert {rv.name for rv in complete.free_RVs} == {"p_all"}
    assert "difference" not in complete.named_vars  # identically zero: not reported
    assert complete_model.contrasts() == []
    out = complete.replace_rvs_by_values([complete["p"]])
    p = complete.compile_fn(out[0], inputs=complete.value_vars)({"p_all_logodds__": 0.4})
    np.testing.assert_allclose(p, np.full(3, special.expit(0.4)))


def test_exnex_graph_marginalises_the_indicator():
    model = ExnexModel(age_data(), {"mu": MU, "tau": HN1, "nex": NEX}, {"weight": 0.3})
    pm_model = model.build()
    assert {rv.name for rv in pm_model.free_RVs} == {"mu", "tau", "z", "u"}  # all continuous
    point = {"mu": -0.3, "tau_log__": np.log(0.7), "z": np.array([1.2, -0.4, 0.1]),
             "u": np.array([0.5, 0.0, -1.0])}
    x, n = np.array([6, 8, 13]), np.array([10, 20, 40])
    t_ex = -0.3 + 0.7 * point["z"]
    t_nex = NEX["mu"] + NEX["sigma"] * point["u"]
    ex = 0.3 * stats.binom.pmf(x, n, special.expit(t_ex))
    nex = 0.7 * stats.binom.pmf(x, n, special.expit(t_nex))
    logp = pm_model.compile_logp(vars=[pm_model["y"]], sum=False)(point)[0]
    np.testing.assert_allclose(logp, np.log(ex + nex), rtol=1e-10)
    out = pm_model.replace_rvs_by_values([pm_model["p_ex"]])
    p_ex = pm_model.compile_fn(out[0], inputs=pm_model.value_vars, on_unused_input="ignore")(point)
    np.testing.assert_allclose(p_ex, ex / (ex + nex), rtol=1e-10)


def test_refits_reuse_the_graph_unless_the_structure_changes():
    model = SubgroupModel(age_data(), {"mu": MU, "tau": HN1})
    built = model.build()
    before = model.data_checksum()
    model.set_data(age_data().assign(x=[5, 8, 13]))  # same levels: same graph
    assert model.build() is built and model.data_checksum() != before
    model.set_prior({"mu": MU, "tau": {"family": "half_normal", "sigma": 0.5}})
    assert model.build() is built
    model.set_prior({"mu": MU, "tau": {"family": "half_cauchy", "beta": 0.5}})  # new family
    assert model.build() is not built
    built = model.build()
    inline = pd.DataFrame({"subgroup": ["a", "b", "c"], "x": [1, 2, 3], "n": [5, 5, 5]})
    model.set_data(inline)  # no contrast any more: a different graph
    assert model.contrasts() == [] and model.build() is not built
    assert "difference" not in model.build().named_vars


@pytest.mark.parametrize("factor", FACTORS)
def test_default_contrasts_are_the_papers(factor):
    data = SubgroupModel.load_data(SubgroupData(factor=factor))
    model = SubgroupModel(data, {"mu": MU, "tau": HN1})
    expected = DEFAULT_CONTRASTS.get(factor, [])
    assert model.contrasts() == expected
    assert model.coords().get("contrast", []) == [contrast_label(a, b) for a, b in expected]
    if factor == "refractory":
        assert model.coords()["contrast"] == ["p(no) - p(yes)"]  # 48% vs 30%: no minus yes


def test_explicit_contrasts_are_checked():
    model = SubgroupModel(age_data(), {"mu": MU, "tau": HN1}, {"contrasts": [["2-6", "<2"]]})
    assert model.coords()["contrast"] == ["p(2-6) - p(<2)"]
    with pytest.raises(SpecError, match=r"unknown subgroup level '<1'; allowed: \['<2', '2-6'"):
        SubgroupModel(age_data(), {"mu": MU, "tau": HN1}, {"contrasts": [["<1", "<2"]]})
    with pytest.raises(SpecError, match="contrasted with itself"):
        SubgroupModel(age_data(), {"mu": MU, "tau": HN1}, {"contrasts": [["<2", "<2"]]})
    assert SubgroupModel(age_data(), {"mu": MU, "tau": HN1}, {"contrasts": []}).contrasts() == []


def test_a_contrast_of_an_unknown_level_is_refused_at_load(write_spec):
    path = write_spec(spec_text('[data]\nfactor = "age"\n',
                                '[options]\ncontrasts = [["<1", "<2"]]\n'))
    with pytest.raises(SpecError, match=r"'options.contrasts': unknown subgroup level '<1'"):
        load_spec(path)


# -- the independent checks --------------------------------------------------------------


def _quad_reference(x, n, mu, tau):
    """log ∫ Bin N dθ and E[p] by scipy.integrate.quad over pieces (independent of the engine)."""
    def f(t):
        return np.exp(_log_binom(x, n, t) - 0.5 * ((t - mu) / tau) ** 2) / (tau * np.sqrt(2 * np.pi))

    brk = sorted({mu - tau, mu, mu + tau, -np.log(n) - 3, 0.0, special.logit((x + 0.5) / (n + 1))})
    edges = list(zip([-np.inf, *brk], [*brk, np.inf], strict=True))
    total = sum(integrate.quad(f, a, b, limit=400, epsabs=0, epsrel=1e-11)[0] for a, b in edges)
    first = sum(integrate.quad(lambda t: special.expit(t) * f(t), a, b, limit=400, epsabs=0,
                               epsrel=1e-11)[0] for a, b in edges)
    return np.log(total), first / total


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
@pytest.mark.parametrize(("x", "n"), [(6, 10), (0, 2), (2, 2), (17, 52), (3, 8)])
def test_inner_integrals_match_scipy_quad(x, n):
    theta = np.arange(-2000, 2001) * 0.02
    for mu in (-5.0, -0.86, 3.0):
        for tau in (0.01, 0.1, 0.5, 0.99):  # adaptive Gauss-Hermite
            ref = _quad_reference(x, n, mu, tau)
            log_i, e1, _ = _aghq(x, n, np.array([mu]), np.array([tau]), 32)
            assert log_i[0] == pytest.approx(ref[0], abs=1e-9)
            assert e1[0] == pytest.approx(ref[1], abs=1e-9)
        for tau in (1.0, 3.0, 10.0, 200.0):  # trapezoid grid by FFT, exact tails
            ref = _quad_reference(x, n, mu, tau)
            idx = np.array([np.argmin(np.abs(theta - mu))])
            log_i, e1, _ = _grid_moments(x, n, theta, idx, np.array([tau]))
            assert log_i[0, 0] == pytest.approx(ref[0], abs=1e-7)
            assert e1[0, 0] == pytest.approx(ref[1], abs=1e-7)


@pytest.mark.slow
@pytest.mark.mcmc
@pytest.mark.parametrize(
    "tau_prior",
    [HalfNormalPrior(family="half_normal", sigma=1.0),
     HalfCauchyPrior(family="half_cauchy", beta=0.5)],
)
def test_quadrature_is_converged(tau_prior):
    mu = NormalPrior(family="normal", mu=LOGIT_03, sigma=1.5)
    x, n = [0, 10, 14, 3], [2, 31, 29, 8]
    base = hierarchical_posterior(x, n, mu, tau_prior)
    finer = hierarchical_posterior(x, n, mu, tau_prior, n_tau=321, n_gh=48, step=0.01)
    for a, b in [(base.p_mean(), finer.p_mean()), (base.p_sd(), finer.p_sd()),
                 (base.tau_moments(), finer.tau_moments()), (base.mu_moments(), finer.mu_moments())]:
        np.testing.assert_allclose(a, b, atol=2e-6)
    assert base.weight.sum() == pytest.approx(1.0)


def test_quadrature_limits():
    """EXNEX with w = 1 is partial pooling; with w = 0 each level has its own normal prior."""
    mu = NormalPrior(family="normal", mu=LOGIT_03, sigma=1.5)
    tau = HalfNormalPrior(family="half_normal", sigma=0.5)
    x, n = [6, 8, 13], [10, 20, 40]
    partial = hierarchical_posterior(x, n, mu, tau)
    ex_only = hierarchical_posterior(x, n, mu, tau, weight=1.0, nex=(0.0, 2.0))
    np.testing.assert_allclose(partial.p_mean(), ex_only.p_mean(), rtol=1e-12)
    nex_only = hierarchical_posterior(x, n, mu, tau, weight=0.0, nex=(LOGIT_03, 2.18))
    np.testing.assert_allclose(nex_only.prob_exchangeable(), 0.0)
    for j in range(3):
        _, e1 = _quad_reference(x[j], n[j], LOGIT_03, 2.18)
        assert nex_only.p_mean()[j] == pytest.approx(e1, abs=1e-8)
    # the τ posterior is its prior when no level is exchangeable
    assert nex_only.tau_moments()[0] == pytest.approx(0.5 * np.sqrt(2 / np.pi), abs=1e-6)
    mixed = hierarchical_posterior(x, n, mu, tau, weight=0.5, nex=(LOGIT_03, 2.18))
    assert np.all((mixed.prob_exchangeable() > 0.3) & (mixed.prob_exchangeable() < 1))


def test_conjugate_exact_tables():
    flat = {"p": {"family": "beta", "alpha": 1.0, "beta": 1.0}}
    settings = SummarySettings()
    none = SubgroupModel(age_data(), flat, {"pooling": "none"}).exact_table(settings)
    row = none.set_index(["quantity", "population"]).loc[("p", "<2")]
    dist = stats.beta(7, 5)
    assert row["mean"] == pytest.approx(7 / 12)
    assert row["eti_low"] == pytest.approx(dist.ppf(0.025))
    assert row["P(p>0.275)"] == pytest.approx(dist.sf(0.275))
    diff = none.set_index(["quantity", "population"]).loc[("difference", "p(<2) - p(7-17)")]
    other = stats.beta(14, 28)
    assert diff["mean"] == pytest.approx(7 / 12 - 14 / 42)
    rng = np.random.default_rng(3)
    draws = dist.rvs(400_000, random_state=rng) - other.rvs(400_000, random_state=rng)
    assert diff["P(diff>0)"] == pytest.approx((draws > 0).mean(), abs=3e-3)
    assert diff["sd"] == pytest.approx(draws.std(), abs=1e-3)
    assert "p_population" not in set(none["quantity"])  # no pooling: no population
    complete = SubgroupModel(age_data(), flat, {"pooling": "complete"}).exact_table(settings)
    # every level's rate and the population's are the one pooled rate
    assert list(complete["quantity"]) == ["p"] * 3 + ["p_population"]
    np.testing.assert_allclose(complete["mean"], 28 / 72)  # Beta(1 + 27, 1 + 43)
    pooled = complete.set_index("quantity").loc["p_population"]
    assert pooled["eti_low"] == pytest.approx(stats.beta(28, 44).ppf(0.025))


def test_reference_table_has_exact_cis_and_published_values():
    ref = SubgroupModel(age_data(), {"mu": MU, "tau": HN1}).reference_table()
    row = ref.set_index("population").loc["<2"]
    assert row["observed"] == pytest.approx(0.6)
    assert 100 * row["cp_low"] == pytest.approx(row["published_ci_low"], abs=0.05)
    assert 100 * row["cp_high"] == pytest.approx(row["published_ci_high"], abs=0.05)


def _fake_fit(levels, contrasts, seed=0):
    rng = np.random.default_rng(seed)
    post = {"p": rng.beta(5, 8, size=(2, 100, len(levels)))}
    coords = {"subgroup": levels}
    dims = {"p": ["subgroup"]}
    if contrasts:
        post["difference"] = post["p"][..., :1] - post["p"][..., -1:]
        coords["contrast"] = contrasts
        dims["difference"] = ["contrast"]
    return az.from_dict(posterior=post, coords=coords, dims=dims)


def test_forest_plot_draws_every_fit_and_contrast():

    model = SubgroupModel(age_data(), {"mu": MU, "tau": HN1})
    levels = list(model.data["subgroup"])
    fits = {"a": _fake_fit(levels, ["p(<2) - p(7-17)"]), "b": _fake_fit(levels, [], 1)}
    fig = plot_subgroup_forest(fits, model.reference_table(), title="t",
                               contrast_levels={"p(<2) - p(7-17)": ("<2", "7-17")})
    rates, contrast = fig.axes
    labels = [t.get_text() for t in rates.get_yticklabels()]
    assert labels[0].startswith("< 2\n6/10 (60.0%)")
    # observed + 2 fits per level; observed + 1 fit with a contrast
    assert len(rates.containers) == 3 * 3 and len(contrast.containers) == 1
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "observed, exact 95% CI" in legend and "a: mean, 95% CrI" in legend
    matplotlib.pyplot.close(fig)


# -- MCMC against the independent computations (slow) -------------------------------------

def _assert_within_3_mcse(fit, exact, what):
    """Every posterior mean (p, differences, mu, tau, p_population) against the exact table."""
    post = fit.idata.posterior
    exact = exact.set_index(["quantity", "population"])
    assert len(exact) > 0
    for (quantity, pop), row in exact.iterrows():
        if quantity == "p_population":  # E[expit(mu + tau z)] per draw, by quadrature
            draws = population_rate(post["mu"].values, post["tau"].values)
            summary = fit.summary.set_index(["quantity", "population"])
            assert summary.loc[("p_population", ""), "mean"] == pytest.approx(draws.mean())
            se = mcse(draws)
            assert abs(draws.mean() - row["mean"]) <= 3 * se, (what, quantity, draws.mean(),
                                                               row["mean"], se)
            continue
        var = {"p": "p", "difference": "difference", "mu": "mu", "tau": "tau"}[quantity]
        da = post[var]
        if quantity == "p":
            da = da.sel(subgroup=pop)
        elif quantity == "difference":
            da = da.sel(contrast=pop)
        draws = da.values
        se = mcse(draws)
        assert abs(draws.mean() - row["mean"]) <= 3 * se, (what, quantity, pop, draws.mean(),
                                                           row["mean"], se)


@pytest.mark.slow
@pytest.mark.mcmc
@pytest.mark.parametrize("name", ["subgroups_age", "subgroups_marrow_blasts"])
def test_partial_pooling_matches_the_quadrature_within_3_mcse(name, default_run):
    result = default_run.results[name]
    assert result.passed, result.diagnostics_table()
    for prior_set, fit in result.fits.items():
        exact = result.extras[prior_set].exact
        assert int(fit.idata.sample_stats["diverging"].sum()) == 0
        assert set(exact["quantity"]) == {"p", "difference", "mu", "tau", "p_population"}
        _assert_within_3_mcse(fit, exact, (name, prior_set))
        # and the exact table is what an independent call of the engine gives
        model = SubgroupModel(result.model.data, result.spec.priors[prior_set])
        post = model.quadrature()
        np.testing.assert_allclose(exact.query("quantity == 'p'")["mean"], post.p_mean())
        assert exact.query("quantity == 'tau'")["mean"].iat[0] == pytest.approx(
            post.tau_moments()[0])


@pytest.mark.slow
@pytest.mark.mcmc
@pytest.mark.parametrize("pooling", ["none", "complete"])
def test_no_and_complete_pooling_match_their_conjugate_posteriors(pooling):
    prior = {"p": {"family": "beta", "alpha": 1.5, "beta": 3.0}}
    model = SubgroupModel(age_data(), prior, {"pooling": pooling})
    settings = SamplerSettings(draws=1000, tune=1000, chains=4, target_accept=0.9, seed=7)
    idata = model.fit(settings)
    assert model.gate(idata, GateThresholds()).passed
    exact = model.exact_table(SummarySettings())
    dists = model.conjugate_posteriors()
    for level, dist in dists.items():
        draws = idata.posterior["p"].sel(subgroup=level).values
        assert abs(draws.mean() - dist.mean()) <= 3 * mcse(draws), (pooling, level)
        for t in (0.10, 0.275):
            ind = (draws > t).astype(float)
            assert abs(ind.mean() - dist.sf(t)) <= max(3 * mcse(ind), 1 / ind.size)
    if pooling == "none":
        row = exact.set_index("quantity").loc["difference"]
        draws = idata.posterior["difference"].sel(contrast="p(<2) - p(7-17)").values
        assert abs(draws.mean() - row["mean"]) <= 3 * mcse(draws)
        ind = (draws > 0).astype(float)
        assert abs(ind.mean() - row["P(diff>0)"]) <= 3 * mcse(ind)
    else:
        assert dists["<2"].mean() == pytest.approx((1.5 + 27) / (4.5 + 70))


@pytest.mark.slow
@pytest.mark.mcmc
def test_exnex_matches_the_quadrature_within_3_mcse(default_run):
    result = default_run.results["subgroups_age_exnex"]
    assert result.passed, result.diagnostics_table()
    for prior_set, fit in result.fits.items():
        assert int(fit.idata.sample_stats["diverging"].sum()) == 0
        _assert_within_3_mcse(fit, result.extras[prior_set].exact, prior_set)
        exact = result.extras[prior_set].exact.set_index(["quantity", "population"])
        summary = fit.summary.set_index(["quantity", "population"])
        for level in result.model.data["subgroup"]:
            draws = fit.idata.posterior["p_ex"].sel(subgroup=level).values
            target = exact.loc[("p", level), "P(exchangeable)"]
            assert abs(draws.mean() - target) <= 3 * mcse(draws), (prior_set, level)
            assert summary.loc[("p", level), "P(exchangeable)"] == pytest.approx(draws.mean())
        # the indicator draws agree with the conditional probabilities they came from
        ex = fit.idata.posterior["exchangeable"].values
        p_ex = fit.idata.posterior["p_ex"].values
        assert abs(ex.mean() - p_ex.mean()) < 4 * np.sqrt(0.25 / ex.size)


@pytest.mark.slow
@pytest.mark.mcmc
@pytest.mark.parametrize("name", ALL_SPECS)
def test_every_packaged_subgroup_spec_passes_the_gate(name, default_run):
    result = default_run.results[name]
    assert result.passed, result.diagnostics_table()
    for prior_set, fit in result.fits.items():
        assert int(fit.idata.sample_stats["diverging"].sum()) == 0
        assert fit.summary is not None and result.extras[prior_set].exact is not None
    summary = result.summary_table()
    assert {"P(p>0.1)", "P(p>0.275)"} <= set(summary.columns)
    if result.model.contrasts():
        assert "P(diff>0)" in summary.columns
    for title, table in result.extra_tables().items():
        assert "PSIS-LOO" in title
        assert {"elpd_loo", "pareto_k_over_0.7", "warning", "gate"} <= set(table.columns)
        assert (table["gate"] == "PASSED").all()


@pytest.mark.slow
@pytest.mark.mcmc
def test_loo_comparison_function_on_a_factor():
    settings = SamplerSettings(draws=1000, tune=1000, chains=4, seed=3)
    cache: dict = {}
    table = compare_subgroup_models("region", settings, FLAT_PRIORS, models=("none", "complete"),
                                    cache=cache)
    assert set(table["model"]) == {"no pooling", "complete pooling"}
    assert (table["gate"] == "PASSED").all()
    assert (table["pareto_k_over_0.7"] >= 0).all() and table["rank"].tolist() == [0, 1]
    assert table["elpd_loo"].notna().all() and (table["pareto_k_max"] > 0).all()
    # a second call with the same data and settings reuses the fits
    fits = {k: v["idata"] for k, v in cache.items()}
    again = compare_subgroup_models("region", settings, FLAT_PRIORS, models=("none", "complete"),
                                    cache=cache)
    assert all(cache[k]["idata"] is fits[k] for k in fits)
    pd.testing.assert_frame_equal(table, again)
    # a failed fit is listed, not ranked
    tiny = SamplerSettings(draws=20, tune=20, chains=2, seed=3)
    failed = compare_subgroup_models("region", tiny, FLAT_PRIORS, models=("none", "complete"))
    assert (failed["gate"] == "FAILED").any()


@pytest.mark.slow
@pytest.mark.mcmc
def test_report_shows_the_forest_plot(tmp_path, default_run):

    result = default_run.results["subgroups_age"]
    report = write_results([result], tmp_path, {})
    png = tmp_path / "figures" / "subgroups_age.png"
    assert png.stat().st_size > 20_000
    html = report.read_text(encoding="utf-8")
    assert "Independent check: MCMC against an exact computation" in html
    assert "PSIS-LOO" in html


# -- summary.json: per subgroup and model --------------------------------------------------

def test_summary_json_of_a_fit_without_comparison():
    """No MCMC: the levels and contrasts of one (fake) fit, its prior set's prior."""
    spec = load_spec(SPECS / "subgroups_region.toml")
    model = SubgroupModel.from_spec(spec, "tau_hn1")
    levels = list(model.data["subgroup"])
    idata = _fake_fit(levels, [])
    out = components.summaries(_fit(spec, "tau_hn1", model, idata), {}).json
    assert set(out) == {"subgroups", "subgroup_contrasts", "subgroup_models"}
    assert list(out["subgroups"]) == ["partial"] and out["subgroup_contrasts"] == {}
    assert out["subgroup_models"]["partial"]["role"] == "fit"
    assert "half_normal(sigma=1)" in out["subgroup_models"]["partial"]["prior"]
    for j, level in enumerate(levels):
        row = out["subgroups"]["partial"][level]
        draws = idata.posterior["p"].values[..., j]
        assert row["mean"] == pytest.approx(draws.mean())
        assert row["eti_low"] == pytest.approx(np.quantile(draws, 0.025))
        assert row["eti_high"] == pytest.approx(np.quantile(draws, 0.975))
        assert row["ci_prob"] == 0.95


def test_summary_entry_stores_model_keys_per_prior_set_and_null_for_failed_fits():

    spec = load_spec(SPECS / "subgroups_age.toml")
    # no LOO comparison: fake draws have no log-likelihood to compare
    spec = spec.model_copy(update={"options": spec.options.model_copy(update={"compare": []})})
    model = SubgroupModel.from_spec(spec)
    levels = list(model.data["subgroup"])
    passed, failed = GateResult(checks=()), GateResult(checks=(Check("rhat_max", 2.0, 1.01,
                                                                       False),))
    fits = {
        "tau_hn1": _fit(spec, "tau_hn1", model, _fake_fit(levels, ["p(<2) - p(7-17)"]),
                        passed, summary=pd.DataFrame()),
        "tau_hn05": _fit(spec, "tau_hn05", model, _fake_fit(levels, []), failed),
    }
    extras = {"tau_hn1": components.summaries(fits["tau_hn1"], {})}
    entry = summary_entry(AnalysisResult(spec=spec, model=model, fits=fits, extras=extras))
    assert entry["subgroups"]["tau_hn05"] is None
    assert set(entry["subgroups"]["tau_hn1"]["partial"]) == set(levels)
    contrast = entry["subgroup_contrasts"]["tau_hn1"]["partial"]["p(<2) - p(7-17)"]
    assert {"mean", "eti_low", "eti_high", "ci_prob", "P(diff>0)"} <= set(contrast)


@pytest.mark.slow
@pytest.mark.mcmc
def test_summary_json_covers_the_fit_and_every_comparison_model(tmp_path, default_run):
    """EXNEX with partial, no and complete pooling compared: every model, level, prior set.

    The default run's EXNEX spec (its fits and comparison fits at full size, shared with the
    other slow tests); this checks what ``summary.json`` says of them.
    """
    result = default_run.results["subgroups_age_exnex"]
    assert result.passed
    write_json(tmp_path / "summary.json", {"analyses": [summary_entry(result)]})
    entry = json.loads((tmp_path / "summary.json").read_text())["analyses"][0]
    levels = list(result.model.data["subgroup"])
    models = {"exnex", "partial", "none", "complete"}
    for prior_set, fit in result.fits.items():
        per_model = entry["subgroups"][prior_set]
        assert set(per_model) == models
        for rows in per_model.values():
            assert list(rows) == levels
            for row in rows.values():
                assert row["ci_prob"] == 0.95
                assert 0 <= row["eti_low"] <= row["mean"] <= row["eti_high"] <= 1
        # the fit's numbers are those of its summary table
        summary = fit.summary.set_index(["quantity", "population"])
        for level in levels:
            row = per_model["exnex"][level]
            for col in ("mean", "eti_low", "eti_high", "P(exchangeable)"):
                assert row[col] == pytest.approx(summary.loc[("p", level), col])
        # complete pooling: one rate for all, and no contrast
        assert len({r["mean"] for r in per_model["complete"].values()}) == 1
        contrasts = entry["subgroup_contrasts"][prior_set]
        assert set(contrasts) == models - {"complete"}
        for rows in contrasts.values():
            assert set(rows) == {"p(<2) - p(7-17)"}
            assert 0 <= rows["p(<2) - p(7-17)"]["P(diff>0)"] <= 1
        roles = {k: v["role"] for k, v in entry["subgroup_models"][prior_set].items()}
        assert roles == {"exnex": "fit", "partial": "comparison", "none": "comparison",
                         "complete": "comparison"}
        tau = result.spec.priors[prior_set].tau.sigma
        for key in ("exnex", "partial"):  # this prior set's tau prior, in both
            assert f"half_normal(sigma={tau:g})" in entry["subgroup_models"][prior_set][key][
                "prior"]
    # the partial-pooling comparison takes each prior set's tau; no/complete pooling do not
    a, b = (entry["subgroups"][k] for k in ("tau_hn1", "tau_hn05"))
    assert a["partial"] != b["partial"]
    assert a["none"] == b["none"] and a["complete"] == b["complete"]
    # a comparison fit that failed the gate has null, never numbers
    fit = result.fits["tau_hn05"]
    cache: dict = {}
    components.summaries(fit, cache)
    cache["none"]["gate"] = "FAILED"
    out = components.summaries(fit, cache).json
    assert out["subgroups"]["none"] is None and out["subgroup_contrasts"]["none"] is None
    assert out["subgroup_models"]["none"]["gate"] == "FAILED"


def test_forest_plot_shows_the_comparison_fits_of_every_prior_set():
    """No MCMC: fake fits. Partial pooling, refitted with each prior set's mu and tau, is
    drawn once per prior set; no and complete pooling, fitted once for all, once."""
    spec = load_spec(SPECS / "subgroups_age_exnex.toml")
    model = ExnexModel.from_spec(spec)
    levels = list(model.data["subgroup"])
    contrast = ["p(<2) - p(7-17)"]
    shared = {key: _fake_fit(levels, contrast if key == "none" else [], 10 + i)
              for i, key in enumerate(("none", "complete"))}
    fits, extras = {}, {}
    for j, (name, prior) in enumerate(spec.priors.items()):  # as run_analysis does
        fits[name] = _fit(spec, name, model, _fake_fit(levels, contrast, j))
        aux = {**shared, "partial": _fake_fit(levels, contrast, 20 + j)}
        prior_texts = compare_priors(prior, spec.options)
        models = {k: {"role": "comparison", "gate": "PASSED", "prior": prior_texts[k]}
                  for k in aux}
        extras[name] = Extras(json={"subgroup_models": models}, fits=aux)
    assert len(spec.priors) == 2
    result = AnalysisResult(spec=spec, model=model, fits=fits, extras=extras)
    comparisons = components.comparison_fits(result)
    fig = components.figure(result)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    matplotlib.pyplot.close(fig)
    for name in spec.priors:  # prior sets by their titles (the people's names)
        title = result.prior_label(name)
        assert title != name and title == spec.priors[name].title
        assert f"{title} (EXNEX): mean, 95% CrI" in legend
        (label,) = [t for t in legend if t.startswith(f"partial pooling ({title}: ")]
        tau = spec.priors[name].tau.sigma
        assert f"tau ~ half_normal(sigma={tau:g})" in label
        (idata,) = [v for k, v in comparisons.items()
                    if k.startswith(f"partial pooling ({title}")]
        assert idata is extras[name].fits["partial"]
    for key in ("no pooling", "complete pooling"):
        assert len([t for t in legend if t.startswith(f"{key} (p ~ beta(")]) == 1
    # two EXNEX fits, two partial-pooling comparisons, one each of no and complete pooling
    assert len(comparisons) == 4 and len(legend) == 2 + 2 + 4
    # a comparison that failed the gate is not among the fits the component returns
    del extras["tau_hn05"].fits["partial"]
    left = components.comparison_fits(result)
    assert not any(k.startswith(f"partial pooling ({result.prior_label('tau_hn05')}")
                   for k in left)
    assert any(k.startswith(f"partial pooling ({result.prior_label('tau_hn1')}: ") for k in left)


def compare_priors(prior, options):
    """The comparison models' priors as text, as the LOO component writes them."""
    return {k: prior_text(v) for k, v in comparison_priors(prior, options).items()}


def _fit(spec, name, model, idata, gate=None, summary=None):
    """A Fit of fake draws (no MCMC)."""
    return Fit(spec, name, spec.priors[name], model.data, idata,
               gate or GateResult(checks=()), 0.0, summary)


def test_phase_plot_has_its_own_title_and_room_for_its_labels():
    spec = load_spec(SPECS / "subgroups_phase.toml")
    model = SubgroupModel.from_spec(spec)
    assert model.title().startswith("CR within two cycles by study part: phase I PK expansion")
    assert "Fig 2" not in model.title()
    levels = list(model.data["subgroup"])
    fits = {name: _fit(spec, name, model, _fake_fit(levels, ["p(pk_expansion) - p(phase_2)"], j))
            for j, name in enumerate(spec.priors)}
    fig = components.figure(AnalysisResult(spec=spec, model=model, fits=fits,
                                           reference=model.reference_table()))
    assert fig._suptitle.get_text() == model.title()
    renderer = fig.canvas.get_renderer()
    ticks = fig.axes[0].get_yticklabels()
    assert ticks[0].get_text().startswith("phase I PK\nexpansion\n13/26")
    assert min(t.get_window_extent(renderer).x0 for t in ticks) >= 0  # not clipped
    matplotlib.pyplot.close(fig)


# -- the population-level rate ------------------------------------------------------------


def _population_quad(mu, tau):
    """E[expit(theta)], theta ~ N(mu, tau^2), by scipy's adaptive quadrature."""
    val, _ = integrate.quad(lambda t: special.expit(t) * stats.norm.pdf(t, mu, tau),
                            mu - 40 * tau, mu + 40 * tau, points=[0.0], limit=500,
                            epsabs=1e-13, epsrel=1e-12)
    return val


def test_population_rate_matches_scipy_quad_on_both_sides_of_the_switch():
    mu = np.array([-5.0, -0.85, 0.3, 2.0])
    for tau in (0.05, 0.5, 1.0, 1.99, 2.01, 3.0, 5.0, 10.0, 50.0):
        got = population_rate(mu, np.full(mu.size, tau))
        want = [_population_quad(m, tau) for m in mu]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-8, err_msg=f"tau={tau}")
    # the shape of the draws is kept, and the same draws give the same numbers
    rng = np.random.default_rng(0)
    mu2, tau2 = rng.normal(-0.8, 1, (2, 50)), np.abs(rng.normal(0, 3, (2, 50)))
    first = population_rate(mu2, tau2)
    assert first.shape == (2, 50)
    np.testing.assert_array_equal(first, population_rate(mu2, tau2))
    # small tau: the rate at the typical logit; tau -> large: P(theta > 0) = Phi(mu / tau)
    assert population_rate(0.3, 1e-6) == pytest.approx(special.expit(0.3), abs=1e-9)


def test_the_engine_population_rate_is_a_level_without_patients():
    x, n = age_data()["x"], age_data()["n"]
    post = hierarchical_posterior(x, n, NormalPrior(**MU), HalfNormalPrior(**HN1))
    assert post.population.shape == post.weight.shape
    # at every (mu, tau) node: E[expit(mu + tau z)], by the per-draw function too
    np.testing.assert_allclose(post.population, population_rate(post.mu[:, None],
                                                                post.tau[None, :]),
                               rtol=0, atol=1e-9)
    mean, sd = post.population_moments()
    assert mean == pytest.approx(float(np.sum(post.weight * post.population)))
    assert 0 < sd < 0.2
    # the population rate lies between the smallest and largest level's posterior mean
    assert post.p_mean().min() < mean < post.p_mean().max()


def _fake_hierarchical(levels, seed=0):
    rng = np.random.default_rng(seed)
    mu, tau = rng.normal(-0.6, 0.3, (2, 200)), np.abs(rng.normal(0, 0.8, (2, 200)))
    z = rng.normal(size=(2, 200, len(levels)))
    p = special.expit(mu[..., None] + tau[..., None] * z)
    return az.from_dict(posterior={"mu": mu, "tau": tau, "p": p},
                        coords={"subgroup": levels}, dims={"p": ["subgroup"]})


def test_summary_reports_the_population_rate_by_pooling():
    settings = SummarySettings()
    partial = SubgroupModel(age_data(), {"mu": MU, "tau": HN1}, {"contrasts": []})
    idata = _fake_hierarchical(list(partial.data["subgroup"]))
    table = partial.summarise(idata, settings).set_index(["quantity", "population"])
    row = table.loc[("p_population", "")]
    draws = population_rate(idata.posterior["mu"].values, idata.posterior["tau"].values)
    assert row["mean"] == pytest.approx(draws.mean())
    assert row["eti_high"] == pytest.approx(np.quantile(draws, 0.975))
    assert row["P(p>0.275)"] == pytest.approx((draws > 0.275).mean())
    # every other row is unchanged by the new one (it comes last)
    assert list(table.index.get_level_values(0)) == ["p"] * 3 + ["mu", "tau", "p_population"]
    # complete pooling: the one rate; no pooling: no population to report
    rng = np.random.default_rng(1)
    p_all = rng.beta(28, 44, (2, 200))
    levels = list(partial.data["subgroup"])
    pooled = az.from_dict(posterior={"p_all": p_all,
                                     "p": np.repeat(p_all[..., None], 3, axis=-1)},
                          coords={"subgroup": levels}, dims={"p": ["subgroup"]})
    complete = SubgroupModel(age_data(), {"p": BETA11}, {"pooling": "complete"})
    row = complete.summarise(pooled, settings).set_index("quantity").loc["p_population"]
    assert row["mean"] == pytest.approx(p_all.mean())
    none = SubgroupModel(age_data(), {"p": BETA11}, {"pooling": "none", "contrasts": []})
    assert none.population_draws(pooled) is None
    assert "p_population" not in set(none.summarise(pooled, settings)["quantity"])


# -- comparison settings are the spec's ----------------------------------------------------

COMPARE = '[options]\ncompare = ["none", "complete"]\ncompare_draws = 1000\n'
FLAT = ('[options.compare_priors.none]\np = { family = "beta", alpha = 1.0, beta = 1.0 }\n'
        '[options.compare_priors.complete]\np = { family = "beta", alpha = 1.0, beta = 1.0 }\n')


@pytest.mark.parametrize(
    ("options", "model", "match"),
    [
        # a comparison model without a prior
        (COMPARE + FLAT.split("[options.compare_priors.complete]")[0], "subgroups",
         r"'priors.p': key 'options.compare_priors.complete': the comparison model 'complete' "
         r"\(options.compare\) has no prior for \['p'\]"),
        # no draws for the comparison fits
        ('[options]\ncompare = ["none", "complete"]\n' + FLAT, "subgroups",
         r"'compare_draws' is required with 'compare'"),
        # a prior for a model that is not compared
        ('[options]\ncompare = ["none"]\ncompare_draws = 1000\n' + FLAT, "subgroups",
         r"'compare_priors' names model\(s\) \['complete'\] that 'compare' does not list"),
        # a family the comparison model does not accept
        (COMPARE + FLAT.replace('p = { family = "beta", alpha = 1.0, beta = 1.0 }',
                                'p = { family = "normal", mu = 0.0, sigma = 1.0 }', 1),
         "subgroups", r"'options.compare_priors.none': p: .*prior family 'normal' is not "
         r"allowed for parameter 'p'; allowed: \['beta'\]"),
        # a parameter the comparison model does not use
        (COMPARE + FLAT + 'mu = { family = "normal", mu = 0.0, sigma = 1.0 }\n', "subgroups",
         r"'options.compare_priors.complete': the comparison subgroup model with pooling "
         r"'complete' needs priors for exactly \['p'\] \(not used: \['mu'\]\)"),
        # EXNEX: the partial-pooling comparison takes mu and tau from the prior set
        ('[options]\ncompare = ["partial"]\ncompare_draws = 1000\n'
         '[options.compare_priors.partial]\nmu = { family = "normal", mu = 0.0, sigma = 1.0 }\n',
         "exnex", r"'options.compare_priors.partial': \['mu'\] come from the prior set"),
        # a partial fit compared with EXNEX needs the NEX component
        ('[options]\ncompare = ["exnex"]\ncompare_draws = 1000\n', "subgroups",
         r"the comparison model 'exnex' \(options.compare\) has no prior for \['nex'\]"),
    ],
)
def test_comparison_priors_and_draws_are_checked_at_load(write_spec, options, model, match):
    path = write_spec(spec_text('[data]\nfactor = "age"\n', options, model))
    with pytest.raises(SpecError, match=match) as err:
        load_spec(path)
    assert str(path) in str(err.value)


def test_prior_rules_are_checked_without_a_model():
    spec = load_spec(SPECS / "subgroups_age.toml")
    data = SubgroupModel.validate_data(SubgroupModel.load_data(spec.data))
    prior = spec.priors["tau_hn1"]
    SubgroupModel.check_prior_set(prior, spec.options, data)  # the packaged spec is fine
    no_flat = spec.options.model_copy(update={"compare_priors": {}})
    with pytest.raises(SpecError, match=r"comparison model 'none' .* no prior for \['p'\]"):
        SubgroupModel.check_prior_set(prior, no_flat, data)
    # the function fits nothing when a model lacks its prior
    with pytest.raises(SpecError, match=r"no prior set for the comparison model 'none'"):
        compare_subgroup_models("age", SamplerSettings(), {}, models=("none",))


def test_comparison_priors_of_the_packaged_specs():
    """Flat Beta(1, 1) for no and complete pooling; the prior set's mu and tau for partial."""
    for name in ("subgroups_age", "subgroups_marrow_blasts", "subgroups_phase",
                 "subgroups_refractory", "subgroups_age_exnex"):
        spec = load_spec(SPECS / f"{name}.toml")
        assert spec.options.compare_draws == 1000
        for prior in spec.priors.values():
            alt = comparison_priors(prior, spec.options)
            assert alt["none"] == alt["complete"] == FLAT_PRIORS["none"]
            if "partial" in alt:
                assert alt["partial"] == {"mu": prior.mu.model_dump(),
                                          "tau": prior.tau.model_dump()}
