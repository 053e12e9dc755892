# Reference outputs for cpstem's synthesis methods (issue 12): multilevel models (rma.mv),
# cluster-robust inference (robust, with and without clubSandwich), selection models
# (selmodel stepfun), Henmi-Copas (hc), PET-PEESE (weighted least squares, lm), profile
# likelihood, Baujat, GOSH and Bayesian random-effects meta-analysis (bayesmeta, when
# installed). Sourced at the end of generate.R; runs on its own too:
#
#   Rscript tests/evidence/metafor/synthesis.R [output-directory]
#
# Needs Debian's r-cran-metafor, r-cran-clubsandwich, r-cran-jsonlite; bayesmeta (CRAN, not a
# Debian package) is optional: without it bayes.json is not rewritten.
suppressPackageStartupMessages({
  library(metafor)
  library(clubSandwich)
  library(jsonlite)
})
if (!exists("out_dir")) {
  args <- commandArgs(trailingOnly = TRUE)
  out_dir <- if (length(args)) args[1] else "tests/evidence/metafor"
}
options(warn = -1)
syn_versions <- list(
  R = R.version.string,
  metafor = as.character(packageVersion("metafor")),
  clubSandwich = as.character(packageVersion("clubSandwich")),
  jsonlite = as.character(packageVersion("jsonlite"))
)
syn_write <- function(x, name, versions = syn_versions) {
  x$versions <- versions
  path <- file.path(out_dir, paste0(name, ".json"))
  writeLines(toJSON(x, digits = NA, na = "string", auto_unbox = TRUE, null = "null"), path)
  cat("wrote", path, "\n")
}
nm <- function(x) if (is.null(x)) NULL else unname(as.numeric(x))

# ---------------------------------------------------------------------------------------------
# multilevel models and cluster-robust inference
kon <- dat.konstantopoulos2011
ass <- dat.assink2016
set.seed(20261204)
# a small synthetic set shaped like the stem-cell trials: 9 trials, 1-3 comparisons each
ntr <- 9
per <- c(1, 2, 3, 1, 2, 2, 1, 3, 2)
trial <- rep(seq_len(ntr), per)
es <- seq_along(trial)
vi <- runif(length(trial), 0.03, 0.25)
u <- rnorm(ntr, 0, sqrt(0.08))[trial]
yi <- 0.35 + u + rnorm(length(trial), 0, sqrt(0.03)) + rnorm(length(trial), 0, sqrt(vi))
months <- round(runif(length(trial), 3, 24))
syn <- data.frame(trial = trial, es = es, yi = yi, vi = vi, months = months)

