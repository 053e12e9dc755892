"""Power curves and the protocol-ready sample size justification paragraph."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from cpstem.design.samplesize import SampleSize, power_means

__all__ = ["power_curve", "power_curve_plot", "sample_size_justification"]

_REFERENCES = {
    "t": "the exact power of the two-sample t test from the noncentral t distribution "
    "(as R pwr::pwr.t.test)",
    "z": "the normal approximation",
}
_ANALYSIS = {
    "difference": "comparison of the follow-up values",
    "ancova": "analysis of covariance of the follow-up value adjusted for baseline "
    "(residual variance σ²(1 − ρ²); Frison & Pocock, Stat Med 1992;11:1685–1704)",
    "change": "comparison of the change from baseline (variance 2σ²(1 − ρ); Frison & Pocock, "
    "Stat Med 1992;11:1685–1704)",
}


def power_curve(
    result: SampleSize, n: Sequence[float] | None = None, deltas: Sequence[float] | None = None
) -> dict[str, Any]:
    """Power against n per arm (arm 1; arm 2 = ratio·n) for ``deltas`` (default: the design's
    delta and 0.75, 1.25 times it)."""
    ns = np.asarray(
        n
        if n is not None
        else np.unique(np.linspace(max(3, result.n1 // 4), result.n1 * 2, 40).round()),
        dtype=float,
    )
    ds = (
        list(deltas)
        if deltas is not None
        else [0.75 * result.delta, result.delta, 1.25 * result.delta]
    )
    curves = {
        float(d): [
            power_means(
                float(k),
                d,
                result.sd,
                result.alpha,
                result.ratio,
                result.sided,
                result.analysis,
                result.correlation,
                result.method,
                baselines=result.baselines,
                followups=result.followups,
                strict=result.strict,
            ).power
            for k in ns
        ]
        for d in ds
    }
    return {"n": ns.tolist(), "power": curves}


def power_curve_plot(result: SampleSize, ax: Any = None, **kwargs: Any) -> Figure:
    """Power curves (one line per delta) with the target power and the chosen n marked."""
    data = power_curve(result, **kwargs)
    if ax is None:
        fig = Figure(figsize=(7, 4.5))
        ax = fig.add_subplot(1, 1, 1)
    else:
        fig = ax.figure
    for d, p in data["power"].items():
        ax.plot(data["n"], p, label=f"delta = {d:.3g}", lw=2 if d == result.delta else 1.2)
    ax.axhline(result.target_power, color="grey", ls="--", lw=1)
    ax.axvline(result.n1, color="grey", ls=":", lw=1)
    ax.set_xlabel(
        "analysed participants in arm 1"
        + (f" (arm 2 = {result.ratio:g} x)" if result.ratio != 1 else " (per arm)")
    )
    ax.set_ylabel("power")
    ax.set_ylim(0, 1)
    ax.set_title(f"Power, {result.analysis} (sd {result.sd:g}, alpha {result.alpha:g})")
    ax.legend(loc="lower right")
    return fig


def sample_size_justification(
    result: SampleSize,
    *,
    outcome: str = "GMFM-66",
    units: str = "points",
    delta_source: str | None = None,
    sd_source: str | None = None,
    correlation_source: str | None = None,
    assurance: float | None = None,
    prior: str | None = None,
) -> str:
    """One paragraph for a protocol, with every number the calculation used and its sources."""
    sides = "two-sided" if result.sided == 2 else "one-sided"
    parts = [
        f"The sample size was calculated for the primary outcome, {outcome}, analysed by "
        f"{_ANALYSIS[result.analysis]}.",
        f"To detect a difference of {result.delta:g} {units} between arms"
        + (f" ({delta_source})" if delta_source else "")
        + f", assuming a standard deviation of {result.sd:g} {units}"
        + (f" ({sd_source})" if sd_source else "")
        + (
            f" and a baseline–follow-up correlation of {result.correlation:g}"
            + (f" ({correlation_source})" if correlation_source else "")
            if result.correlation is not None and result.analysis != "difference"
            else ""
        )
        + f", with {result.target_power:.0%} power and a {sides} significance level of "
        f"{result.alpha:g}, {result.n1} participants are needed in the "
        + (
            "each arm"
            if result.ratio == 1
            else f"first arm and {result.n2} in the second (allocation {result.ratio:g}:1)"
        )
        + f" ({result.total} analysed in total; achieved power {result.achieved_power:.1%}), "
        f"computed with {_REFERENCES[result.method]}.",
    ]
    if result.dropout > 0:
        parts.append(
            f"Allowing for {result.dropout:.0%} loss to follow-up, {result.recruited} participants "
            f"({result.recruited1} + {result.recruited2}) will be recruited."
        )
    if assurance is not None:
        parts.append(
            "Averaged over the uncertainty in the effect"
            + (f" ({prior})" if prior else "")
            + f", the probability of a significant result (assurance; O'Hagan, Stevens & "
            f"Campbell, Pharm Stat 2005;4:187–201) is {assurance:.1%}."
        )
    text = " ".join(parts)
    return text.replace("in the each arm", "in each arm")
