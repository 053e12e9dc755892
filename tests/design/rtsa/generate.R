# Reference outputs for cpstem.design.tsa from R RTSA 0.2.2 (the Copenhagen Trial Unit's R
# implementation of Trial Sequential Analysis; Soerensen AL, Olsen MH, Lange T, Gluud C).
# Run from the repository root:
#   Rscript tests/design/rtsa/generate.R tests/design/rtsa
# Needs R packages RTSA 0.2.2 (CRAN; installed here from its source with R CMD INSTALL),
# metafor, ggplot2, scales, jsonlite (Debian r-cran-*). tau_ci_method = "QP" avoids the
# CompQuadForm package (only the CI of tau^2 differs, which is not compared).
suppressPackageStartupMessages({
  library(RTSA)
  library(rpact)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else "tests/design/rtsa"

num <- function(x) as.numeric(x)
analysis_case <- function(id, outcome, mc, pC, fixed, beta = 0.1) {
  x <- suppressWarnings(RTSA(
    type = "analysis", data = perioOxy, outcome = outcome, mc = mc, side = 2, alpha = 0.05,
    beta = beta, pC = pC, futility = "none", es_alpha = "esOF", fixed = fixed,
    re_method = "DL", random_adj = "D2", tau_ci_method = "QP"
  ))
  r <- x$results
  df <- r$results_df
  ma <- r$metaanalysis$synthesize
  # the same boundaries by R rpact 3.3.4 from RTSA's own alpha spending (looks that spend
  # nothing dropped): rpact's integration is the reference of cpstem.design (1e-6)
  inf <- x$bounds$inf_frac
  sp <- x$bounds$alpha_spend$as_cum
  keep <- sp > 0
  rp <- getDesignGroupSequential(
    typeOfDesign = "asUser", sided = 2, alpha = 0.05, informationRates = inf[keep] / max(inf),
    userAlphaSpending = 2 * sp[keep]
  )
  list(
    id = id, outcome = outcome,
    rpact_info = num(inf[keep]), rpact_critical = num(rp$criticalValues), mc = mc, pC = pC, fixed = fixed, alpha = 0.05, beta = beta,
    RIS = num(r$RIS), HARIS = if (is.null(r$HARIS)) NULL else num(r$HARIS),
    tau2 = num(ma$U[1]), I2 = num(ma$U[3]), D2 = num(ma$U[4]),
    z_fixed = num(df$z_fixed), z_random = num(df$z_random),
    outcome_fixed = num(df$outcome_fixed), outcome_random = num(df$outcome_random),
    sma_timing = num(df$sma_timing), upper = num(df$upper),
    inf_frac = num(x$bounds$inf_frac), alpha_ubound = num(x$bounds$alpha_ubound),
    alpha_spend_cum = num(x$bounds$alpha_spend$as_cum),
    pooled_fixed = num(ma$peF[1:3]), pooled_random = num(ma$peR[1:3]),
    columns = names(df), results = df
  )
}

res <- list(
  rtsa_version = as.character(packageVersion("RTSA")),
  data = perioOxy,
  ris = list(
    list(outcome = "RR", mc = 0.9, pC = 0.1, alpha = 0.05, beta = 0.1,
         fixed = num(ris(outcome = "RR", mc = 0.9, pC = 0.1, alpha = 0.05, beta = 0.1,
                         side = 2)$NF)),
    list(outcome = "RR", mc = 0.9, pC = 0.2, alpha = 0.05, beta = 0.2, D2 = 0.3, I2 = 0.2,
         result = unclass(ris(outcome = "RR", mc = 0.9, pC = 0.2, fixed = FALSE, I2 = 0.2,
                              D2 = 0.3, side = 2, alpha = 0.05, beta = 0.2)))
  ),
  boundaries = list(
    timing = c(0.5, 0.75, 1),
    one_sided = num(boundaries(timing = c(0.5, 0.75, 1), alpha = 0.025, beta = 0.1, side = 1,
                               futility = "none", es_alpha = "esOF")$alpha_ubound),
    two_sided = num(boundaries(timing = c(0.5, 0.75, 1), alpha = 0.05, beta = 0.1, side = 2,
                               futility = "none", es_alpha = "esOF")$alpha_ubound)
  ),
  analyses = list(
    analysis_case("perioOxy_RR_random", "RR", 0.8, 0.15, FALSE),
    analysis_case("perioOxy_RR_fixed", "RR", 0.8, 0.15, TRUE)
  )
)
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null",
                  force = TRUE), file.path(out, "rtsa.json"))
