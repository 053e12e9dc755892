"""The methods text of the outcomes report: every model, its assumptions, and the warning."""

from __future__ import annotations

WARNING = (
    "A registry cohort is observational evidence. Children were not randomised to cells or to "
    "concurrent control; the groups can differ in ways the adjustment does not capture "
    "(severity, motivation, rehabilitation intensity, selection for treatment, loss to "
    "follow-up). The figures below describe this cohort; they do not show that the cells "
    "caused any difference, and they are no substitute for a randomised trial."
)


def methods(months: float, mcid_text: str) -> list[tuple[str, str]]:
    """(name, text) of every analysis in the report, in the order of the report."""
    return [
        (
            "Excess change",
            f"Observed minus expected GMFM-66 change (expected from the motor-development "
            f"reference curves for the child's age and GMFCS level, anchored to the child's "
            f"baseline) at each child's visit nearest {months:g} months inside its window. Mean "
            "with a Student t 95 % CI (assumes the mean is approximately normal, children "
            "independent) and a percentile bootstrap CI over children (1,000 resamples, fixed "
            "seed). The reference curves are population averages: an excess measures distance "
            "from them, not a treatment effect.",
        ),
        (
            "Responders",
            "Change beyond measurement error: GMFM-66 change larger than 1.96 times its standard "
            "error sqrt(SE_baseline^2 + SE_followup^2) from the GMFM-66 scoring (a reliable "
            f"change). {mcid_text} Proportions with exact Clopper–Pearson 95 % CIs.",
        ),
        (
            "Linear mixed model",
            "GMFM-66 over all visits: fixed effects months x group and age at baseline, a random "
            "intercept and a random slope for months per child (unstructured 2 x 2 covariance), "
            "fitted by restricted maximum likelihood (profiled REML as in R lme4; Bates et al. "
            "2015). Assumes linear change over the follow-up, normal random effects and "
            "residuals with constant variance, and data missing at random. Wald 95 % CIs.",
        ),
        (
            "Treated vs concurrent controls",
            f"GMFM-66 change at {months:g} months compared between groups (1) by ANCOVA: OLS of "
            "the change on group, baseline GMFM-66, age at baseline and GMFCS level with HC3 "
            "heteroskedasticity-robust SEs; (2) by inverse probability of treatment weighting: a "
            "logistic propensity model on the same covariates, stabilised weights P(group) / "
            "P(group | covariates), weighted difference in means with an HC0 sandwich SE "
            "(treating the weights as known); balance shown as standardised differences before "
            "and after weighting (love plot). Both assume no unmeasured confounding and a "
            "correctly specified model (ANCOVA: linear covariate effects; IPTW: the propensity "
            "model, and overlap between groups). The E-value is the minimum strength of "
            "association, on the risk-ratio scale, that an unmeasured confounder would need with "
            "both treatment and outcome to explain the estimate away (VanderWeele & Ding 2017; "
            "the difference is converted to a standardised difference and to a risk ratio by "
            "exp(0.91 d)).",
        ),
        (
            "Dose-response",
            f"Excess change at {months:g} months of treated children against log10 cells per kg: "
            "OLS line, and a restricted cubic spline with 3 knots at Harrell's quantiles, for all "
            "treated children and per product. Assumes children independent, normal residuals; "
            "dose was not assigned at random, so the slope is an association.",
        ),
        (
            "Mean trajectories",
            "Mean GMFM-66 by group at the scheduled visits (each assessment counted at the "
            "nearest scheduled month) with Student t 95 % CI bands; descriptive, children "
            "lost to follow-up change the composition of later means.",
        ),
    ]


SPASTICITY_METHODS = (
    "Modified Ashworth grades on the ordinal coding 0-5 (0, 1, 1+, 2, 3, 4); per limb (muscle "
    "group x side) the change from the latest assessment before treatment to the one nearest 6 "
    "and 12 months: improved (at least one grade down), unchanged, worse, with exact "
    "Clopper–Pearson 95 % CIs; median change; Wilcoxon signed-rank test (zero changes dropped; "
    "both sides of a child are treated as independent, so the test is descriptive). Tardieu "
    "dynamic component R2 - R1 (degrees): mean change with a Student t 95 % CI. Cells vs "
    "controls: proportional-odds (ordered logit) model of the follow-up grade on group, baseline "
    "grade (linear) and muscle group, all limbs together, with cluster-robust (sandwich) SEs by "
    "child, G/(G-1) small-sample factor. Assumes proportional odds (one odds ratio at every cut "
    "point) and no unmeasured confounding."
)

LAB_METHODS = (
    "Per analyte, the change from the latest pre-administration sample to the sample nearest "
    "6 and 12 months. Log scale when every value of the analyte is above 0 and the skewness of "
    "the raw values is above 1 (else the raw scale): paired t on the log differences, "
    "back-transformed to the geometric mean ratio and its CI; raw scale: mean paired difference "
    "with its t CI. Assumes roughly normal paired differences on the chosen scale; no control "
    "for changes without treatment."
)
