"""The phase II design (Simon two-stage) and its published reference values."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from bayesblina.data.files import DATA_FILES, PathLike, resolve_path
from bayesblina.data.tables import read_toml, toml_get
from bayesblina.errors import DataError


@dataclass(frozen=True)
class Phase2Reference:
    """Operating characteristics computed from the published design (not printed).

    Attributes
    ----------
    r1, r : int
        Stage-1 futility boundary (stop if ``X1 <= r1``) and final boundary (reject
        ``H0`` if ``X > r``).
    attained_alpha, power, pet0, en0 : float
        Attained one-sided type I error, power at ``p1``, probability of early
        termination and expected sample size at ``p0``, each rounded to
        ``decimals[name]`` decimals.
    decimals : Mapping[str, int]
        Decimals of each rounded value.
    source : str
        Where the values come from.
    """

    r1: int
    r: int
    attained_alpha: float
    power: float
    pet0: float
    en0: float
    decimals: Mapping[str, int]
    source: str


@dataclass(frozen=True)
class Phase2Design:
    """The phase II two-stage design as published (Methods, Statistical Analysis).

    Attributes
    ----------
    n1, n2, n : int
        Stage-1, stage-2 and total sample sizes (21, 19, 40).
    p0, p1 : float
        Null (<= 10%) and alternative (27.5%) CR rates within two cycles.
    alpha : float
        Published significance level (0.05), with ``alpha_sidedness`` as printed.
    alpha_sidedness : str
        ``"two-sided"`` as printed.
    alpha_one_sided : float
        The package's reading for a one-sided Simon design (0.025).
    power : float
        Target power (0.80).
    enrolled : int
        Phase II patients actually treated (44).
    design, endpoint, wording, source : str
        Design name, primary end point, the paper's sentence and where it is.
    reference : Phase2Reference
        Boundaries and operating characteristics computed from the design.
    """

    n1: int
    n2: int
    n: int
    p0: float
    p1: float
    alpha: float
    alpha_sidedness: str
    alpha_one_sided: float
    power: float
    enrolled: int
    design: str
    endpoint: str
    wording: str
    source: str
    reference: Phase2Reference


def load_phase2_design(path: PathLike | None = None) -> Phase2Design:
    """Load the phase II Simon-like two-stage design as published.

    Parameters
    ----------
    path : str or os.PathLike, optional
        File to read instead of the packaged ``phase2_design.toml``.

    Returns
    -------
    Phase2Design
        Frozen dataclass with ``n1 = 21``, ``n2 = 19``, ``n = 40``, ``p0 = 0.10``,
        ``p1 = 0.275``, ``alpha = 0.05`` (two-sided as printed; ``alpha_one_sided =
        0.025``), ``power = 0.80`` and the computed ``reference`` characteristics.

    Raises
    ------
    DataError
        If the file is missing, is not valid TOML, lacks a key, has a value of the
        wrong type, or the design is inconsistent (``n1 + n2 != n``, ``p0 >= p1``,
        boundaries outside ``0 <= r1 < n1``, ``r1 <= r < n``, ...).
    """
    file = resolve_path(path, DATA_FILES["phase2_design"])
    doc = read_toml(file)
    for section in ("published", "interpretation", "reference"):
        if not isinstance(doc.get(section), dict):
            raise DataError(f"{file}: missing table [{section}]")
    pub, interp, ref = doc["published"], doc["interpretation"], doc["reference"]
    num = (int, float)
    design = Phase2Design(
        n1=toml_get(file, pub, "published", "n1", int),
        n2=toml_get(file, pub, "published", "n2", int),
        n=toml_get(file, pub, "published", "n", int),
        p0=toml_get(file, pub, "published", "p0", num),
        p1=toml_get(file, pub, "published", "p1", num),
        alpha=toml_get(file, pub, "published", "alpha", num),
        alpha_sidedness=toml_get(file, pub, "published", "alpha_sidedness", str),
        alpha_one_sided=toml_get(file, interp, "interpretation", "alpha_one_sided", num),
        power=toml_get(file, pub, "published", "power", num),
        enrolled=toml_get(file, pub, "published", "enrolled", int),
        design=toml_get(file, pub, "published", "design", str),
        endpoint=toml_get(file, pub, "published", "endpoint", str),
        wording=toml_get(file, doc, "", "wording", str),
        source=toml_get(file, doc, "", "source", str),
        reference=Phase2Reference(
            r1=toml_get(file, ref, "reference", "r1", int),
            r=toml_get(file, ref, "reference", "r", int),
            attained_alpha=toml_get(file, ref, "reference", "attained_alpha", num),
            power=toml_get(file, ref, "reference", "power", num),
            pet0=toml_get(file, ref, "reference", "pet0", num),
            en0=toml_get(file, ref, "reference", "en0", num),
            decimals=MappingProxyType(
                {
                    name: toml_get(file, ref, "reference", f"{name}_decimals", int)
                    for name in ("attained_alpha", "power", "pet0", "en0")
                }
            ),
            source=toml_get(file, ref, "reference", "source", str),
        ),
    )
    _validate_design(file, design)
    return design


def _validate_design(file: Path, d: Phase2Design) -> None:
    def bad(where: str, value: object, allowed: str) -> DataError:
        return DataError(f"{file}: {where} = {value!r} is invalid: {allowed}")

    if d.n1 < 1 or d.n2 < 1:
        raise bad("[published] n1/n2", (d.n1, d.n2), "both stage sizes must be >= 1")
    if d.n1 + d.n2 != d.n:
        raise bad("[published] n", d.n, f"it must equal n1 + n2 = {d.n1 + d.n2}")
    if not 0.0 < d.p0 < d.p1 < 1.0:
        raise bad("[published] p0, p1", (d.p0, d.p1), "they must satisfy 0 < p0 < p1 < 1")
    for name, value in (("alpha", d.alpha), ("power", d.power)):
        if not 0.0 < value < 1.0:
            raise bad(f"[published] {name}", value, "it must lie in (0, 1)")
    if d.alpha_sidedness not in ("one-sided", "two-sided"):
        raise bad("[published] alpha_sidedness", d.alpha_sidedness,
                  "allowed values are 'one-sided', 'two-sided'")
    expected = d.alpha / 2 if d.alpha_sidedness == "two-sided" else d.alpha
    if not math.isclose(d.alpha_one_sided, expected, rel_tol=1e-12):
        raise bad("[interpretation] alpha_one_sided", d.alpha_one_sided,
                  f"it must be the {d.alpha_sidedness} alpha read one-sided: {expected}")
    if d.enrolled < d.n:
        raise bad("[published] enrolled", d.enrolled, f"it must be at least n = {d.n}")
    ref = d.reference
    if not 0 <= ref.r1 < d.n1:
        raise bad("[reference] r1", ref.r1, f"it must satisfy 0 <= r1 < n1 = {d.n1}")
    if not ref.r1 <= ref.r < d.n:
        raise bad("[reference] r", ref.r, f"it must satisfy r1 = {ref.r1} <= r < n = {d.n}")
    for name in ("attained_alpha", "power", "pet0"):
        value = getattr(ref, name)
        if not 0.0 <= value <= 1.0:
            raise bad(f"[reference] {name}", value, "it must lie in [0, 1]")
    if not d.n1 <= ref.en0 <= d.n:
        raise bad("[reference] en0", ref.en0, f"it must lie in [n1, n] = [{d.n1}, {d.n}]")
    for name, dec in ref.decimals.items():
        if dec < 0:
            raise bad(f"[reference] {name}_decimals", dec, "it must be >= 0")