mv_sets <- list(
  konstantopoulos = list(d = data.frame(yi = kon$yi, vi = kon$vi, cluster = kon$district,
                                         es = kon$school, x = kon$year - mean(kon$year)),
                         source = "dat.konstantopoulos2011: district/school"),
  assink = list(d = data.frame(yi = ass$yi, vi = ass$vi, cluster = ass$study, es = ass$esid,
                               x = ass$year), source = "dat.assink2016: study/esid"),
  synthetic = list(d = data.frame(yi = syn$yi, vi = syn$vi, cluster = syn$trial, es = syn$es,
                                  x = syn$months), source = "random: 9 trials, 1-3 comparisons")
)
mv_cases <- list()
fit_summary <- function(m) {
  fs <- m$fit.stats
  list(beta = nm(m$beta), se = nm(m$se), zval = nm(m$zval), pval = nm(m$pval),
       ci.lb = nm(m$ci.lb), ci.ub = nm(m$ci.ub), sigma2 = nm(m$sigma2), QE = nm(m$QE),
       QEp = nm(m$QEp), QM = nm(m$QM), QMp = nm(m$QMp), QMdf = nm(m$QMdf), ddf = nm(m$ddf),
       ll.ML = nm(fs["ll", "ML"]), dev.ML = nm(fs["dev", "ML"]), AIC.ML = nm(fs["AIC", "ML"]),
       BIC.ML = nm(fs["BIC", "ML"]), AICc.ML = nm(fs["AICc", "ML"]),
       ll.REML = nm(fs["ll", "REML"]), dev.REML = nm(fs["dev", "REML"]),
       AIC.REML = nm(fs["AIC", "REML"]), BIC.REML = nm(fs["BIC", "REML"]),
       AICc.REML = nm(fs["AICc", "REML"]), vb = nm(m$vb))
}
robust_summary <- function(r) {
  list(beta = nm(r$beta), se = nm(r$se), tval = nm(r$zval), pval = nm(r$pval),
       df = nm(r$ddf), ci.lb = nm(r$ci.lb), ci.ub = nm(r$ci.ub), QM = nm(r$QM),
       QMdf = nm(r$QMdf), QMp = nm(r$QMp), vb = nm(r$vb))
}
for (id in names(mv_sets)) {
  s <- mv_sets[[id]]
  d <- s$d
  for (method in c("REML", "ML")) for (mods in c(FALSE, TRUE)) for (test in c("z", "t")) {
    for (rho in c(NA, 0.6)) {
      if (!is.na(rho) && (method == "ML" || test == "t")) next
      V <- if (is.na(rho)) d$vi else vcalc(d$vi, cluster = d$cluster, obs = d$es, rho = rho)
      m <- if (mods) rma.mv(d$yi, V, mods = ~ d$x, random = ~ 1 | cluster/es, data = d,
                            method = method, test = test)
           else rma.mv(d$yi, V, random = ~ 1 | cluster/es, data = d, method = method,
                       test = test)
      case <- list(data = id, method = method, mods = mods, test = test,
                   rho = if (is.na(rho)) NULL else rho, result = fit_summary(m))
      if (test == "z") {
        case$robust_cr2 <- robust_summary(robust(m, cluster = d$cluster, clubSandwich = TRUE))
        case$robust_cr1 <- robust_summary(robust(m, cluster = d$cluster))
      }
      mv_cases[[length(mv_cases) + 1]] <- case
    }
  }
}
# robust() on rma.uni fits (trials as clusters)
uni_cases <- list()
for (id in names(mv_sets)) {
  d <- mv_sets[[id]]$d
  for (method in c("REML", "DL")) for (mods in c(FALSE, TRUE)) {
    m <- if (mods) rma(d$yi, d$vi, mods = ~ d$x, method = method) else rma(d$yi, d$vi, method = method)
    uni_cases[[length(uni_cases) + 1]] <- list(
      data = id, method = method, mods = mods, tau2 = nm(m$tau2),
      robust_cr2 = robust_summary(robust(m, cluster = d$cluster, clubSandwich = TRUE)),
      robust_cr1 = robust_summary(robust(m, cluster = d$cluster)))
  }
}
data_out <- lapply(mv_sets, function(s) list(yi = nm(s$d$yi), vi = nm(s$d$vi),
                                             cluster = nm(s$d$cluster), es = nm(s$d$es),
                                             x = nm(s$d$x), source = s$source))
syn_write(list(datasets = data_out, mv = mv_cases, uni = uni_cases), "multilevel")

