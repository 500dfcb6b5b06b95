"""What the pseudo patient data assume beyond the published numbers, and the tolerances."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bayesblina.errors import DataError

#: The endpoints :func:`reconstruct` knows.
ENDPOINTS: tuple[str, ...] = ("os", "rfs", "rfs_mrd")


#: Acceptance: every KM median within this many months of the published median.
MEDIAN_TOL_MONTHS = 0.3


#: Acceptance: the 6-month RFS within this many percentage points of the published 42%.
LANDMARK_TOL_POINTS = 3.0


#: Acceptance (looser, optional): each limit of the 95% CI of a median within this factor
#: of the published limit, i.e. ``|log(reconstructed / published)| <= log(CI_RATIO_TOL)``.
CI_RATIO_TOL = 1.5


#: Days in a month (365.25 / 12).
DAYS_PER_MONTH = 365.25 / 12


#: The first response assessment, day 15 of cycle 1 (Methods), in months.
FIRST_ASSESSMENT_MONTHS = 15 / DAYS_PER_MONTH


#: End of the 2-year follow-up, in months from enrolment.
FOLLOW_UP_MONTHS = 24.0


#: Total concentration of the Dirichlet prior on the segment masses of each candidate's
#: event-time curve (smaller: more varied shapes, lower acceptance).
DIRICHLET_CONCENTRATION = 20.0


@dataclass(frozen=True)
class Assumption:
    """One explicit assumption of the reconstruction.

    Attributes
    ----------
    key : str
        Short identifier (``"A01"`` ...).
    endpoints : tuple of str
        The endpoints it concerns (``"os"``, ``"rfs"``, ``"rfs_mrd"``).
    topic : str
        What it is about, in a few words.
    text : str
        The assumption itself, with its source where there is one.
    """

    key: str
    endpoints: tuple[str, ...]
    topic: str
    text: str


_ALL = ("os", "rfs", "rfs_mrd")


_RFS = ("rfs", "rfs_mrd")


#: Every choice the reconstruction makes, in the order the report should print them.
ASSUMPTIONS: tuple[Assumption, ...] = (
    Assumption(
        "A01", _ALL, "time scale",
        "Times are months from enrolment (1 month = 365.25/12 days), continuous (no "
        "rounding to days, so no tied event times), all > 0. Day 15 of cycle 1, the first "
        "response assessment (Methods), is 15/30.4375 = 0.493 months.",
    ),
    Assumption(
        "A02", _ALL, "end of follow-up",
        "A patient who completed the 2-year follow-up (alive, or in remission for RFS) is "
        "censored at exactly 24.0 months. The published median follow-ups (23.8 OS, 23.1 "
        "RFS) suggest last contacts slightly before 24 months; the reverse-KM median "
        "follow-up of a reconstruction (24.0) is reported beside them but is not an "
        "acceptance criterion (it does not affect anything before 24 months).",
    ),
    Assumption(
        "A03", ("os",), "OS status",
        "OS status follows Fig 1 exactly: the 48 deaths are events; the 14 patients who "
        "completed the 2-year follow-up are censored at 24 months; the 8 who ended "
        "participation alive (6 withdrew consent, 1 physician decision, 1 lost to "
        "follow-up) are censored at a time drawn independently of everything else "
        "(non-informative censoring).",
    ),
    Assumption(
        "A04", ("os",), "OS fates by response",
        "Responders (27): 18 deaths (3 died in CR after alloHSCT, 15 relapsed and died), 6 "
        "alive at 24 months (4 in remission, 2 relapsed), 3 withdrew consent. "
        "Non-responders (43): 30 deaths (48 - 18), 8 alive at 24 months (Results), 5 ended "
        "participation alive (3 withdrew consent, the physician decision and the loss to "
        "follow-up, which no responder fate accounts for). The labels fix only the "
        "status: responders' and non-responders' deaths come from one curve, since only the "
        "pooled OS curve was published.",
    ),
    Assumption(
        "A05", ("os",), "before the first assessment",
        "Table 2 footnote: 5 patients died and 1 withdrew consent before the first response "
        "assessment; their times are uniform on (0, 0.493] months. Every other death and "
        "censoring is after day 15: deaths from the OS curve on (0.493, 24), censoring "
        "times uniform on (0.493, 24).",
    ),
    Assumption(
        "A06", _RFS, "RFS status",
        "RFS = enrolment to first relapse or death (the conventional reading, C14). Events "
        "(22): the 15 who relapsed and died, the 2 relapsed alive and the 2 who withdrew "
        "after relapse (event at relapse), the 3 who died in CR after alloHSCT (event at "
        "death). Censored (5): the 4 in remission at the end of follow-up at 24 months, "
        "the 1 who withdrew consent in CR at a time uniform on (0.493, 24).",
    ),
    Assumption(
        "A07", _RFS, "no event before CR",
        "A responder cannot relapse before CR is documented, at day 15 of cycle 1 at the "
        "earliest: RFS event times lie in (0.493, 24). The timing of each CR (8 by day "
        "15, 20 in cycle 1, 7 in cycle 2) is not imposed patient by patient.",
    ),
    Assumption(
        "A08", _RFS, "MRD groups",
        "14 responders with a complete MRD response, 12 without (n as printed), and 1 "
        "without MRD data (27 - 14 - 12), left out of the MRD comparison as in the paper "
        "(C13) but kept in the overall RFS.",
    ),
    Assumption(
        "A09", _RFS, "fates by MRD group",
        "How the 27 responders' fates split between the MRD groups is not published. Prior: "
        "the 27 fate labels are assigned to the 14 / 12 / 1 patients uniformly at random "
        "(every split equally likely, multivariate hypergeometric); the acceptance step "
        "then keeps only splits that, with their times, reproduce the published RFS "
        "numbers, so which splits survive is learnt from the summaries, not imposed (e.g. "
        "the 4 long-term remitters are not forced into the complete-MRD group). The "
        "responder without MRD data takes its event time from the complete-MRD curve with "
        "probability 14/26, otherwise from the other curve.",
    ),
    Assumption(
        "A10", _RFS, "one RFS reconstruction",
        "'rfs' and 'rfs_mrd' come from one joint reconstruction of the 27 responders, "
        "accepted only if it reproduces every published RFS number (overall median, 6-month "
        "RFS, both MRD medians, and the CIs): for one seed, draw k of 'rfs_mrd' is draw k "
        "of 'rfs' without the responder who has no MRD data.",
    ),
    Assumption(
        "A11", _ALL, "event-time curve",
        "Event times are drawn from a piecewise-constant density (piecewise-linear "
        "distribution function) with knots at 0.493 months, the published lower CI limit, "
        "median and upper CI limit, the geometric mid-point of (upper limit, 24) and 24. "
        "Calibration: with e events among n patients, the mass below a knot is "
        "(k - 0.3)/(e + 0.4) (Benard), where k is the event at which lifelines' KM (for "
        "the median) or its 95% log-log band (for the CI limits) crosses 0.5 in a sample of "
        "n without censoring, so that event falls at the published time in median. Each "
        "candidate then draws its own segment masses from a Dirichlet prior centred on the "
        "calibrated masses (total concentration DIRICHLET_CONCENTRATION = 20; the two "
        "segments above the upper limit a priori uniform): the shape varies between "
        "reconstructions.",
    ),
    Assumption(
        "A12", _ALL, "acceptance",
        "Rejection (ABC): a candidate is kept only if its lifelines KaplanMeierFitter "
        "reproduces every published median within 0.3 months, the 6-month RFS within 3 "
        "percentage points and each limit of each median's 95% CI (lifelines default, "
        "log-log) within a factor 1.5 (ci_ratio; the paper's CIs were probably computed "
        "otherwise, hence the loose tolerance; ci_ratio=None drops this criterion). "
        "Candidates are screened in batches with a vectorised KM that uses lifelines' "
        "formulas and every kept one is confirmed with lifelines itself.",
    ),
    Assumption(
        "A13", _ALL, "OS and RFS not linked",
        "OS and RFS are reconstructed separately: a responder of 'os' is not the same "
        "pseudo-patient as one of 'rfs' (an OS time is not forced to exceed the RFS time).",
    ),
)


def assumptions_table(endpoint: str | None = None) -> pd.DataFrame:
    """The assumptions as a table for the report.

    Parameters
    ----------
    endpoint : {"os", "rfs", "rfs_mrd"}, optional
        Keep only the assumptions that concern this endpoint (all when ``None``).

    Returns
    -------
    pandas.DataFrame
        Columns ``key``, ``endpoints`` (joined with ``", "``), ``topic``, ``text``.

    Raises
    ------
    DataError
        If ``endpoint`` is unknown.
    """
    if endpoint is not None:
        check_endpoint(endpoint)
    rows = [
        {"key": a.key, "endpoints": ", ".join(a.endpoints), "topic": a.topic, "text": a.text}
        for a in ASSUMPTIONS
        if endpoint is None or endpoint in a.endpoints
    ]
    return pd.DataFrame(rows, columns=["key", "endpoints", "topic", "text"])


def check_endpoint(endpoint: object) -> None:
    """Raise ``DataError`` unless ``endpoint`` is one of :data:`ENDPOINTS`."""
    if endpoint not in ENDPOINTS:
        raise DataError(f"unknown endpoint {endpoint!r}: allowed values are "
                        + ", ".join(repr(e) for e in ENDPOINTS))
