"""Sensitivity analyses of a fitted model: ``leave_one_out``, ``cumulative``, ``influence``.

Same figures as metafor's ``leave1out``, ``cumul`` and ``influence`` (externally standardized
residuals, DFFITS, Cook's distances, covariance ratios, leave-one-out tau^2 and Q, hat values,
weights, DFBETAS and the "influential" flag of Viechtbauer & Cheung 2010).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from cpstem.evidence import dist
from cpstem.evidence.batch import rma_batch
from cpstem.evidence.errors import EvidenceError
from cpstem.evidence.rma import COEF_FIGURES, RMAResult, rma
from cpstem.formatting import format_p
from cpstem.results import Result, frame_of, text_table

if TYPE_CHECKING:
    import pandas as pd

_SERIES = (*COEF_FIGURES, "q", "q_pval", "tau2", "i2", "h2")


@dataclass(frozen=True)
class Sequence(Result):
    """One row per refitted model (leave-one-out or cumulative), in ``labels`` order.

    ``labels[i]`` is the study left out (leave-one-out) or added (cumulative) in row ``i``.
    ``to_frame()``: one row per refitted model, columns ``study, estimate, se, stat, pval,
    ci_lower, ci_upper, q, q_pval, tau2, i2, h2``.
    """

    kind: str
    labels: tuple[str, ...]
    estimate: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    q: np.ndarray
    q_pval: np.ndarray
    tau2: np.ndarray
    i2: np.ndarray
    h2: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """One row per refitted model: ``study`` and the figures of :data:`_SERIES`."""
        return frame_of({"study": list(self.labels)} | {n: getattr(self, n) for n in _SERIES})

    def summary(self) -> str:
        what = "omitting" if self.kind == "leave-one-out" else "adding"
        columns = [
            ("estimate", 10, ".4f", self.estimate),
            ("ci.lb", 10, ".4f", self.ci_lower),
            ("ci.ub", 10, ".4f", self.ci_upper),
            ("pval", 10, "", [format_p(p, 4, metafor=True) for p in self.pval]),
            ("tau2", 9, ".4f", self.tau2),
            ("I2", 8, ".2f", self.i2),
        ]
        title = f"{self.kind} analysis ({what} one study per row)"
        return "\n".join([title, *text_table(self.labels, columns, 24)])


def _rows(res: RMAResult, Y: np.ndarray, V: np.ndarray, kind: str, labels: Any) -> Sequence:
    if res.tau2_fixed:
        out = {name: np.full(Y.shape[0], np.nan) for name in _SERIES}
        for i in range(Y.shape[0]):
            keep = ~np.isnan(Y[i])
            try:
                r = rma(
                    Y[i][keep],
                    V[i][keep],
                    method=res.method,
                    test=res.test,
                    level=res.level,
                    tau2=res.tau2,
                    control=res.control,
                )
            except EvidenceError:
                continue
            for name in _SERIES:
                out[name][i] = getattr(r, name)
    else:
        b = rma_batch(Y, V, method=res.method, test=res.test, level=res.level, control=res.control)
        out = {name: getattr(b, name) for name in _SERIES}
    return Sequence(
        kind,
        tuple(labels),
        out["estimate"],
        out["se"],
        out["stat"],
        out["pval"],
        out["ci_lower"],
        out["ci_upper"],
        out["q"],
        out["q_pval"],
        out["tau2"],
        out["i2"],
        out["h2"],
    )


def _int_only(res: RMAResult, what: str) -> None:
    if not isinstance(res, RMAResult) or not res.int_only:
        raise EvidenceError(
            f"{what} needs a fitted model without moderators", code="not_applicable", field="res"
        )


def leave_one_out(res: RMAResult) -> Sequence:
    """Refit the model leaving out each study in turn (metafor ``leave1out``)."""
    _int_only(res, "leave-one-out")
    if res.k < 2:
        raise EvidenceError(
            "leave-one-out needs at least 2 studies",
            code="too_few_studies",
            params={"k": res.k, "needed": 2},
        )
    Y = np.tile(res.yi, (res.k, 1))
    np.fill_diagonal(Y, np.nan)
    V = np.tile(res.vi, (res.k, 1))
    return _rows(res, Y, V, "leave-one-out", res.labels)


def cumulative(res: RMAResult, order: Any = None) -> Sequence:
    """Cumulative meta-analysis adding one study at a time (metafor ``cumul``).

    ``order``: values to sort the studies by (e.g. publication year; ties keep the data
    order), default the data order.
    """
    _int_only(res, "cumulative meta-analysis")
    if order is None:
        idx = np.arange(res.k)
    else:
        key = np.asarray(order)
        if key.shape[0] != res.k:
            raise EvidenceError(
                f"order has {key.shape[0]} values for {res.k} studies",
                code="length_mismatch",
                field="order",
                params={"given": int(key.shape[0]), "expected": res.k},
            )
        idx = np.argsort(key, kind="stable")
    y, v = res.yi[idx], res.vi[idx]
    Y = np.tile(y, (res.k, 1))
    Y[np.triu_indices(res.k, 1)] = np.nan
    V = np.tile(v, (res.k, 1))
    return _rows(res, Y, V, "cumulative", [res.labels[i] for i in idx])


@dataclass(frozen=True)
class Influence(Result):
    """Case-deletion diagnostics per study (metafor ``influence``).

    ``dfbetas`` has one column per coefficient (``coef_names``). ``to_frame()``: one row per
    study, columns ``study, rstudent, dffits, cook_d, cov_r, tau2_del, q_del, hat, weight``,
    ``dfbetas_<coefficient>`` for each coefficient, and ``influential``.
    """

    labels: tuple[str, ...]
    rstudent: np.ndarray
    dffits: np.ndarray
    cook_d: np.ndarray
    cov_r: np.ndarray
    tau2_del: np.ndarray
    q_del: np.ndarray
    hat: np.ndarray
    weight: np.ndarray
    dfbetas: np.ndarray
    influential: np.ndarray
    coef_names: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per study (see the class documentation for the columns)."""
        names = ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "q_del", "hat", "weight")
        cols: dict[str, Any] = {"study": list(self.labels)}
        cols |= {n: getattr(self, n) for n in names}
        dfb = np.atleast_2d(self.dfbetas.reshape(len(self.labels), -1))
        coefs = self.coef_names or tuple(f"b{j}" for j in range(dfb.shape[1]))
        cols |= {f"dfbetas_{c}": dfb[:, j] for j, c in enumerate(coefs)}
        cols["influential"] = self.influential
        return frame_of(cols)

    def summary(self) -> str:
        columns = [
            ("rstudent", 9, ".4f", self.rstudent),
            ("dffits", 8, ".4f", self.dffits),
            ("cook.d", 8, ".4f", self.cook_d),
            ("cov.r", 7, ".4f", self.cov_r),
            ("tau2.del", 9, ".4f", self.tau2_del),
            ("QE.del", 9, ".4f", self.q_del),
            ("hat", 7, ".4f", self.hat),
            ("weight", 7, ".2f", self.weight),
            ("", 0, "", [" *" if f else " " for f in self.influential]),
        ]
        title = "Influence diagnostics (* = influential, Viechtbauer & Cheung 2010)"
        return "\n".join([title, *text_table(self.labels, columns, 22)])


