"""Meta-analysis with R metafor parity: effect sizes, fixed/random effects, meta-regression.

>>> from cpstem import evidence
>>> res = evidence.rma([0.1, 0.3, 0.35, 0.65], [0.03, 0.02, 0.05, 0.04], method="REML")
>>> round(res.estimate, 4)
0.3315
"""

from cpstem.evidence import conversions
from cpstem.evidence.batch import BatchResult, rma_batch
from cpstem.evidence.bayes import BayesResult, bayesmeta
from cpstem.evidence.bias import RankTest, RegTest, TrimFill, ranktest, regtest, trimfill
from cpstem.evidence.conversions import (
    hozo_mean_sd,
    mean_sd_from_median,
    sd_from_ci,
    sd_from_se,
)
from cpstem.evidence.diagnostics import Baujat, Gosh, Profile, baujat, gosh, profile
from cpstem.evidence.errors import EvidenceError
from cpstem.evidence.escalc import EffectSizes, effect_sizes
from cpstem.evidence.estimators import Control
from cpstem.evidence.influence import Influence, Sequence, cumulative, influence, leave_one_out
from cpstem.evidence.mh import PooledTables, rma_mh, rma_peto
from cpstem.evidence.multilevel import MVResult, rma_mv, vcalc
from cpstem.evidence.plots import forest, funnel
from cpstem.evidence.rma import Prediction, RMAResult, rma
from cpstem.evidence.robust import RobustResult, robust
from cpstem.evidence.selection import HCResult, PetPeese, SelModel, hc, pet_peese, selmodel
from cpstem.evidence.subgroups import SubgroupResult, subgroup

__all__ = [
    "BatchResult",
    "Baujat",
    "BayesResult",
    "Control",
    "EffectSizes",
    "EvidenceError",
    "Gosh",
    "HCResult",
    "Influence",
    "MVResult",
    "PetPeese",
    "PooledTables",
    "Prediction",
    "Profile",
    "RMAResult",
    "RankTest",
    "RegTest",
    "RobustResult",
    "SelModel",
    "Sequence",
    "SubgroupResult",
    "TrimFill",
    "baujat",
    "bayesmeta",
    "conversions",
    "cumulative",
    "effect_sizes",
    "forest",
    "funnel",
    "gosh",
    "hc",
    "hozo_mean_sd",
    "influence",
    "leave_one_out",
    "mean_sd_from_median",
    "pet_peese",
    "profile",
    "ranktest",
    "regtest",
    "rma",
    "rma_batch",
    "rma_mh",
    "rma_mv",
    "rma_peto",
    "robust",
    "sd_from_ci",
    "sd_from_se",
    "selmodel",
    "subgroup",
    "trimfill",
    "vcalc",
]
