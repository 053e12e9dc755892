# Reference outputs of R metafor for the bundled stem-cell evidence report (cpstem evidence run):
# the corrected primary analysis (MD, GMFM-66 points), the secondary analyses (SMD), the
# sensitivity analyses and the serious adverse events of the randomised trials. The inputs are
# typed from src/cpstem/evidence/data (motor_arms.csv, motor_effects.csv, safety.csv) and
# derived here independently of cpstem (SDs from CIs, MD and SE from a CI, combined arms).
#
#   Rscript tests/evidence/metafor/bundled.R [output-directory]   (also run by `make fixtures`)
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
out_dir <- if (length(args)) args[1] else "tests/evidence/metafor"

fit <- function(yi, vi) {
  r <- rma(yi, vi, method = "REML", test = "knha")
  p <- predict(r)
  list(estimate = as.numeric(r$beta), ci_lower = r$ci.lb, ci_upper = r$ci.ub, tau2 = r$tau2,
       i2 = r$I2, q = r$QE, pval = r$pval, pi_lower = p$pi.lb, pi_upper = p$pi.ub, k = r$k,
       yi = as.numeric(yi), vi = as.numeric(vi))
}
# Cochrane Handbook 6.5.2.2: SD of an arm from the 95% CI of its mean (t, n - 1 df)
sd_ci <- function(lo, hi, n) sqrt(n) * (hi - lo) / (2 * qt(0.975, n - 1))
# Cochrane Handbook Table 6.5.a: two groups combined into one
combine <- function(n1, m1, s1, n2, m2, s2) {
  n <- n1 + n2
  m <- (n1 * m1 + n2 * m2) / n
  s <- sqrt(((n1 - 1) * s1^2 + (n2 - 1) * s2^2 + n1 * n2 / n * (m1^2 + m2^2 - 2 * m1 * m2)) / (n - 1))
  c(n = n, m = m, s = s)
}

# Sun 2022: AlloCB 5.8 (3.4-8.2) n 31, hCT-MSC 4.3 (2.2-6.4) n 28, natural history 3.1 (1.4-5.0) n 31
sd_allo <- sd_ci(3.4, 8.2, 31); sd_msc <- sd_ci(2.2, 6.4, 28); sd_nh <- sd_ci(1.4, 5.0, 31)
sun22 <- combine(31, 5.8, sd_allo, 28, 4.3, sd_msc)
# Amanat 2021: beta 8.07 (1.62-14.52), 36/36; SE from the CI with t on n1 + n2 - 2 df (Handbook 6.5.2.3)
se_am <- (14.52 - 1.62) / (2 * qt(0.975, 70))
se_za <- (12.76 - 2.08) / (2 * qt(0.975, 70))  # Zarrabi 2022 (flagged): 7.10 (2.08-12.76), 36/36
smd_from_md <- function(md, se, n1, n2) {
  d <- md / (se / sqrt(1 / n1 + 1 / n2))
  g <- d * exp(lgamma((n1 + n2 - 2) / 2) - log(sqrt((n1 + n2 - 2) / 2)) - lgamma((n1 + n2 - 3) / 2))
  c(yi = g, vi = 1 / n1 + 1 / n2 + g^2 / (2 * (n1 + n2)))
}

# Primary: MD at 12 months (Sun 2017, Sun 2022, Amanat 2021)
md <- escalc("MD", m1i = c(7.5, sun22[["m"]]), sd1i = c(6.8, sun22[["s"]]), n1i = c(32, sun22[["n"]]),
             m2i = c(6.9, 3.1), sd2i = c(5.5, sd_nh), n2i = c(31, 31))
md12 <- fit(c(md$yi, 8.07), c(md$vi, se_am^2))
md12_flagged <- fit(c(md$yi, 8.07, 7.10), c(md$vi, se_am^2, se_za^2))

# Secondary: SMD (Hedges' g) at 12 months (Sun 2017, Sun 2022, Amanat 2021) and 6 months (Kang, Min)
s12 <- escalc("SMD", m1i = c(7.5, sun22[["m"]]), sd1i = c(6.8, sun22[["s"]]), n1i = c(32, sun22[["n"]]),
              m2i = c(6.9, 3.1), sd2i = c(5.5, sd_nh), n2i = c(31, 31))