def influence(res: RMAResult) -> Influence:
    """Case-deletion diagnostics of a fitted model (with or without moderators)."""
    if not isinstance(res, RMAResult):
        raise EvidenceError(
            "influence needs a fitted model (from rma)", code="not_applicable", field="res"
        )
    k, p = res.k, res.p
    if k < 2:
        raise EvidenceError(
            "influence diagnostics need at least 2 studies",
            code="too_few_studies",
            params={"k": k, "needed": 2},
        )
    X, yi, vi = res.X, res.yi, res.vi
    beta = np.atleast_1d(res.beta)
    vb = np.atleast_2d(res.vb)
    w = 1.0 / (vi + res.tau2)
    H = X @ np.linalg.inv(X.T @ (X * w[:, None])) @ (X * w[:, None]).T
    hat = np.diag(H).copy()
    hat[hat > 1 - 10 * np.finfo(float).eps] = 1.0
    weight = 100 * w / w.sum()
    pred_full = X @ beta
    try:
        svb = np.linalg.inv(np.linalg.cholesky(vb)).T @ np.linalg.inv(np.linalg.cholesky(vb))
    except np.linalg.LinAlgError:
        svb = np.full_like(vb, np.nan)
    det_full = np.linalg.det(vb)
    nan = np.full(k, np.nan)
    tau2_del, q_del, delpred, vdelpred, s2w_del = (nan.copy() for _ in range(5))
    dffits, cook, covr = nan.copy(), nan.copy(), nan.copy()
    dfbs = np.full((k, p), np.nan)
    mods = X[:, 1:] if res.has_intercept else X
    for i in range(k):
        keep = np.arange(k) != i
        try:
            r = rma(
                yi[keep],
                vi[keep],
                method=res.method,
                test=res.test,
                level=res.level,
                mods=mods[keep] if p > 1 or not res.has_intercept else None,
                intercept=res.has_intercept,
                tau2=res.tau2 if res.tau2_fixed else None,
                control=res.control,
            )
        except EvidenceError:
            continue
        bi = np.atleast_1d(r.beta)
        vbi = np.atleast_2d(r.vb)
        tau2_del[i], q_del[i], s2w_del[i] = r.tau2, r.q, r.s2w
        delpred[i] = X[i] @ bi
        vdelpred[i] = X[i] @ vbi @ X[i]
        with np.errstate(all="ignore"):
            dffits[i] = (pred_full[i] - delpred[i]) / np.sqrt(r.s2w * hat[i] * (r.tau2 + vi[i]))
            wd = 1.0 / (vi + r.tau2)
            vb_del = np.linalg.inv(X.T @ (X * wd[:, None]))
            dfb = beta - bi
            dfbs[i] = dfb / np.sqrt(r.s2w * np.diag(vb_del))
            cook[i] = dfb @ svb @ dfb
            covr[i] = np.linalg.det(vbi) / det_full
    resid = yi - delpred
    resid[np.abs(resid) < 100 * np.finfo(float).eps] = 0.0
    with np.errstate(all="ignore"):
        rstudent = resid / np.sqrt(vi * s2w_del + vdelpred + tau2_del * s2w_del)
        infl = (
            (np.abs(dffits) > 3 * np.sqrt(p / (k - p)))
            | (dist.chisq_sf(cook, p) < 0.5)
            | (hat > 3 * p / k)
            | np.any(np.abs(dfbs) > 1, axis=1)
        )
    return Influence(
        res.labels,
        rstudent,
        dffits,
        cook,
        covr,
        tau2_del,
        q_del,
        hat,
        weight,
        dfbs,
        infl,
        res.coef_names,
    )
