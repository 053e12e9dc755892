"""The model choices of one evidence report: measure, tau^2 estimator, test, confidence level."""

from __future__ import annotations

from dataclasses import dataclass

from cpstem.evidence import dist
from cpstem.evidence.errors import EvidenceError


@dataclass(frozen=True)
class Settings:
    """Model choices: effect measure, tau^2 estimator, test, confidence level.

    ``level`` is the confidence level in percent (``95``); a fraction (``0.95``) is accepted and
    stored in percent, so every label reads "95%". Every interval of the report (confidence,
    prediction, exact binomial) is computed at this level.
    """

    measure: str = "SMD"
    method: str = "REML"
    test: str = "knha"
    level: float = 95.0
    #: trial sequential analysis: anticipated SMD (default: the pooled estimate) and the
    #: GMFM-66 MCID in points for a mean difference (no verified value is bundled)
    tsa_delta: float | None = None
    mcid: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", percent(self.level))

    @property
    def level_text(self) -> str:
        """``"95%"``: the level as it appears in labels ("95% CI")."""
        return level_text(self.level)

    def describe(self) -> str:
        test = "Hartung-Knapp-Sidik-Jonkman (t)" if self.test == "knha" else "z (Wald)"
        return (
            f"measure {self.measure}, tau^2 estimator {self.method}, test {test}, "
            f"{self.level:g}% intervals"
        )


def percent(level: float) -> float:
    """A confidence level in percent: ``95 -> 95.0``, ``0.9 -> 90.0``; a level outside 50-100 %
    raises :class:`~cpstem.evidence.EvidenceError` (as metafor's ``level`` argument)."""
    try:
        dist.alpha_from_level(level)
    except EvidenceError as exc:
        raise EvidenceError(
            exc.message, code="out_of_range", field="level", params={"level": level}
        ) from None
    lv = float(level)
    return round(lv * 100.0, 10) if lv < 1.0 else lv


def level_text(level: float) -> str:
    """``95 -> "95%"``, ``0.9 -> "90%"``: the level as in "95% CI"."""
    return f"{percent(level):g}%"
