"""``rma``: fixed- and random-effects meta-analysis and meta-regression (metafor ``rma.uni``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cpstem.evidence import dist, estimators, metareg
from cpstem.evidence.design import check_rank, moderators, outcomes
from cpstem.evidence.errors import EvidenceError
from cpstem.evidence.estimators import METHODS, STATUS_TEXT, Control, Rows
from cpstem.evidence.inference import finish
from cpstem.formatting import format_p
from cpstem.results import Result, frame_of

if TYPE_CHECKING:
    import pandas as pd

    from cpstem.evidence.confint import Tau2CI

TESTS = ("z", "knha")
_METHOD_NAMES = {
    "FE": "fixed-effect (inverse variance)",
    "DL": "DerSimonian-Laird",
    "REML": "restricted maximum likelihood",
    "ML": "maximum likelihood",
    "PM": "Paule-Mandel",
    "HE": "Hedges",
    "SJ": "Sidik-Jonkman",
    "HS": "Hunter-Schmidt",
    "EB": "empirical Bayes",
}


#: The figures of a coefficient, as ``coef_frame()`` names them; leave-one-out, cumulative,
#: subgroup and batch results give the same figures per row under the same names.
COEF_FIGURES = ("estimate", "se", "stat", "pval", "ci_lower", "ci_upper")
#: The heterogeneity figures of a model (attributes of :class:`RMAResult`).
HETEROGENEITY_FIGURES = ("tau2", "i2", "h2", "q", "q_df", "q_pval")


def check_method_test(method: str, test: str) -> tuple[str, str]:
    """The canonical method (``"EE"`` -> ``"FE"``) and test (``"hksj"`` -> ``"knha"``) names."""
    m = str(method).upper()
    if m == "EE":
        m = "FE"
    if m not in METHODS:
        raise EvidenceError(
            f"method {method!r}: allowed {', '.join(METHODS)}",
            code="invalid_choice",
            field="method",
            params={"value": method, "allowed": list(METHODS)},
        )
    t = str(test).lower()
    if t in ("hksj", "hk", "t"):
        t = "knha"
    if t not in TESTS:
        raise EvidenceError(
            f"test {test!r}: allowed 'z' or 'knha' (Hartung-Knapp-Sidik-Jonkman)",
            code="invalid_choice",
            field="test",
            params={"value": test, "allowed": list(TESTS)},
        )
    return m, t


@dataclass(frozen=True)
class Prediction(Result):
    """Predicted (average) effect with confidence and prediction interval (metafor ``predict``).

    ``to_frame()``: one row per prediction, columns ``pred, se, ci_lower, ci_upper, pi_lower,
    pi_upper``.
    """

    pred: np.ndarray
    se: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    pi_lower: np.ndarray
    pi_upper: np.ndarray
    level: float

    def __str__(self) -> str:
        rows = [
            f"{p:9.4f} {s:9.4f} {a:9.4f} {b:9.4f} {c:9.4f} {d:9.4f}"
            for p, s, a, b, c, d in zip(
                self.pred,
                self.se,
                self.ci_lower,
                self.ci_upper,
                self.pi_lower,
                self.pi_upper,
                strict=True,
            )
        ]
        head = f"{'pred':>9} {'se':>9} {'ci.lb':>9} {'ci.ub':>9} {'pi.lb':>9} {'pi.ub':>9}"
        return "\n".join([head, *rows])

    def to_frame(self) -> pd.DataFrame:
        """One row per prediction: ``pred, se, ci_lower, ci_upper, pi_lower, pi_upper``."""
        names = ("pred", "se", "ci_lower", "ci_upper", "pi_lower", "pi_upper")
        return frame_of({n: getattr(self, n) for n in names})


@dataclass(frozen=True)
class RMAResult(Result):
    """A fitted model. Coefficient figures are floats for one coefficient, arrays otherwise.

    Attributes follow metafor: ``beta`` (``estimate`` for a model without moderators), ``se``,
    ``stat`` (z or t), ``pval``, ``ci_lower``/``ci_upper``, ``tau2`` (0 for FE), ``se_tau2``,
    ``i2`` and ``h2`` (metafor's definitions), ``q``/``q_df``/``q_pval`` (heterogeneity or
    residual heterogeneity), ``qm``/``qm_df``/``qm_pval`` (omnibus test of the moderators; F
    with knha), ``pi_lower``/``pi_upper`` (prediction interval, models without moderators),
    ``r2`` (pseudo R^2 of a meta-regression), ``k``, ``p``, ``df`` (t degrees of freedom with
    knha), ``fit_stats`` (logLik, deviance, AIC, BIC, AICc), ``status``.

    ``to_frame()``: one row per study, columns ``study, yi, vi, sei, ci_lower, ci_upper``
    (the study's own confidence interval, normal quantile at ``level``) and ``weight`` (percent,
    as :attr:`weights`). ``coef_frame()``: one row per coefficient (index: coefficient name),
    columns ``estimate, se, stat, pval, ci_lower, ci_upper``. ``to_dict()`` adds ``tau``,
    ``weights`` and, without moderators, ``estimate``.
    """

    method: str
    test: str
    level: float
    k: int
    p: int
    coef_names: tuple[str, ...]
    beta: Any
    se: Any
    stat: Any
    pval: Any
    ci_lower: Any
    ci_upper: Any
    vb: np.ndarray
    tau2: float
    se_tau2: float
    tau2_fixed: bool
    i2: float
    h2: float
    vt: float
    q: float
    q_df: int
    q_pval: float
    qm: float
    qm_df: tuple[int, float]
    qm_pval: float
    pi_lower: float | None
    pi_upper: float | None
    r2: float | None
    df: float
    s2w: float
    fit_stats: Mapping[str, float]
    yi: np.ndarray
    vi: np.ndarray
    X: np.ndarray
    labels: tuple[str, ...]
    omitted: tuple[int, ...]
    measure: str | None
    status: str
    iterations: int
    has_intercept: bool
    control: Control = field(repr=False)

    # --- convenience -------------------------------------------------------------------
    @property
    def int_only(self) -> bool:
        return self.p == 1 and self.has_intercept

    @property
    def estimate(self) -> float:
        """The pooled effect of a model without moderators."""
        if self.p != 1:
            raise EvidenceError(
                "this model has moderators: read .beta (one per coefficient)",
                code="not_applicable",
            )
        return float(self.beta)

    @property
    def tau(self) -> float:
        return float(np.sqrt(self.tau2))

    @property
    def weights(self) -> np.ndarray:
        """Percent weight of each study in the model (metafor ``weights``)."""
        w = 1.0 / (self.vi + self.tau2)
        return 100.0 * w / w.sum()

    @property
    def alpha(self) -> float:
        return dist.alpha_from_level(self.level)

    def predict(
        self,
        newmods: Any = None,
        level: float | None = None,
        transf: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> Prediction:
        """Predicted effects with CI and prediction interval, as metafor's ``predict``.

        Without moderators: the pooled effect. With moderators: ``newmods`` (rows of moderator
        values, without the intercept), or the fitted value of every study. ``transf`` (e.g.
        ``np.exp`` for log odds ratios) is applied to the estimates and bounds.
        """
        vb = np.atleast_2d(self.vb)
        beta = np.atleast_1d(self.beta)
        if newmods is None:
            Xn = self.X[:1] if self.int_only else self.X
        else:
            Xn = np.atleast_2d(np.asarray(newmods, dtype=float))
            if self.p - int(self.has_intercept) == 1 and Xn.shape[0] == 1 and Xn.size > 1:
                Xn = Xn.reshape(-1, 1)
            if self.has_intercept:
                Xn = np.column_stack([np.ones(Xn.shape[0]), Xn])
            if Xn.shape[1] != self.p:
                raise EvidenceError(
                    f"newmods: {Xn.shape[1] - int(self.has_intercept)} values per row given, "
                    f"the model has {self.p - int(self.has_intercept)} moderators",
                    code="length_mismatch",
                    field="newmods",
                    params={
                        "given": Xn.shape[1] - int(self.has_intercept),
                        "expected": self.p - int(self.has_intercept),
                    },
                )
        alpha = self.alpha if level is None else dist.alpha_from_level(level)
        pred = Xn @ beta
        vpred = np.einsum("ij,jk,ik->i", Xn, vb, Xn)
        with np.errstate(invalid="ignore"):
            se = np.sqrt(np.where(vpred < 0, np.nan, vpred))
        crit = dist.crit_t(alpha, self.df) if self.test == "knha" else dist.crit_norm(alpha)
        sd = np.sqrt(vpred + self.tau2)
        out = [pred, se, pred - crit * se, pred + crit * se, pred - crit * sd, pred + crit * sd]
        if transf is not None:
            out = [transf(a) if i != 1 else a for i, a in enumerate(out)]
        lv = self.level if level is None else float(level)
        pred, se_, ci_lo, ci_hi, pi_lo, pi_hi = (np.asarray(a, dtype=float) for a in out)
        return Prediction(pred, se_, ci_lo, ci_hi, pi_lo, pi_hi, level=lv)

    def confint(self, level: float | None = None) -> Tau2CI:
        """Q-profile CI of tau^2, tau, I^2 and H^2 (metafor ``confint``)."""
        from cpstem.evidence.confint import confint_tau2

        return confint_tau2(self, level)

    # --- data ------------------------------------------------------------------------
    def _dict_items(self) -> dict[str, Any]:
        out = super()._dict_items() | {"tau": self.tau, "weights": self.weights}
        if self.p == 1:
            out["estimate"] = self.estimate
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per study: ``study, yi, vi, sei, ci_lower, ci_upper, weight`` (percent)."""
        sei = np.sqrt(self.vi)
        z = dist.crit_norm(self.alpha)
        return frame_of(
            {
                "study": list(self.labels),
                "yi": self.yi,
                "vi": self.vi,
                "sei": sei,
                "ci_lower": self.yi - z * sei,
                "ci_upper": self.yi + z * sei,
                "weight": self.weights,
            }
        )

    def coef_frame(self) -> pd.DataFrame:
        """One row per coefficient (index ``coef_names``): ``estimate, se, stat, pval,
        ci_lower, ci_upper``."""
        values = (self.beta, self.se, self.stat, self.pval, self.ci_lower, self.ci_upper)
        cols = {name: np.atleast_1d(v) for name, v in zip(COEF_FIGURES, values, strict=True)}
        return frame_of(cols, index=list(self.coef_names))

    # --- text ------------------------------------------------------------------------
    def summary(self) -> str:
        lines = []
        kind = "Fixed-effect" if self.method == "FE" else "Random-effects"
        if not self.int_only:
            kind = (
                "Fixed-effects meta-regression"
                if self.method == "FE"
                else ("Mixed-effects meta-regression")
            )
        est = "" if self.method == "FE" else f"; tau^2 estimator: {self.method}"
        lines.append(f"{kind} model (k = {self.k}{est})")
        if self.omitted:
            lines.append(f"  {len(self.omitted)} studies with missing values omitted")
        if self.status != STATUS_TEXT[estimators.OK]:
            lines.append(f"  note: {self.status}")
        lines.append("")
        if self.method != "FE":
            res = "" if self.int_only else "residual "
            se_t = "" if np.isnan(self.se_tau2) else f" (SE = {self.se_tau2:.4f})"
            lines.append(f"tau^2 ({res}heterogeneity): {self.tau2:.4f}{se_t}")
            lines.append(f"tau:                         {self.tau:.4f}")
        lines.append(f"I^2: {self.i2:.2f}%   H^2: {self.h2:.2f}")
        if self.r2 is not None:
            lines.append(f"R^2 (heterogeneity accounted for): {self.r2:.2f}%")
        qname = "Q" if self.int_only else "QE"
        lines.append(
            f"Test for {'residual ' if not self.int_only else ''}heterogeneity: "
            f"{qname}(df = {self.q_df}) = {self.q:.4f}, p {_p(self.q_pval)}"
        )
        if not self.int_only:
            if self.test == "knha":
                lines.append(
                    f"Test of moderators: F(df1 = {self.qm_df[0]}, df2 = {self.qm_df[1]:g}) = "
                    f"{self.qm:.4f}, p {_p(self.qm_pval)}"
                )
            else:
                lines.append(
                    f"Test of moderators: QM(df = {self.qm_df[0]}) = {self.qm:.4f}, "
                    f"p {_p(self.qm_pval)}"
                )
        lines.append("")
        stat = "tval" if self.test == "knha" else "zval"
        lines.append(
            f"{'':<14}{'estimate':>10}{'se':>9}{stat:>9}{'pval':>10}{'ci.lb':>10}{'ci.ub':>10}"
        )
        lv = self.level if self.level > 1 else self.level * 100
        for i, name in enumerate(self.coef_names):
            b, s, z, pv, lo, hi = (
                float(np.atleast_1d(a)[i])
                for a in (self.beta, self.se, self.stat, self.pval, self.ci_lower, self.ci_upper)
            )
            lines.append(
                f"{name[:14]:<14}{b:10.4f}{s:9.4f}{z:9.4f}{_pfmt(pv):>10}{lo:10.4f}{hi:10.4f}"
            )
        if self.int_only:
            lines.append(f"{lv:g}% prediction interval: {self.pi_lower:.4f} to {self.pi_upper:.4f}")
        if self.test == "knha":
            lines.append(f"Hartung-Knapp-Sidik-Jonkman: t tests with df = {self.df:g}")
        return "\n".join(lines)


