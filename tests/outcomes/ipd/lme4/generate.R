# Reference fits from R's lme4 (Debian r-cran-lme4) for cpstem.outcomes.ipd.mixed_model.
# Usage: Rscript tests/outcomes/ipd/lme4/generate.R tests/outcomes/ipd/lme4
# Writes <name>.csv (the data) and <name>.json (the fit) for each case, so the tests need no R.
suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[[1]] else "."

fit_json <- function(fit, name, data_file, response, fixed, random, groups) {
  vc <- as.data.frame(VarCorr(fit), order = "lower.tri")
  fe <- summary(fit)$coefficients
  list(
    name = name,
    data = data_file,
    response = response,
    fixed = fixed,
    random = random,
    groups = groups,
    method = if (isREML(fit)) "REML" else "ML",
    lme4_version = as.character(packageVersion("lme4")),
    R_version = R.version.string,
    terms = rownames(fe),
    estimate = unname(fe[, "Estimate"]),
    se = unname(fe[, "Std. Error"]),
    t = unname(fe[, "t value"]),
    theta = unname(getME(fit, "theta")),
    sigma = sigma(fit),
    varcor = list(grp = vc$grp, var1 = vc$var1, var2 = vc$var2, vcov = vc$vcov, sdcor = vc$sdcor),
    logLik = as.numeric(logLik(fit)),
    REMLcrit = if (isREML(fit)) unname(REMLcrit(fit)) else NA,
    deviance_ML = if (isREML(fit)) NA else unname(deviance(fit)),
    AIC = AIC(fit),
    BIC = BIC(fit),
    nobs = nobs(fit),
    ngroups = unname(ngrps(fit)),
    singular = isSingular(fit),
    optimizer = "nloptwrap (BOBYQA), xtol_abs 1e-12, ftol_abs 1e-14",
    convergence_messages = as.list(fit@optinfo$conv$lme4$messages),
    ranef = unname(as.matrix(ranef(fit)[[1]]))
  )
}

tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14, ftol_rel = 1e-15,
                                    xtol_rel = 1e-12, maxeval = 1e5))

write_case <- function(name, data, formula, response, fixed, random, groups, reml) {
  data_file <- paste0(sub("_(reml|ml)$", "", name), ".csv")
  write.csv(data, file.path(out, data_file), row.names = FALSE)
  # lme4's default optimizer (nloptwrap: BOBYQA) with tighter tolerances than its defaults, so
  # that the reference is the optimum to more digits than the comparison asks for
  fit <- lmer(formula, data = data, REML = reml, control = tight)
  res <- fit_json(fit, name, data_file, response, fixed, random, groups)
  writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
             file.path(out, paste0(name, ".json")))
}

# 1. sleepstudy (lme4's data): Reaction ~ Days + (Days | Subject)
ss <- sleepstudy
ss$Subject <- as.character(ss$Subject)
for (reml in c(TRUE, FALSE)) {
  write_case(paste0("sleepstudy_", if (reml) "reml" else "ml"), ss,
             Reaction ~ Days + (Days | Subject), "Reaction", "Days", "Days", "Subject", reml)
}
# intercept only
write_case("sleepstudy_intercept_reml", ss, Reaction ~ Days + (1 | Subject),
           "Reaction", "Days", "1", "Subject", TRUE)

# 2. boundary: no slope variance in the truth -> a singular (boundary) fit
# (the first seed from 1 whose REML fit is singular, i.e. the slope SD is estimated at 0)
m <- 40
for (seed in 1:200) {
  set.seed(seed)
  bd <- data.frame(id = rep(sprintf("s%02d", 1:m), each = 5), t = rep(0:4, m))
  b0 <- rnorm(m, 0, 3)
  bd$y <- round(10 + 0.5 * bd$t + b0[as.integer(factor(bd$id))] + rnorm(nrow(bd), 0, 1), 3)
  if (isSingular(lmer(y ~ t + (t | id), data = bd))) break
}
for (reml in c(TRUE, FALSE)) {
  write_case(paste0("boundary_", if (reml) "reml" else "ml"), bd, y ~ t + (t | id),
             "y", "t", "t", "id", reml)
}

# 3. an unbalanced CP-like cohort: cells vs concurrent controls, GMFM-66 over months
set.seed(11)
n <- 240
child <- sprintf("c%03d", 1:n)
group <- ifelse(runif(n) < 0.5, "cells", "control")
gmfcs <- sample(1:5, n, replace = TRUE)
age <- round(runif(n, 1, 10), 2)
nvis <- sample(2:7, n, replace = TRUE)
rows <- lapply(seq_len(n), function(i) {
  months <- sort(c(0, round(runif(nvis[i] - 1, 1, 36), 1)))
  b0 <- rnorm(1, 0, 6); b1 <- rnorm(1, 0, 0.3)
  slope <- 0.45 - 0.06 * gmfcs[i] + (if (group[i] == "cells") 0.08 else 0) + b1
  y <- 80 - 9 * gmfcs[i] + 1.1 * age[i] + b0 + slope * months + rnorm(length(months), 0, 1.8)
  data.frame(child = child[i], group = group[i], gmfcs = gmfcs[i], age_baseline_years = age[i],
             months = months, gmfm66 = round(y, 2))
})
cp <- do.call(rbind, rows)
cp$group <- factor(cp$group, levels = c("control", "cells"))
for (reml in c(TRUE, FALSE)) {
  write_case(paste0("cohort_", if (reml) "reml" else "ml"), cp,
             gmfm66 ~ months * group + age_baseline_years + gmfcs + (months | child),
             "gmfm66", "months * group + age_baseline_years + gmfcs", "months", "child", reml)
}
