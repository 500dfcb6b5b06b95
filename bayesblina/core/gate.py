"""The diagnostics gate: a fit that did not converge is never reported as a result.

Criteria (defaults; thresholds come from the spec's ``[gate]``): rank-normalised split
R-hat <= 1.01, bulk and tail ESS >= 400 (Vehtari et al. 2021), no divergent transitions
after warm-up, and E-BFMI >= 0.3 in every chain (Betancourt 2016). Every model parameter
in the posterior is checked, including deterministic ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import arviz as az
import numpy as np
import xarray as xr

from bayesblina.core.spec import GateThresholds
from bayesblina.errors import BayesblinaError


class ConvergenceError(BayesblinaError):
    """Raised when results are asked of a fit that failed the diagnostics gate."""


@dataclass(frozen=True)
class Check:
    """One criterion of the gate."""

    name: str
    value: float
    threshold: float
    passed: bool
    #: the worst variable/element, e.g. ``p[phase_2]``, or the worst chain
    where: str = ""

    def describe(self) -> str:
        """One line such as ``R-hat max 1.034 > 1.01 at p[phase_2]``."""
        op = {"rhat_max": ">", "divergences": ">"}.get(self.name, "<")
        verdict = "ok" if self.passed else f"{op} {self.threshold:g}"
        at = f" at {self.where}" if self.where else ""
        return f"{LABELS[self.name]} {self.value:.4g} {verdict}{at}"


LABELS = {
    "rhat_max": "R-hat (max)",
    "ess_bulk_min": "bulk ESS (min)",
    "ess_tail_min": "tail ESS (min)",
    "divergences": "divergences",
    "ebfmi_min": "E-BFMI (min)",
}


@dataclass(frozen=True)
class GateResult:
    """Outcome of the gate for one fit."""

    checks: tuple[Check, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(c.passed for c in self.checks)

    @property
    def status(self) -> str:
        """``"PASSED"`` or ``"FAILED"``."""
        return "PASSED" if self.passed else "FAILED"

    @property
    def failures(self) -> list[Check]:
        """The checks that failed."""
        return [c for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: status plus every check with value, threshold and verdict."""
        return {
            "status": self.status,
            "checks": [asdict(c) for c in self.checks],
            "notes": list(self.notes),
        }

    def require(self, what: str = "fit") -> None:
        """Raise :class:`ConvergenceError` listing the failed checks, if any."""
        if not self.passed:
            lines = "; ".join(c.describe() for c in self.failures)
            raise ConvergenceError(f"{what} FAILED the diagnostics gate: {lines}")


def _worst(da: xr.DataArray, mode: str) -> tuple[float, str]:
    """Extreme value of a diagnostic over all elements and the element's label."""
    values = da.values
    if values.size == 0 or np.all(np.isnan(values)):
        return float("nan"), ""
    flat = np.nanargmax(values) if mode == "max" else np.nanargmin(values)
    idx = np.unravel_index(flat, values.shape)
    labels = [
        str(da.coords[d].values[i]) for d, i in zip(da.dims, idx, strict=True) if d in da.coords
    ]
    return float(values[idx]), (f"[{', '.join(labels)}]" if labels else "")


def _extreme(ds: xr.Dataset, mode: str) -> tuple[float, str]:
    best: tuple[float, str] = (float("nan"), "")
    for name, da in ds.data_vars.items():
        value, where = _worst(da, mode)
        if np.isnan(value):
            continue
        if np.isnan(best[0]) or (value > best[0] if mode == "max" else value < best[0]):
            best = (value, f"{name}{where}")
    return best


def check_convergence(
    idata: az.InferenceData,
    thresholds: GateThresholds | None = None,
    var_names: list[str] | None = None,
) -> GateResult:
    """Run the diagnostics gate on a fit.

    Parameters
    ----------
    idata : arviz.InferenceData
        Needs ``posterior`` and ``sample_stats`` (``diverging``, ``energy``).
    thresholds : GateThresholds, optional
        Criteria; the defaults are R-hat <= 1.01, ESS >= 400, 0 divergences, E-BFMI >= 0.3.
    var_names : list of str, optional
        Variables to check (default: all in the posterior).

    Returns
    -------
    GateResult
        A NaN diagnostic (e.g. R-hat with a single chain) counts as a failure.
    """
    t = thresholds or GateThresholds()
    post = idata.posterior if var_names is None else idata.posterior[var_names]
    rhat_v, rhat_at = _extreme(az.rhat(post), "max")
    bulk_v, bulk_at = _extreme(az.ess(post, method="bulk"), "min")
    tail_v, tail_at = _extreme(az.ess(post, method="tail"), "min")
    stats = idata.sample_stats
    n_div = int(stats["diverging"].sum()) if "diverging" in stats else 0
    notes = []
    if "energy" in stats:
        bfmi = np.asarray(az.bfmi(idata))
        chain = int(np.argmin(bfmi))
        ebfmi_v, ebfmi_at = float(bfmi[chain]), f"chain {chain}"
    else:
        ebfmi_v, ebfmi_at = float("nan"), ""
        notes.append("no energy in sample_stats: E-BFMI not computed")
    if idata.posterior.sizes.get("chain", 1) < 2:
        notes.append("R-hat needs at least 2 chains")

    def ok(value: float, good: bool) -> bool:
        return bool(not np.isnan(value) and good)

    bulk_ok = ok(bulk_v, bulk_v >= t.ess_bulk_min)
    tail_ok = ok(tail_v, tail_v >= t.ess_tail_min)

    checks = (
        Check("rhat_max", rhat_v, t.rhat_max, ok(rhat_v, rhat_v <= t.rhat_max), rhat_at),
        Check("ess_bulk_min", bulk_v, t.ess_bulk_min, bulk_ok, bulk_at),
        Check("ess_tail_min", tail_v, t.ess_tail_min, tail_ok, tail_at),
        Check("divergences", n_div, t.max_divergences, n_div <= t.max_divergences),
        Check("ebfmi_min", ebfmi_v, t.ebfmi_min, ok(ebfmi_v, ebfmi_v >= t.ebfmi_min), ebfmi_at),
    )
    return GateResult(checks=checks, notes=tuple(notes))