def _pfmt(p: float) -> str:
    return format_p(p, 4, metafor=True)


def _p(p: float) -> str:
    return format_p(p, 4, prefix=True, metafor=True)


def rma(
    yi: Any,
    vi: Any = None,
    method: str = "REML",
    test: str = "z",
    level: float = 95,
    mods: Any = None,
    *,
    sei: Any = None,
    intercept: bool = True,
    tau2: float | None = None,
    labels: Any = None,
    measure: str | None = None,
    control: Control | Mapping[str, Any] | None = None,
) -> RMAResult:
    """Fit a fixed- or random-effects model (with moderators: a meta-regression).

    ``yi``/``vi`` are the effect sizes and sampling variances (or pass an
    :class:`~cpstem.evidence.EffectSizes` as ``yi``). ``method``: FE, DL, REML (default), ML,
    PM, HE, SJ, HS or EB. ``test``: ``"z"`` or ``"knha"`` (Hartung-Knapp-Sidik-Jonkman t and F
    tests). ``level``: confidence level in percent. ``mods``: moderators (array, DataFrame or
    mapping; text columns become dummies); an intercept is added unless ``intercept=False``.
    ``tau2`` fixes tau^2 instead of estimating it. ``control``: metafor's iteration settings
    (``threshold``, ``maxiter``, ``stepadj``, ``tol``, ``tau2_init``, ``tau2_max``,
    ``ll0check``). Studies with a missing value are omitted (listed in ``omitted``).
    """
    if hasattr(yi, "yi") and hasattr(yi, "vi") and vi is None and sei is None:
        es = yi
        yi, vi = es.yi, es.vi
        labels = labels if labels is not None else getattr(es, "labels", None)
        measure = measure or getattr(es, "measure", None)
    method, test = check_method_test(method, test)
    alpha = dist.alpha_from_level(level)
    ctrl = Control.of(control)
    y, v = outcomes(yi, vi, sei)
    k_all = y.size
    lab = (
        tuple(str(x) for x in labels)
        if labels is not None
        else tuple(f"Study {i + 1}" for i in range(k_all))
    )
    if len(lab) != k_all:
        raise EvidenceError(
            f"{len(lab)} labels for {k_all} studies",
            code="length_mismatch",
            field="labels",
            params={"given": len(lab), "expected": k_all},
        )
    X, names, has_int = moderators(mods, k_all, intercept)
    keep = ~(np.isnan(y) | np.isnan(v))
    if X is not None:
        keep &= ~np.any(np.isnan(X), axis=1)
    omitted = tuple(int(i) for i in np.flatnonzero(~keep))
    y, v = y[keep], v[keep]
    lab = tuple(x for x, kp in zip(lab, keep, strict=True) if kp)
    k = y.size
    if k == 0:
        raise EvidenceError(
            "no study has both an effect size and a sampling variance",
            code="too_few_studies",
            field="yi",
            params={"k": 0},
        )
    if tau2 is not None and (not np.isfinite(tau2) or tau2 < 0):
        raise EvidenceError(
            f"tau2 = {tau2}: a fixed tau^2 must be >= 0",
            code="out_of_range",
            field="tau2",
            params={"value": tau2},
        )
    fixed = tau2 is not None and method != "FE"
    int_only = X is None or (X.shape[1] == 1 and has_int)
    X = np.ones((k, 1)) if X is None else X[keep]
    p = X.shape[1]
    if not (int_only and k == 1):
        need = p if (method == "FE" or fixed) else p + 1
        if k < need:
            raise EvidenceError(
                f"{k} studies for {p} coefficients{'' if need == p else ' and tau^2'}: "
                f"need at least {need}",
                code="too_few_studies",
                field="yi",
                params={"k": k, "needed": need},
            )
    if not int_only:
        check_rank(X, names)
    if k == 1:
        test = "z"
    if int_only:
        fitted = _fit_int_only(y, v, method, test, alpha, ctrl, tau2 if fixed else None)
        r2 = None
    else:
        fitted = _fit_mods(y, v, X, method, test, alpha, ctrl, tau2 if fixed else None, has_int)
        r2 = fitted.pop("r2")
    status_code = fitted.pop("status")
    if status_code == estimators.NO_OPTIMUM:
        raise EvidenceError(
            f"method {method}: {STATUS_TEXT[status_code]}; check the study with sampling "
            "variance 0 or use method FE",
            code="no_optimum",
            field="method",
            params={"method": method},
        )
    if status_code == estimators.NONPOS_VI:
        raise EvidenceError(
            f"method {method} needs every sampling variance > 0; use REML, ML, HE, SJ or EB",
            code="nonpositive_variance",
            field="vi",
            params={"method": method},
        )
    t2 = fitted["tau2"]
    parms = p + (0 if method == "FE" or fixed else 1)
    fs = _fit_stats(fitted.pop("ll_ml"), fitted.pop("ll_reml"), k, p, parms, v, fitted["q"])
    one = p == 1

    def c(a: Any) -> Any:
        a = np.asarray(a, dtype=float).reshape(-1)
        return float(a[0]) if one else a

    return RMAResult(
        method=method,
        test=test,
        level=float(level),
        k=k,
        p=p,
        coef_names=tuple(names),
        beta=c(fitted["beta"]),
        se=c(fitted["se"]),
        stat=c(fitted["stat"]),
        pval=c(fitted["pval"]),
        ci_lower=c(fitted["ci_lower"]),
        ci_upper=c(fitted["ci_upper"]),
        vb=np.atleast_2d(fitted["vb"]),
        tau2=float(t2),
        se_tau2=float(fitted["se_tau2"]),
        tau2_fixed=fixed,
        i2=float(fitted["i2"]),
        h2=float(fitted["h2"]),
        vt=float(fitted["vt"]),
        q=float(fitted["q"]),
        q_df=k - p,
        q_pval=float(fitted["q_pval"]),
        qm=float(fitted["qm"]),
        qm_df=(int(fitted["qm_df"]), float(k - p) if test == "knha" else float("nan")),
        qm_pval=float(fitted["qm_pval"]),
        pi_lower=float(fitted["pi_lower"]) if int_only else None,
        pi_upper=float(fitted["pi_upper"]) if int_only else None,
        r2=r2,
        df=float(fitted["df"]),
        s2w=float(fitted["s2w"]),
        fit_stats=fs,
        yi=y,
        vi=v,
        X=X,
        labels=lab,
        omitted=omitted,
        measure=measure,
        status=STATUS_TEXT[status_code],
        iterations=int(fitted["iterations"]),
        has_intercept=has_int,
        control=ctrl,
    )


