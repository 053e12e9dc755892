# Reference outputs for cpstem.design from R rpact (group-sequential designs) and pwr /
# stats::power.t.test (sample size and power). Run from the repository root:
#   Rscript tests/design/rpact/generate.R tests/design/rpact
# Debian packages: r-base-core r-cran-rpact r-cran-pwr r-cran-jsonlite.
suppressPackageStartupMessages({
  library(rpact)
  library(pwr)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else "tests/design/rpact"

timings <- list(
  "2" = c(0.4, 1), "3" = c(0.3, 0.7, 1), "4" = c(0.2, 0.5, 0.75, 1),
  "5" = c(0.15, 0.3, 0.55, 0.8, 1)
)
num <- function(x) if (is.null(x) || length(x) == 0) NULL else as.numeric(x)

design_case <- function(id, k, timing, type, gamma = NA_real_, sided = 1, alpha = 0.025,
                        beta = 0.2, bs = "none", gammaB = NA_real_, binding = FALSE) {
  info <- if (timing == "equal") (1:k) / k else timings[[as.character(k)]]
  a <- list(kMax = k, alpha = alpha, beta = beta, sided = sided, informationRates = info,
            typeOfDesign = type, typeBetaSpending = bs, bindingFutility = binding)
  if (!is.na(gamma)) a$gammaA <- gamma
  if (!is.na(gammaB)) a$gammaB <- gammaB
  d <- suppressWarnings(do.call(getDesignGroupSequential, a))
  ch <- suppressWarnings(getDesignCharacteristics(d))
  fb <- if (bs == "none") NULL else num(d$futilityBounds)
  list(
    id = id,
    input = list(k = k, timing = info, type = type, gamma = if (is.na(gamma)) NULL else gamma,
                 sided = sided, alpha = alpha, beta = beta, beta_spending = bs,
                 gamma_beta = if (is.na(gammaB)) NULL else gammaB, binding = binding),
    critical_values = num(d$criticalValues),
    futility_bounds = fb,
    alpha_spent = num(d$alphaSpent),
    stage_levels = num(d$stageLevels),
    beta_spent = if (bs == "none") NULL else num(d$betaSpent),
    power_design = if (bs == "none") NULL else num(d$power),
    n_fixed = ch$nFixed,
    shift = ch$shift,
    inflation_factor = ch$inflationFactor,
    asn_h1 = ch$averageSampleNumber1,
    asn_h01 = ch$averageSampleNumber01,
    asn_h0 = ch$averageSampleNumber0,
    power = num(ch$power),
    rejection_probabilities = num(ch$rejectionProbabilities),
    futility_probabilities = num(ch$futilityProbabilities)
  )
}

cases <- list()
add <- function(...) cases[[length(cases) + 1]] <<- design_case(...)
for (k in 2:5) {
  for (timing in c("equal", "unequal")) {
    for (sided in c(1, 2)) {
      alpha <- if (sided == 1) 0.025 else 0.05
      tag <- function(x) sprintf("k%d_%s_s%d_%s", k, timing, sided, x)
      add(tag("OF"), k, timing, "OF", sided = sided, alpha = alpha)
      add(tag("P"), k, timing, "P", sided = sided, alpha = alpha)
      add(tag("asOF"), k, timing, "asOF", sided = sided, alpha = alpha)
      add(tag("asP"), k, timing, "asP", sided = sided, alpha = alpha)
      for (g in c(-4, -2, 1)) add(tag(sprintf("asHSD%g", g)), k, timing, "asHSD", gamma = g,
                                  sided = sided, alpha = alpha)
    }
    # one-sided with beta-spending futility, non-binding and binding
    for (binding in c(FALSE, TRUE)) {
      b <- if (binding) "binding" else "nonbinding"
      add(sprintf("k%d_%s_s1_asOF_bsOF_%s", k, timing, b), k, timing, "asOF",
          bs = "bsOF", binding = binding)
      add(sprintf("k%d_%s_s1_asHSD-4_bsHSD-2_%s", k, timing, b), k, timing, "asHSD",
          gamma = -4, bs = "bsHSD", gammaB = -2, binding = binding)
      add(sprintf("k%d_%s_s1_asP_bsP_%s", k, timing, b), k, timing, "asP",
          bs = "bsP", binding = binding, beta = 0.1)
    }
  }
}
# Kim-DeMets power family (asKD / bsKD)
for (k in c(3, 5)) {
  add(sprintf("k%d_equal_s1_asKD3", k), k, "equal", "asKD", gamma = 3)
  add(sprintf("k%d_unequal_s2_asKD2", k), k, "unequal", "asKD", gamma = 2, sided = 2, alpha = 0.05)
  add(sprintf("k%d_unequal_s1_asKD3_bsKD2_nonbinding", k), k, "unequal", "asKD", gamma = 3,
      bs = "bsKD", gammaB = 2)
}
# two-sided designs with beta-spending futility (rpact: "experimental"), inner futility region
for (k in 2:5) for (timing in c("equal", "unequal")) for (binding in c(FALSE, TRUE)) {
  b <- if (binding) "binding" else "nonbinding"
  add(sprintf("k%d_%s_s2_asOF_bsOF_%s", k, timing, b), k, timing, "asOF", sided = 2,
      alpha = 0.05, bs = "bsOF", binding = binding)
  add(sprintf("k%d_%s_s2_asP_bsP_%s", k, timing, b), k, timing, "asP", sided = 2,
      alpha = 0.05, bs = "bsP", binding = binding, beta = 0.1)
}
write_json(cases, file.path(out, "designs.json"), digits = NA, auto_unbox = TRUE, null = "null",
           pretty = TRUE)

# TSA monitoring boundaries: the two-sided Lan-DeMets O'Brien-Fleming function of the total
# alpha, 2 - 2 Phi(z_{1-alpha/2} / sqrt(t)), split equally between the sides (rpact asUser).
tsa_case <- function(id, info, alpha = 0.05) {
  spend <- pmin(2 - 2 * pnorm(qnorm(1 - alpha / 2) / sqrt(info)), alpha)
  d <- getDesignGroupSequential(typeOfDesign = "asUser", userAlphaSpending = spend,
                                informationRates = info, sided = 2, alpha = alpha)
  list(id = id, info = info, alpha = alpha, spending = spend, critical_values = num(d$criticalValues))
}
tsa <- list(
  tsa_case("tsa_3looks", c(0.12, 0.35, 0.61)),
  tsa_case("tsa_5looks", c(0.05, 0.2, 0.45, 0.7, 0.9)),
  tsa_case("tsa_4looks_alpha01", c(0.25, 0.5, 0.75, 1), alpha = 0.01)
)
write_json(tsa, file.path(out, "tsa_boundaries.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE)

# pwr and stats::power.t.test
pw <- list()
padd <- function(x) pw[[length(pw) + 1]] <<- x
for (d in c(0.3, 0.5, 0.8)) for (n in c(10, 25, 64)) for (alt in c("two.sided", "greater")) {
  r <- pwr.t.test(n = n, d = d, sig.level = 0.05, type = "two.sample", alternative = alt)
  padd(list(fun = "pwr.t.test", n = n, d = d, alpha = 0.05,
            sided = if (alt == "two.sided") 2 else 1, power = r$power))
}
for (d in c(0.4, 0.7)) for (alt in c("two.sided", "greater")) for (pow in c(0.8, 0.9)) {
  r <- pwr.t.test(d = d, power = pow, sig.level = 0.05, type = "two.sample", alternative = alt)
  padd(list(fun = "pwr.t.test.n", d = d, power = pow, alpha = 0.05,
            sided = if (alt == "two.sided") 2 else 1, n = r$n))
}
for (nn in list(c(20, 40), c(33, 17), c(50, 75))) for (d in c(0.5, 0.9)) {
  r <- pwr.t2n.test(n1 = nn[1], n2 = nn[2], d = d, sig.level = 0.05)
  padd(list(fun = "pwr.t2n.test", n1 = nn[1], n2 = nn[2], d = d, alpha = 0.05, sided = 2,
            power = r$power))
}
for (strict in c(TRUE, FALSE)) {
  for (n in c(8, 20, 50)) for (delta in c(1, 4)) {
    r <- power.t.test(n = n, delta = delta, sd = 5, sig.level = 0.05, strict = strict)
    padd(list(fun = "power.t.test", n = n, delta = delta, sd = 5, alpha = 0.05, sided = 2,
              strict = strict, power = r$power))
  }
  for (delta in c(0.3, 2)) for (pow in c(0.8, 0.95)) {
    r <- power.t.test(delta = delta, sd = 1, power = pow, sig.level = 0.05, strict = strict,
                      tol = 1e-12)
    padd(list(fun = "power.t.test.n", delta = delta, sd = 1, power = pow, alpha = 0.05,
              sided = 2, strict = strict, n = r$n))
  }
}
r <- power.t.test(delta = 3, sd = 7, power = 0.9, sig.level = 0.025, alternative = "one.sided",
                  tol = 1e-12)
padd(list(fun = "power.t.test.n", delta = 3, sd = 7, power = 0.9, alpha = 0.025, sided = 1,
          strict = FALSE, n = r$n))
# unequal allocation: rpact's fixed-design sample size for means (t test; its allocation ratio
# is n1/n2, cpstem's ratio is n2/n1)
for (a in list(c(0.025, 0.2, 1, 5, 10), c(0.05, 0.1, 2, 3, 7))) for (r in c(1, 2, 0.5, 3)) {
  d <- getDesignGroupSequential(kMax = 1, alpha = a[1], beta = a[2], sided = a[3])
  s <- getSampleSizeMeans(d, alternative = a[4], stDev = a[5], allocationRatioPlanned = r)
  padd(list(fun = "rpact.getSampleSizeMeans", alpha = a[1], power = 1 - a[2], sided = a[3],
            delta = a[4], sd = a[5], allocation_ratio = r, n = s$nFixed, n1 = s$nFixed1,
            n2 = s$nFixed2))
}
write_json(pw, file.path(out, "pwr.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("rpact", as.character(packageVersion("rpact")), "pwr", as.character(packageVersion("pwr")),
    "\n")
