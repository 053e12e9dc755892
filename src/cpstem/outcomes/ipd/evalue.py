"""E-values for unmeasured confounding (VanderWeele & Ding 2017, Ann Intern Med 167:268-274).

For a continuous outcome the standardised mean difference d is turned into an approximate risk
ratio RR = exp(0.91 d) (VanderWeele & Ding 2017, table; Chinn 2000), then
``E = RR + sqrt(RR (RR - 1))`` for RR >= 1 (RR < 1 is inverted first).
"""

from __future__ import annotations

import math

from cpstem.outcomes.errors import OutcomeError

#: the factor of the d -> log RR approximation
SMD_TO_LOG_RR = 0.91


def e_value_rr(rr: float) -> float:
    """The E-value of a risk ratio (1 for RR = 1)."""
    if not rr > 0:
        raise OutcomeError(
            f"risk ratio {rr!r}: must be above 0",
            code="out_of_range",
            field="rr",
            params={"value": rr},
        )
    if rr < 1:
        rr = 1 / rr
    return rr + math.sqrt(rr * (rr - 1))


def e_value_smd(d: float) -> float:
    """The E-value of a standardised mean difference via RR = exp(0.91 d)."""
    return e_value_rr(math.exp(SMD_TO_LOG_RR * d))


def e_value_smd_ci(lower: float, upper: float) -> float:
    """The E-value of the CI limit closest to the null (1 if the CI contains 0)."""
    if lower <= 0 <= upper:
        return 1.0
    return e_value_smd(lower if lower > 0 else upper)
