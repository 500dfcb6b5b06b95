"""Generic posterior summaries of one variable, one row per element.

Mean, SD, median, equal-tailed and highest-density intervals, tail probabilities
P(theta > t) and the Monte Carlo standard error and bulk ESS of the mean, for every
element of a variable's non-sample dimensions (e.g. each population or subgroup).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from scipy import optimize

from bayesblina.core.spec import SummarySettings


def summarise_draws(
    draws: xr.DataArray,
    *,
    ci_prob: float = 0.95,
    hdi_prob: float = 0.95,
    thresholds: Sequence[float] = (),
    label: str = "p",
) -> pd.DataFrame:
    """Summarise posterior draws with dims ``(chain, draw, *element_dims)``.

    Parameters
    ----------
    draws : xarray.DataArray
        Posterior draws; every dim other than ``chain`` and ``draw`` indexes elements.
    ci_prob, hdi_prob : float
        Mass of the equal-tailed and the highest-density interval.
    thresholds : sequence of float
        For each ``t`` a column ``P(<label>>t)`` with the posterior probability above ``t``.
    label : str
        Name used in the tail-probability column names.

    Returns
    -------
    pandas.DataFrame
        One row per element: the element dims as columns, then ``mean, sd, median,
        eti_low, eti_high, hdi_low, hdi_high, P(label>t)..., mcse_mean, ess_bulk``.
    """
    dims = [d for d in draws.dims if d not in ("chain", "draw")]
    lo_q, hi_q = (1 - ci_prob) / 2, 1 - (1 - ci_prob) / 2
    hdi = az.hdi(draws, hdi_prob=hdi_prob)
    hdi = hdi[draws.name] if isinstance(hdi, xr.Dataset) else hdi
    mcse = az.mcse(draws)
    mcse = mcse[draws.name] if isinstance(mcse, xr.Dataset) else mcse
    ess = az.ess(draws, method="bulk")
    ess = ess[draws.name] if isinstance(ess, xr.Dataset) else ess
    rows = []
    for labels in itertools.product(*(draws.coords[d].values for d in dims)):
        sel = dict(zip(dims, labels, strict=True))
        x = draws.sel(sel).values
        row: dict[str, Any] = {d: _plain(v) for d, v in sel.items()}
        row.update(
            mean=float(x.mean()),
            sd=float(x.std(ddof=1)),
            median=float(np.median(x)),
            eti_low=float(np.quantile(x, lo_q)),
            eti_high=float(np.quantile(x, hi_q)),
            hdi_low=float(hdi.sel(sel).sel(hdi="lower")),
            hdi_high=float(hdi.sel(sel).sel(hdi="higher")),
        )
        for t in thresholds:
            row[f"P({label}>{t:g})"] = float((x > t).mean())
        row["mcse_mean"] = float(mcse.sel(sel))
        row["ess_bulk"] = float(ess.sel(sel))
        rows.append(row)
    return pd.DataFrame(rows)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def mcse(draws: np.ndarray, method: str = "mean", prob: float | None = None) -> float:
    """Monte Carlo standard error of a statistic of ``(chain, draw)`` draws.

    A thin wrapper of :func:`arviz.mcse` for plain arrays of one scalar quantity (ArviZ
    accepts only 1-D arrays directly), e.g. of an indicator ``draws > t`` for the MCSE of
    a tail probability.

    Parameters
    ----------
    draws : ndarray, shape (chain, draw)
    method : {"mean", "sd", "median", "quantile"}
    prob : float, optional
        The quantile's probability when ``method="quantile"``.
    """
    ds = xr.Dataset({"x": (("chain", "draw"), np.asarray(draws, dtype=float))})
    kwargs = {"prob": prob} if method == "quantile" else {}
    return float(az.mcse(ds, method=method, **kwargs)["x"])


def beta_hdi(dist: Any, prob: float) -> tuple[float, float]:
    """Highest-density interval of a (unimodal or J-shaped) Beta distribution.

    The shortest interval with mass ``prob``: minimise ``ppf(u + prob) - ppf(u)`` over
    the lower tail mass ``u`` in ``[0, 1 - prob]``.
    """
    def width(u: float) -> float:
        return float(dist.ppf(u + prob) - dist.ppf(u))

    res = optimize.minimize_scalar(
        width, bounds=(0.0, 1.0 - prob), method="bounded", options={"xatol": 1e-12}
    )
    # a J-shaped density has its HDI at an end of the support: try both ends too
    u = min((float(res.x), 0.0, 1.0 - prob), key=width)
    return float(dist.ppf(u)), float(dist.ppf(u + prob))


def exact_row(dist: Any, settings: SummarySettings, **labels: Any) -> dict[str, Any]:
    """One row of an exact table: the :meth:`summarise` columns of a known distribution.

    ``labels`` (e.g. ``quantity``, ``population``) come first, then mean, SD, median, the
    equal-tailed and highest-density intervals and ``P(p>t)`` per summary threshold.
    """
    lo_q, hi_q = (1 - settings.ci_prob) / 2, 1 - (1 - settings.ci_prob) / 2
    hdi_low, hdi_high = beta_hdi(dist, settings.hdi_prob)
    row: dict[str, Any] = {
        **labels,
        "mean": float(dist.mean()), "sd": float(dist.std()), "median": float(dist.median()),
        "eti_low": float(dist.ppf(lo_q)), "eti_high": float(dist.ppf(hi_q)),
        "hdi_low": hdi_low, "hdi_high": hdi_high,
    }
    for t in settings.thresholds:
        row[f"P(p>{t:g})"] = float(dist.sf(t))
    return row


def element_keys(table: pd.DataFrame) -> list[str]:
    """The columns that name a row of a summary table (those before ``mean``)."""
    cols = [c for c in table.columns if c != "prior_set"]
    return cols[: cols.index("mean")] if "mean" in cols else cols[:1]


def interval_summary(draws: np.ndarray, ci_prob: float) -> dict[str, float]:
    """Mean and equal-tailed interval of draws as plain numbers (a ``summary.json`` entry).

    The same numbers as :func:`summarise_draws`'s ``mean``, ``eti_low`` and ``eti_high``.
    """
    draws = np.asarray(draws).ravel()
    lo, hi = np.quantile(draws, [(1 - ci_prob) / 2, 1 - (1 - ci_prob) / 2])
    return {"mean": float(draws.mean()), "eti_low": float(lo), "eti_high": float(hi),
            "ci_prob": float(ci_prob)}
