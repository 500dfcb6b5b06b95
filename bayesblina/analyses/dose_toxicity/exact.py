"""Exact (grid-quadrature) posteriors for one- and two-parameter dose-toxicity models.

This module is the independent check of the PyMC fits and the engine of fast
escalation simulations: it computes the posterior of a dose-toxicity model on a
fixed grid of parameter values, for **many data sets at once** (a leading batch
axis ``B``), with numpy only, no random numbers and no Python loop per data set.

Models
------
**BLRM** (Neuenschwander, Branson & Gsponer 2008), two parameters::

    logit p(d) = log_alpha + exp(log_beta) * log(d / d_ref)
    (log_alpha, log_beta) ~ BVN((m1, m2), (s1, s2), corr r)

``log`` is the natural logarithm; ``alpha`` is the odds of a DLT at the reference
dose ``d_ref`` and ``beta = exp(log_beta) > 0`` the slope on the log-dose scale.

**CRM** (O'Quigley, Pepe & Fisher 1990; Cheung 2011), one parameter, skeleton
``s_1 < ... < s_K`` in (0, 1) and ``beta ~ normal(prior_mean, prior_sd**2)``:

* ``"empiric"`` (alias ``"power"``): ``p_k = s_k ** exp(beta)``;
* ``"logistic"``: ``p_k = invlogit(a0 + exp(beta) * x_k)`` with the fixed intercept
  ``a0`` (default 3) and dose labels ``x_k = logit(s_k) - a0`` (so that ``beta = 0``
  reproduces the skeleton).

Stepwise regimens
-----------------
An observation (a cohort of ``n`` patients with ``y`` DLTs) received a *regimen*:
periods ``(dose_k, days_k)`` inside a DLT window of ``W`` days. Every treatment of
a regimen is a set of per-period weights ``w_k >= 0`` with::

    log(1 - p_regimen) = sum_k w_k * log(1 - p(d_k))

* ``"period_exposure"`` (default): a constant DLT hazard within each period, set by
  that period's dose, ``hazard_k = -log(1 - p(d_k)) / W`` where ``p(d)`` is the DLT
  probability over the whole window at the constant dose ``d``; the cumulative risk
  is ``1 - exp(-sum_k hazard_k * days_k)``, i.e. ``w_k = days_k / W``;
* ``"first_period"``: ``p = p(d_1)``, ``w = (1, 0, ..., 0)``;
* ``"maintenance"``: ``p = p(d_last)``, ``w = (0, ..., 0, 1)``.

A batch of data sets sharing one cohort structure is four arrays: ``doses`` and
``weights`` of shape ``(n_obs, K)`` (shorter regimens padded with weight 0; a padded
dose is ignored), and ``n``, ``y`` of shape ``(B, n_obs)`` (1-D for ``B = 1``).
:func:`regimen_weights` builds ``doses`` and ``weights`` from lists of
``(dose, days)`` periods. For the CRM a period's "dose" is a 0-based skeleton level.
A cohort not (yet) enrolled in some data sets simply has ``n = 0`` there.

Quadrature
----------
*BLRM*. The prior is whitened, ``log_beta = m2 + s2 * u`` and
``log_alpha = m1 + s1 * (r * u + sqrt(1 - r**2) * v)`` with ``(u, v)`` independent
standard normal, and ``(u, v)`` is covered by a regular ``grid_size x grid_size``
grid of cell midpoints on ``[-half_width, half_width]**2`` (default 128 x 128 =
16 384 nodes, ``half_width = 7``, i.e. the prior +- 7 SD, cell width 0.11 prior SD;
the prior mass outside the box is 5e-12). A regular grid rather than Gauss-Hermite
nodes, because the posterior can sit well away from the prior's centre, where
Gauss-Hermite nodes are sparse. The node weights are ``prior density x likelihood``,
normalised per data set (``log_weights``).

* Posterior means (of ``p(d)``, of a regimen's ``p``, of the parameters) are
  midpoint-rule sums. For a smooth integrand that decays inside the box these
  converge geometrically (error ~ ``exp(-2 pi**2 sigma**2 / h**2)`` for a posterior of
  SD ``sigma`` in whitened units and cell width ``h``): exact to ~1e-13 once ``h`` is
  below about a third of the posterior SD.
* Probabilities of events ``{p(d) <= t}`` (``prob_exceeds``, ``interval_probs``,
  ``mtd_prob_ge``, ``ewoc``) have a discontinuous integrand; counting nodes would make
  them first-order accurate. Along each row of the grid (``log_alpha`` at fixed
  ``log_beta``, along which every ``p`` increases) the part of each cell below the
  cut is found exactly (the logit of ``p`` at a constant dose is linear in
  ``log_alpha``; for a regimen it is interpolated linearly across the cell), the
  node weights are converted to cell averages and the cut cell is integrated under
  the quadratic through its own and its neighbours' averages
  (:func:`_below_coefficients`). This is linear in the weights (one matrix product
  for the whole batch) and fourth-order accurate.
* Quantiles (``p_quantiles``, ``mtd_quantiles``) invert that same CDF per data set
  (bisection and a final false-position step, to ~1e-10).

Accuracy at the default grid, against a 1024 x 1024 grid: on the Neuenschwander et
al. (2008) example (18 patients) posterior means agree to 2e-13, event probabilities
to 3e-6, quantiles of ``p(d)`` to 2e-6 and MTD quantiles to 4e-6 relative; on a
48-patient escalation to 1e-13, 2e-5, 6e-6 and 3e-5 relative. Doubling the grid
changes no result by more than 1e-4 (tested). More informative data concentrate the
posterior and need a finer grid (errors scale as ``grid_size**-4``).
:meth:`~BLRMGridPosterior.edge_mass` reports the posterior mass in the outermost
ring of cells: it should be ~0; if not, the data conflict with the prior and
``half_width`` must grow.

*CRM*. ``(beta - prior_mean) / prior_sd`` is covered by ``grid_size`` cell midpoints on
``[-half_width, half_width]`` (defaults 512 and 8). Means are midpoint sums; event
probabilities use the same fourth-order cut-cell scheme with the exact crossing
point ``beta*`` of ``p_k = t``. On Cheung's (2011) example the default grid agrees
with a 65 536-node grid to 3e-15 in every posterior mean and 4e-6 in the interval
probabilities.

Memory: the normalised log-weights are ``B x G`` float64 (``G = grid_size**2`` for
the BLRM: 128 MiB for ``B = 1000`` at the default grid; the weights are cached
alongside them on first use). Temporaries are bounded by working in chunks of data
sets; split very large batches yourself.

Modules
-------
:mod:`~bayesblina.analyses.dose_toxicity.regimens` (regimen weights and a regimen's
probability), :mod:`~bayesblina.analyses.dose_toxicity.grid` (argument checks, node
weights, cut-cell quadrature: what both engines share),
:mod:`~bayesblina.analyses.dose_toxicity.blrm_grid` and
:mod:`~bayesblina.analyses.dose_toxicity.crm_grid`. This module gathers their public names.

References
----------
.. [1] Neuenschwander B, Branson M, Gsponer T. Critical aspects of the Bayesian
   approach to phase I cancer trials. Statistics in Medicine 2008;27:2420-2439.
.. [2] O'Quigley J, Pepe M, Fisher L. Continual reassessment method: a practical
   design for phase 1 clinical trials in cancer. Biometrics 1990;46:33-48.
.. [3] Cheung YK. Dose Finding by the Continual Reassessment Method. Chapman &
   Hall/CRC, 2011.
.. [4] Babb J, Rogatko A, Zacks S. Cancer phase I clinical trials: efficient dose
   escalation with overdose control. Statistics in Medicine 1998;17:1103-1120.
"""

from bayesblina.analyses.dose_toxicity.blrm_grid import (
    BLRM_GRID_SIZE,
    BLRM_HALF_WIDTH,
    BLRMGridPosterior,
    blrm_grid_posterior,
)
from bayesblina.analyses.dose_toxicity.crm_grid import (
    CRM_GRID_SIZE,
    CRM_HALF_WIDTH,
    CRM_MODELS,
    CRMGridPosterior,
    crm_grid_posterior,
)
from bayesblina.analyses.dose_toxicity.regimens import TREATMENTS, regimen_weights

__all__ = [
    "BLRM_GRID_SIZE",
    "BLRM_HALF_WIDTH",
    "CRM_GRID_SIZE",
    "CRM_HALF_WIDTH",
    "CRM_MODELS",
    "TREATMENTS",
    "BLRMGridPosterior",
    "CRMGridPosterior",
    "blrm_grid_posterior",
    "crm_grid_posterior",
    "regimen_weights",
]