# ---------------------------------------------------------------------------------------------
# small-study and selection sensitivity: selmodel (stepfun), hc, PET-PEESE
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bias_sets <- list(
  hackshaw = list(yi = dat.hackshaw1998$yi, vi = dat.hackshaw1998$vi),
  bcg = list(yi = bcg$yi, vi = bcg$vi),
  raudenbush = list(yi = dat.raudenbush1985$yi, vi = dat.raudenbush1985$vi),
  assink = list(yi = ass$yi, vi = ass$vi),
  synthetic = list(yi = syn$yi, vi = syn$vi)
)
sel_cases <- list()
for (id in names(bias_sets)) {
  d <- bias_sets[[id]]
  for (method in c("ML", "REML", "FE")) for (steps in list(0.025, c(0.025, 0.5))) {
    x <- rma(d$yi, d$vi, method = method)
    s <- try(selmodel(x, type = "stepfun", steps = steps, control = list(reltol = 1e-14, maxit = 10000)),
             silent = TRUE)
    case <- list(data = id, method = method, steps = steps)
    if (inherits(s, "try-error")) {
      case$error <- trimws(sub("^Error[^:]*: ", "", as.character(s)))
    } else {
      case$result <- list(beta = nm(s$beta), se = nm(s$se), zval = nm(s$zval),
                          pval = nm(s$pval), ci.lb = nm(s$ci.lb), ci.ub = nm(s$ci.ub),
                          tau2 = nm(s$tau2), se.tau2 = nm(s$se.tau2), delta = nm(s$delta),
                          se.delta = nm(s$se.delta), pval.delta = nm(s$pval.delta),
                          ci.lb.delta = nm(s$ci.lb.delta), ci.ub.delta = nm(s$ci.ub.delta),
                          ll = nm(s$ll), ll0 = nm(s$ll0), LRT = nm(s$LRT), LRTdf = nm(s$LRTdf),
                          LRTp = nm(s$LRTp), LRT.tau2 = nm(s$LRT.tau2),
                          LRTp.tau2 = nm(s$LRTp.tau2), ptable = nm(s$ptable$k),
                          AIC = nm(s$fit.stats["AIC", "ML"]), BIC = nm(s$fit.stats["BIC", "ML"]))
    }
    sel_cases[[length(sel_cases) + 1]] <- case
  }
}
hc_cases <- list()
pet_cases <- list()
for (id in names(bias_sets)) {
  d <- bias_sets[[id]]
  for (method in c("REML", "DL")) {
    h <- hc(rma(d$yi, d$vi, method = method))
    hc_cases[[length(hc_cases) + 1]] <- list(
      data = id, method = method,
      result = list(beta = nm(h$beta), se = nm(h$se), ci.lb = nm(h$ci.lb), ci.ub = nm(h$ci.ub),
                    tau2 = nm(h$tau2), beta.rma = nm(h$beta.rma), tau2.rma = nm(h$tau2.rma)))
  }
  sei <- sqrt(d$vi)
  pet <- summary(lm(d$yi ~ sei, weights = 1 / d$vi))
  peese <- summary(lm(d$yi ~ d$vi, weights = 1 / d$vi))
  pci <- confint(lm(d$yi ~ sei, weights = 1 / d$vi))
  eci <- confint(lm(d$yi ~ d$vi, weights = 1 / d$vi))
  rt <- regtest(rma(d$yi, d$vi, method = "FE"), model = "lm", predictor = "sei")
  pet_cases[[length(pet_cases) + 1]] <- list(
    data = id,
    pet = list(coef = nm(pet$coefficients[, 1]), se = nm(pet$coefficients[, 2]),
               tval = nm(pet$coefficients[, 3]), pval = nm(pet$coefficients[, 4]),
               ci.lb = nm(pci[, 1]), ci.ub = nm(pci[, 2]), df = nm(pet$df[2]),
               sigma = nm(pet$sigma)),
    peese = list(coef = nm(peese$coefficients[, 1]), se = nm(peese$coefficients[, 2]),
                 tval = nm(peese$coefficients[, 3]), pval = nm(peese$coefficients[, 4]),
                 ci.lb = nm(eci[, 1]), ci.ub = nm(eci[, 2]), df = nm(peese$df[2]),
                 sigma = nm(peese$sigma)),
    regtest_lm = list(zval = nm(rt$zval), pval = nm(rt$pval), est = nm(rt$est),
                      ci.lb = nm(rt$ci.lb), ci.ub = nm(rt$ci.ub)))
}
syn_write(list(datasets = bias_sets, selmodel = sel_cases, hc = hc_cases, petpeese = pet_cases),
          "selection")

# ---------------------------------------------------------------------------------------------
# profile likelihood of tau^2, Baujat, GOSH
diag_cases <- list()
for (id in c("bcg", "raudenbush", "hackshaw")) {
  d <- bias_sets[[id]]
  for (method in c("REML", "ML", "DL")) {
    x <- rma(d$yi, d$vi, method = method)
    case <- list(data = id, method = method)
    if (method != "DL") {
      pr <- profile(x, steps = 25, plot = FALSE, progbar = FALSE)
      case$profile <- list(tau2 = nm(pr$tau2), ll = nm(pr$ll))
    }
    b <- baujat(x)
    case$baujat <- list(x = nm(b$x), y = nm(b$y))
    diag_cases[[length(diag_cases) + 1]] <- case
  }
}
gosh_cases <- list()
gosh_sets <- list(bcg10 = list(yi = bcg$yi[1:10], vi = bcg$vi[1:10]),
                  raud11 = list(yi = dat.raudenbush1985$yi[1:11], vi = dat.raudenbush1985$vi[1:11]))
