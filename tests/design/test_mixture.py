"""The one BetaMixture of the design tools: values, equality, the short forms of a prior.

The densities, moments, conjugate updating and ESS of :class:`BetaMixture` are checked in
``test_design_priors.py``; the monitoring engine's use of it in ``test_monitoring.py``.
"""

from __future__ import annotations

import importlib
import types

import grimp
import numpy as np
import pytest
from scipy import stats

import bayesblina.design as design
import bayesblina.design.monitoring as monitoring
from bayesblina.design.mixture import BetaMixture, as_beta_mixture, posterior_prob_above
from bayesblina.errors import SpecError


def test_one_class_serves_every_module():
    assert design.BetaMixture is BetaMixture is monitoring.BetaMixture
    assert design.as_beta_mixture is as_beta_mixture is monitoring.as_beta_mixture
    assert design.power_prior(14, 44, 0.5) == BetaMixture.beta(8.0, 16.0)  # priors, lazily


def test_mixtures_compare_and_hash_by_value():
    a = BetaMixture([0.7, 0.3], [10.0, 1.0], [20.0, 1.0])
    b = as_beta_mixture([(0.7, 10, 20), (0.3, 1, 1)])
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != BetaMixture([0.3, 0.7], [1.0, 10.0], [1.0, 20.0])  # same law, other order
    assert a != BetaMixture.beta(10.0, 20.0)
    assert (a == "Beta(10, 20)") is False


@pytest.mark.parametrize(("prior", "expected"), [
    ((2, 3), BetaMixture.beta(2.0, 3.0)),
    ([(0.25, 1, 2), (0.75, 3, 4)], BetaMixture([0.25, 0.75], [1.0, 3.0], [2.0, 4.0])),
    (types.SimpleNamespace(weights=np.array([1.0]), a=np.array([0.5]), b=np.array([0.5])),
     BetaMixture.beta(0.5, 0.5)),
])
def test_the_short_forms_of_a_prior(prior, expected):
    assert as_beta_mixture(prior) == expected


@pytest.mark.parametrize(("prior", "part"), [
    ((0, 1), "design prior a (component 1) = 0 is invalid: it must be a finite number > 0"),
    ([(0.5, 1, 1), (0.4, 2, 2)], "design prior weights = (0.5, 0.4) are invalid: they sum to"),
    ([(1.2, 1, 1), (-0.2, 2, 2)], "design prior weight 1 = 1.2 is invalid"),
    ("beta", "design prior = 'beta' is invalid: give (a, b)"),
])
def test_the_short_forms_name_the_prior_and_the_component(prior, part):
    with pytest.raises(SpecError) as exc:
        as_beta_mixture(prior, name="design prior")
    assert part in str(exc.value)


def test_posterior_probability_of_every_outcome_is_the_beta_survival_function():
    mix = BetaMixture([0.6, 0.4], [2.0, 9.0], [8.0, 3.0])
    n, p0 = 12, 0.3
    got = posterior_prob_above(mix, n, p0)
    for y in range(n + 1):
        post = mix.posterior(y, n)
        direct = sum(w * stats.beta.sf(p0, a, b)
                     for w, a, b in zip(post.weights, post.a, post.b, strict=True))
        assert got[y] == pytest.approx(direct, rel=1e-12)
    assert np.all(np.diff(got) > 0)  # monotone in y: the success region is y >= y_c
    with pytest.raises(SpecError, match="n = 0 is invalid"):
        posterior_prob_above(mix, 0, p0)
    with pytest.raises(SpecError, match="BetaMixture"):
        posterior_prob_above((2, 8), n, p0)  # type: ignore[arg-type]


def test_the_exact_engines_do_not_import_pymc():
    """``import bayesblina.design`` stays light: PyMC comes with ``priors`` (and ``studies``).

    Checked on the import graph (the imports the modules run, not the names they load lazily).
    """
    graph = grimp.build_graph("bayesblina", include_external_packages=True,
                              exclude_type_checking_imports=True)
    for module in ("bayesblina.design", "bayesblina.design.mixture", "bayesblina.design.simon",
                   "bayesblina.design.monitoring", "bayesblina.design.assurance"):
        assert graph.find_shortest_chain(importer=module, imported="pymc") is None, module
    assert graph.find_shortest_chain(importer="bayesblina.design.priors", imported="pymc")


def test_the_package_exports_every_public_name_of_the_design_modules():
    for name in ("simon", "monitoring", "mixture", "assurance", "priors", "studies",
                 "escalation", "simulation", "pathways"):
        module = importlib.import_module(f"bayesblina.design.{name}")
        missing = [n for n in module.__all__ if n not in design.__all__]
        assert not missing, (name, missing)
        for n in module.__all__:
            assert getattr(design, n) is getattr(module, n), (name, n)
    assert len(design.__all__) == len(set(design.__all__))