def _fit_int_only(
    y: np.ndarray,
    v: np.ndarray,
    method: str,
    test: str,
    alpha: float,
    ctrl: Control,
    tau2_fixed: float | None,
) -> dict[str, Any]:
    r = Rows(y[None, :], v[None, :], np.ones((1, y.size), dtype=bool))
    est = estimators.estimate(r, method, ctrl, tau2_fixed)
    out = finish(r, est.tau2, method, test, alpha)
    res = {key: val[0] for key, val in out.items()}
    res.update(
        tau2=est.tau2[0],
        se_tau2=est.se_tau2[0],
        status=int(est.status[0]),
        iterations=est.iterations[0],
        qm_df=1,
    )
    return res


def _fit_mods(
    y: np.ndarray,
    v: np.ndarray,
    X: np.ndarray,
    method: str,
    test: str,
    alpha: float,
    ctrl: Control,
    tau2_fixed: float | None,
    has_int: bool,
) -> dict[str, Any]:
    d = metareg.Design(y, v, X)
    if method == "FE":
        t2, se_t2, status, it = 0.0, float("nan"), estimators.OK, 0
    elif tau2_fixed is not None:
        t2, se_t2, status, it = float(tau2_fixed), float("nan"), estimators.OK, 0
    else:
        t2, se_t2, status, it = metareg.estimate(d, method, ctrl)
    if status == estimators.NO_OPTIMUM:
        return {"status": status, "r2": None}
    p = X.shape[1]
    btt = np.arange(1, p) if (has_int and p > 1) else np.arange(p)
    res = metareg.fit(d, t2, method, test, alpha, btt, tau2_fixed is not None)
    res.update(tau2=t2, se_tau2=se_t2, status=status, iterations=it)
    r2 = None
    if has_int and p > 1:
        if method == "FE":
            r2 = metareg.r2_fixed(d)
        else:
            base = estimators.estimate(
                Rows(y[None, :], v[None, :], np.ones((1, y.size), dtype=bool)), method, ctrl
            )
            t_re = float(base.tau2[0])
            if base.status[0] in (estimators.OK, estimators.FALLBACK):
                r2 = 0.0 if t_re == 0 else max(0.0, 100.0 * (t_re - t2) / t_re)
    res["r2"] = r2
    return res


def _fit_stats(
    ll_ml: float, ll_reml: float, k: int, p: int, parms: int, v: np.ndarray, q: float
) -> dict[str, float]:
    allpos = bool(np.all(v > 0))
    if k > p:
        dev_ml = -2 * (ll_ml - np.sum(-0.5 * np.log(2 * np.pi * v))) if allpos else -2 * ll_ml
    else:
        dev_ml = 0.0
    out = {
        "ll_ml": ll_ml,
        "dev_ml": float(dev_ml),
        "aic_ml": -2 * ll_ml + 2 * parms,
        "bic_ml": -2 * ll_ml + parms * np.log(k),
        "ll_reml": ll_reml,
        "dev_reml": -2 * ll_reml,
        "aic_reml": -2 * ll_reml + 2 * parms,
        "bic_reml": -2 * ll_reml + parms * (np.log(k - p) if k > p else -np.inf),
    }
    mk = max(k, parms + 2)
    out["aicc_ml"] = -2 * ll_ml + 2 * parms * mk / (mk - parms - 1)
    mr = max(k - p, parms + 2)
    out["aicc_reml"] = -2 * ll_reml + 2 * parms * mr / (mr - parms - 1)
    return {key: float(val) for key, val in out.items()}