for (id in names(gosh_sets)) {
  d <- gosh_sets[[id]]
  for (method in c("FE", "DL", "REML")) {
    g <- gosh(rma(d$yi, d$vi, method = method), progbar = FALSE)
    inc <- g$incl
    code <- as.vector(inc %*% 2^(seq_len(ncol(inc)) - 1))
    gosh_cases[[length(gosh_cases) + 1]] <- list(
      data = id, method = method, yi = nm(d$yi), vi = nm(d$vi), subset = code,
      QE = nm(g$res$QE), I2 = nm(g$res$I2), H2 = nm(g$res$H2), tau2 = nm(g$res$tau2),
      estimate = nm(g$res$estimate))
  }
}
syn_write(list(datasets = bias_sets, cases = diag_cases, gosh = gosh_cases), "diagnostics")

# ---------------------------------------------------------------------------------------------
# Bayesian random-effects meta-analysis (bayesmeta, if installed)
if (suppressWarnings(requireNamespace("bayesmeta", quietly = TRUE))) {
  suppressPackageStartupMessages(library(bayesmeta))
  data("CrinsEtAl2014", package = "bayesmeta")
  crins <- escalc(measure = "OR", ai = exp.AR.events, n1i = exp.total, ci = cont.AR.events,
                  n2i = cont.total, data = CrinsEtAl2014)
  bsets <- list(crins = list(yi = nm(crins$yi), sei = sqrt(nm(crins$vi)),
                             source = "bayesmeta CrinsEtAl2014, log OR (Roever 2020, Sec. 4)"),
                bcg = list(yi = nm(bcg$yi), sei = sqrt(nm(bcg$vi)), source = "dat.bcg, log RR"),
                synthetic = list(yi = nm(syn$yi), sei = sqrt(nm(syn$vi)), source = "random"))
  priors <- list(
    list(tau = "halfnormal", scale = 0.5, mu = "flat"),
    list(tau = "halfcauchy", scale = 1.0, mu = "flat"),
    list(tau = "halfnormal", scale = 0.5, mu = "normal", mu_mean = 0, mu_sd = 4),
    list(tau = "logt_tau2", location = -3.44, scale = 2.59, df = 5, mu = "flat"),
    list(tau = "lognormal_tau2", location = -2.56, scale = 1.74, mu = "flat"))
  bcases <- list()
  for (id in names(bsets)) {
    d <- bsets[[id]]
    for (pr in priors) {
      tp <- switch(pr$tau,
        halfnormal = function(t) dhalfnormal(t, scale = pr$scale),
        halfcauchy = function(t) dhalfcauchy(t, scale = pr$scale),
        logt_tau2 = RhodesEtAlPrior()$dprior,
        lognormal_tau2 = function(t) ifelse(t > 0, 2 * t * dlnorm(t^2, pr$location, pr$scale), 0))
      b <- try(if (pr$mu == "flat") bayesmeta(y = d$yi, sigma = d$sei, tau.prior = tp)
               else bayesmeta(y = d$yi, sigma = d$sei, tau.prior = tp,
                              mu.prior.mean = pr$mu_mean, mu.prior.sd = pr$mu_sd), silent = TRUE)
      if (inherits(b, "try-error")) {
        cat("bayesmeta failed:", id, pr$tau, as.character(b), "\n")
        next
      }
      ci_mu <- b$post.interval(mu.level = 0.95, method = "central")
      ci_tau <- b$post.interval(tau.level = 0.95, method = "central")
      pi_th <- b$post.interval(theta.level = 0.95, method = "central")
      bcases[[length(bcases) + 1]] <- list(
        data = id, prior = pr,
        result = list(mu_mean = nm(b$summary["mean", "mu"]), mu_sd = nm(b$summary["sd", "mu"]),
                      mu_median = nm(b$summary["median", "mu"]), mu_ci = nm(ci_mu),
                      tau_mean = nm(b$summary["mean", "tau"]),
                      tau_median = nm(b$summary["median", "tau"]), tau_ci = nm(ci_tau),
                      theta_mean = nm(b$summary["mean", "theta"]), theta_ci = nm(pi_th),
                      p_mu_gt_0 = nm(1 - b$pposterior(mu = 0)),
                      p_mu_gt_02 = nm(1 - b$pposterior(mu = 0.2)),
                      p_mu_lt_m02 = nm(b$pposterior(mu = -0.2)),
                      marginal_likelihood = nm(b$marginal.likelihood)))
    }
  }
  syn_write(list(datasets = bsets, cases = bcases), "bayes",
            c(syn_versions, list(bayesmeta = as.character(packageVersion("bayesmeta")))))
}