am <- smd_from_md(8.07, se_am, 36, 36)
za <- smd_from_md(7.10, se_za, 36, 36)
smd12 <- fit(c(s12$yi, am[["yi"]]), c(s12$vi, am[["vi"]]))
s6 <- escalc("SMD", m1i = c(7.08, 9.1), sd1i = c(7.36, 6.7), n1i = c(18, 31),
             m2i = c(3.85, 9.0), sd2i = c(3.75, 6.3), n2i = c(18, 33))
smd6 <- fit(s6$yi, s6$vi)

# Sensitivity: Huang 2018 as published (SD) and re-read as SE (SD = SE x sqrt(27))
h6 <- escalc("SMD", m1i = c(7.62, 7.62), sd1i = c(2.44, 2.44 * sqrt(27)), n1i = c(27, 27),
             m2i = c(2.96, 2.96), sd2i = c(1.66, 1.66 * sqrt(27)), n2i = c(27, 27))
h12 <- escalc("SMD", m1i = c(10.27, 10.27), sd1i = c(2.96, 2.96 * sqrt(27)), n1i = c(27, 27),
              m2i = c(4.75, 4.75), sd2i = c(1.45, 1.45 * sqrt(27)), n2i = c(27, 27))
# Gu 2020 (flagged): mean +/- SEM, SD = SEM x sqrt(n)
g6 <- escalc("SMD", m1i = 59.0, sd1i = 8.947 * sqrt(19), n1i = 19, m2i = 28.9, sd2i = 8.807 * sqrt(20), n2i = 20)
g12 <- escalc("SMD", m1i = 64.526, sd1i = 9.600 * sqrt(19), n1i = 19, m2i = 36.8, sd2i = 8.802 * sqrt(20), n2i = 20)
sens <- list(
  motor_6mo_sd_may_be_se_as_sd = fit(c(s6$yi, h6$yi[1]), c(s6$vi, h6$vi[1])),
  motor_6mo_sd_may_be_se_as_se = fit(c(s6$yi, h6$yi[2]), c(s6$vi, h6$vi[2])),
  motor_6mo_with_flagged = fit(c(h6$yi[1], s6$yi, g6$yi), c(h6$vi[1], s6$vi, g6$vi)),
  motor_12mo_sd_may_be_se_as_sd = fit(c(smd12$yi, h12$yi[1]), c(smd12$vi, h12$vi[1])),
  motor_12mo_sd_may_be_se_as_se = fit(c(smd12$yi, h12$yi[2]), c(smd12$vi, h12$vi[2])),
  motor_12mo_with_flagged = fit(c(h12$yi[1], smd12$yi, g12$yi, za[["yi"]]),
                                c(h12$vi[1], smd12$vi, g12$vi, za[["vi"]])),
  motor_md_12mo_with_flagged = md12_flagged
)

# Serious adverse events, randomised controlled trials: Huang 0/27 vs 0/27, Kang 0/18 vs 0/18,
# Liu 0/67 vs 0/35, Min 3/36 vs 6/70
ai <- c(0, 0, 0, 3); n1 <- c(27, 18, 67, 36); ci <- c(0, 0, 0, 6); n2 <- c(27, 18, 35, 70)
mh <- function(measure) {
  m <- rma.mh(ai = ai, n1i = n1, ci = ci, n2i = n2, measure = measure)
  t <- if (measure == "RD") identity else exp
  list(estimate = t(as.numeric(m$beta)), ci_lower = t(m$ci.lb), ci_upper = t(m$ci.ub))
}
pe <- rma.peto(ai = ai, n1i = n1, ci = ci, n2i = n2)
safety <- list(mh_rr = mh("RR"), mh_rd = mh("RD"), mh_or = mh("OR"),
               peto = list(estimate = exp(as.numeric(pe$beta)), ci_lower = exp(pe$ci.lb),
                           ci_upper = exp(pe$ci.ub)))

out <- list(
  inputs = list(sd_sun2022 = c(sd_allo, sd_msc, sd_nh), sun2022_cells = unname(sun22),
                se_amanat2021 = se_am, se_zarrabi2022 = se_za),
  motor_md_12mo = md12, motor_12mo = smd12, motor_6mo = smd6,
  sensitivity = sens, safety = safety,
  versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor")))
)
path <- file.path(out_dir, "bundled.json")
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE), path)
cat("wrote", path, "\n")
