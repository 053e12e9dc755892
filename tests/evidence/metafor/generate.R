# Reference outputs of R's metafor for cpstem.evidence (run with Debian's r-base-core and
# r-cran-metafor; `make fixtures` from the repository root). Writes JSON fixtures next to this
# script; the Python tests compare against them, so CI needs no R.
#
#   Rscript tests/evidence/metafor/generate.R [output-directory]
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
out_dir <- if (length(args)) args[1] else "tests/evidence/metafor"
options(warn = -1)

versions <- list(
  R = R.version.string,
  metafor = as.character(packageVersion("metafor")),
  metadat = as.character(packageVersion("metadat")),
  jsonlite = as.character(packageVersion("jsonlite"))
)

write_fixture <- function(x, name) {
  x$versions <- versions
  path <- file.path(out_dir, paste0(name, ".json"))
  writeLines(toJSON(x, digits = NA, na = "string", auto_unbox = TRUE, null = "null"), path)
  cat("wrote", path, "\n")
}

num <- function(x) if (is.null(x)) NULL else unname(as.numeric(x))

# ---------------------------------------------------------------------------------------------
# datasets for rma
datasets <- list()
add_data <- function(id, yi, vi, mods = NULL, source = "") {
  datasets[[id]] <<- list(yi = num(yi), vi = num(vi),
                          mods = if (is.null(mods)) NULL else unname(as.matrix(mods)),
                          source = source)
}

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add_data("bcg", bcg$yi, bcg$vi, source = "dat.bcg, log risk ratio")
add_data("bcg_ablat", bcg$yi, bcg$vi, cbind(ablat = bcg$ablat), "dat.bcg ~ ablat")
add_data("bcg_ablat_year", bcg$yi, bcg$vi, cbind(bcg$ablat, bcg$year), "dat.bcg ~ ablat + year")
alloc <- model.matrix(~ factor(alloc), data = dat.bcg)[, -1]
add_data("bcg_alloc", bcg$yi, bcg$vi, alloc, "dat.bcg ~ factor(alloc)")
nor <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
              n2i = n2i, data = dat.normand1999)
add_data("normand_md", nor$yi, nor$vi, source = "dat.normand1999, MD")
nor2 <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
               n2i = n2i, data = dat.normand1999)
add_data("normand_smd", nor2$yi, nor2$vi, source = "dat.normand1999, SMD")
add_data("raudenbush", dat.raudenbush1985$yi, dat.raudenbush1985$vi,
         source = "dat.raudenbush1985, SMD")
add_data("raudenbush_weeks", dat.raudenbush1985$yi, dat.raudenbush1985$vi,
         cbind(weeks = dat.raudenbush1985$weeks), "dat.raudenbush1985 ~ weeks")
add_data("hackshaw", dat.hackshaw1998$yi, dat.hackshaw1998$vi, source = "dat.hackshaw1998, log OR")
mol <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
add_data("molloy", mol$yi, mol$vi, source = "dat.molloy2014, ZCOR")
pri <- escalc(measure = "PLO", xi = xi, ni = ni, data = dat.pritz1997)
add_data("pritz_plo", pri$yi, pri$vi, source = "dat.pritz1997, logit proportion")
cur <- escalc(measure = "ROM", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
              n2i = n2i, data = dat.curtis1998)
add_data("curtis_rom", cur$yi, cur$vi, source = "dat.curtis1998, log ratio of means")
bd <- dat.bangertdrowns2004
ok <- !is.na(bd$length) & !is.na(bd$meta)
add_data("bangert", bd$yi, bd$vi, source = "dat.bangertdrowns2004, SMD")
add_data("bangert_mods", bd$yi[ok], bd$vi[ok], cbind(bd$length[ok], bd$meta[ok]),
         "dat.bangertdrowns2004 ~ length + meta")
egg <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.egger2001)
add_data("egger_or", egg$yi, egg$vi, source = "dat.egger2001, log OR")
lin <- escalc(measure = "RR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.linde2005)
ok <- !is.na(lin$yi)
add_data("linde_rr", lin$yi[ok], lin$vi[ok], source = "dat.linde2005, log RR")

# random datasets, k = 2 .. 200
set.seed(20261124)
ks <- c(2, 2, 3, 3, 4, 5, 6, 8, 10, 12, 15, 20, 20, 25, 30, 40, 50, 60, 80, 100, 120, 150, 200)
for (i in seq_along(ks)) {
  k <- ks[i]
  vi <- rexp(k, 1 / runif(1, 0.005, 0.5))
  tau2 <- sample(c(0, runif(1, 0, 0.3), runif(1, 0.3, 2)), 1)
  yi <- rnorm(k, runif(1, -1, 1), sqrt(vi + tau2))
  add_data(sprintf("random_k%03d_%02d", k, i), yi, vi, source = sprintf("random, tau2 = %.3f", tau2))
}
for (i in 1:8) {
  k <- sample(c(6, 10, 20, 40, 100), 1)
  q <- sample(1:3, 1)
  X <- matrix(rnorm(k * q), k, q)
  vi <- runif(k, 0.01, 0.3)
  yi <- drop(0.2 + X %*% rnorm(q, 0, 0.3) + rnorm(k, 0, sqrt(vi + runif(1, 0, 0.2))))
  add_data(sprintf("random_mods_%02d", i), yi, vi, X, sprintf("random, k = %d, %d moderators", k, q))
}
# moderators without an intercept-like centring: one categorical factor with 3 levels
k <- 24
g <- rep(c("a", "b", "c"), each = 8)
vi <- runif(k, 0.02, 0.2)
yi <- rnorm(k, c(a = 0, b = 0.4, c = 0.9)[g], sqrt(vi + 0.05))
add_data("random_factor3", yi, vi, model.matrix(~ factor(g))[, -1], "random, 3 subgroups")

# boundary cases
add_data("tau2_zero", c(0.10, 0.12, 0.09, 0.11, 0.10, 0.13), c(0.02, 0.03, 0.025, 0.04, 0.01, 0.05),
         source = "homogeneous: tau2 estimates 0")
add_data("all_equal", rep(0.5, 5), c(0.01, 0.02, 0.03, 0.04, 0.05), source = "all yi equal")
add_data("one_huge", c(0.2, 0.5, -0.1, 0.8, 0.3, 0.45), c(0.1, 0.12, 0.09, 0.15, 1e-5, 0.11),
         source = "one huge study")
add_data("k2", c(0.1, 0.9), c(0.04, 0.05), source = "k = 2")
add_data("k2_equal", c(0.3, 0.3), c(0.04, 0.05), source = "k = 2, equal yi")
add_data("k3_hetero", c(-1.5, 0.2, 2.1), c(0.01, 0.02, 0.015), source = "k = 3, large tau2")
add_data("vi_ratio", c(0.1, 0.4, -0.2, 0.7, 0.3), c(1e-4, 0.5, 2, 0.05, 10),
         source = "very unequal variances")
add_data("k1", 0.4, 0.02, source = "k = 1")
add_data("outlier_far", c(0.10, 0.12, 0.09, 0.11, 0.10, 60), rep(0.01, 6),
         source = "one far outlier: PM root above metafor's tau2.max")

# datasets where metafor's Fisher scoring does not converge (found by seed search)
nonconv <- list()
set.seed(7)
tries <- 0
while (length(nonconv) < 6 && tries < 20000) {
  tries <- tries + 1
  k <- sample(5:60, 1)
  vi <- rexp(k, 1 / runif(1, 0.01, 1))
  yi <- rnorm(k, 0, sqrt(vi + sample(c(0, runif(1, 0, 1)), 1)))
  for (m in c("REML", "ML", "EB")) {
    r <- try(rma(yi, vi, method = m), silent = TRUE)
    if (inherits(r, "try-error") && grepl("did not converge", r)) {
      id <- sprintf("nonconv_%s_%02d", m, length(nonconv) + 1)
      nonconv[[id]] <- m
      add_data(id, yi, vi, source = sprintf("metafor's %s Fisher scoring fails", m))
      break
    }
  }
}

methods <- c("FE", "DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB")
tests <- c("z", "knha")
fit_case <- function(id, d, method, test, control = list()) {
  mods <- d$mods
  r <- try(if (is.null(mods)) rma(d$yi, d$vi, method = method, test = test, control = control)
           else rma(d$yi, d$vi, mods = mods, method = method, test = test, control = control),
           silent = TRUE)
  case <- list(data = id, method = method, test = test, control = control)
  if (inherits(r, "try-error")) {
    case$error <- trimws(sub("^Error in [^:]*: ", "", as.character(r)))
    return(case)
  }
  fs <- r$fit.stats
  res <- list(beta = num(r$beta), se = num(r$se), zval = num(r$zval), pval = num(r$pval),
              ci.lb = num(r$ci.lb), ci.ub = num(r$ci.ub), tau2 = num(r$tau2),
              se.tau2 = num(r$se.tau2), I2 = num(r$I2), H2 = num(r$H2), QE = num(r$QE),
              QEp = num(r$QEp), QM = num(r$QM), QMp = num(r$QMp), k = r$k, p = r$p,
              R2 = if (is.null(r$R2)) NULL else num(r$R2), s2w = num(r$s2w),
              ll.ML = fs["ll", "ML"], ll.REML = fs["ll", "REML"], dev.ML = fs["dev", "ML"],
              AIC.ML = fs["AIC", "ML"], BIC.ML = fs["BIC", "ML"], AICc.ML = fs["AICc", "ML"],
              AIC.REML = fs["AIC", "REML"], BIC.REML = fs["BIC", "REML"],
              AICc.REML = fs["AICc", "REML"], weights = num(weights(r)))
  if (!(method %in% c("FE", "EE")) && r$k > 1) {
    ci <- try(confint(r)$random, silent = TRUE)
    if (!inherits(ci, "try-error")) {
      res$confint <- list(tau2 = num(ci[1, ]), tau = num(ci[2, ]), I2 = num(ci[3, ]),
                          H2 = num(ci[4, ]))
    }
  }
  pr <- predict(r)
  res$pred <- num(pr$pred); res$pred.se <- num(pr$se)
  res$pred.ci.lb <- num(pr$ci.lb); res$pred.ci.ub <- num(pr$ci.ub)
  res$pi.lb <- num(pr$pi.lb); res$pi.ub <- num(pr$pi.ub)
  case$result <- res
  case
}
cases <- list()
for (id in names(datasets)) {
  d <- datasets[[id]]
  for (m in methods) for (t in tests) {
    case <- fit_case(id, d, m, t)
    if (!is.null(case$error) && grepl("did not converge", case$error)) {
      # metafor's default errors; its converged optimum with smaller steps is the reference
      case <- fit_case(id, d, m, t, list(stepadj = 0.5, maxiter = 10000, threshold = 1e-13))
      case$note <- "metafor default did not converge; reference from stepadj = 0.5"
    }
    if (!is.null(case$error) && grepl("tau2.max", case$error)) {
      case <- fit_case(id, d, m, t, list(tau2.max = 1e6, tol = 1e-12))
      case$note <- "metafor default: root above tau2.max; reference with tau2.max = 1e6"
    }
    cases[[length(cases) + 1]] <- case
  }
}
write_fixture(list(datasets = datasets, cases = cases), "rma")

# ---------------------------------------------------------------------------------------------
# effect sizes
es <- list()
add_es <- function(id, measure, args, extra = list()) {
  r <- do.call(escalc, c(list(measure = measure), args, extra))
  es[[length(es) + 1]] <<- list(id = id, measure = measure, input = args, options = extra,
                                yi = num(r$yi), vi = num(r$vi))
}
tab <- list(ai = dat.bcg$tpos, bi = dat.bcg$tneg, ci = dat.bcg$cpos, di = dat.bcg$cneg)
zero <- list(ai = c(0, 3, 0, 5, 12, 0, 7), bi = c(20, 17, 25, 0, 30, 40, 13),
             ci = c(2, 0, 0, 4, 9, 0, 3), di = c(18, 21, 25, 6, 31, 45, 0))
for (m in c("OR", "RR", "RD", "PETO")) {
  add_es(paste0("bcg_", m), m, tab)
  add_es(paste0("zero_", m), m, zero)
  add_es(paste0("zero_", m, "_drop00"), m, zero, list(drop00 = TRUE))
  add_es(paste0("zero_", m, "_all"), m, zero, list(to = "all"))
}
add_es("li2007_OR_n", "OR", list(ai = dat.li2007$ai, n1i = dat.li2007$n1i, ci = dat.li2007$ci,
                                 n2i = dat.li2007$n2i))
cont <- list(m1i = dat.normand1999$m1i, sd1i = dat.normand1999$sd1i, n1i = dat.normand1999$n1i,
             m2i = dat.normand1999$m2i, sd2i = dat.normand1999$sd2i, n2i = dat.normand1999$n2i)
small <- list(m1i = c(10.2, 35, 4.1, 70), sd1i = c(2.1, 8, 1.3, 12), n1i = c(3, 5, 12, 40),
              m2i = c(8.9, 30, 4.4, 61), sd2i = c(2.5, 9.5, 1.1, 15), n2i = c(4, 6, 10, 38))
for (m in c("MD", "SMD", "ROM")) {
  add_es(paste0("normand_", m), m, cont)
  add_es(paste0("small_", m), m, small)
}
add_es("curtis_ROM", "ROM", list(m1i = dat.curtis1998$m1i, sd1i = dat.curtis1998$sd1i,
                                 n1i = dat.curtis1998$n1i, m2i = dat.curtis1998$m2i,
                                 sd2i = dat.curtis1998$sd2i, n2i = dat.curtis1998$n2i))
add_es("smcr", "SMCR", list(m1i = c(45.2, 60.1, 30.5, 52), m2i = c(40.1, 55.3, 29.8, 44.6),
                            sd1i = c(10.3, 12.5, 8.1, 11), ni = c(12, 20, 8, 35),
                            ri = c(0.6, 0.75, 0.5, 0.82)))
prop <- list(xi = c(dat.pritz1997$xi, 0, 15, 1), ni = c(dat.pritz1997$ni, 12, 15, 3))
for (m in c("PR", "PLO", "PAS", "PFT")) add_es(paste0("pritz_", m), m, prop)
add_es("molloy_ZCOR", "ZCOR", list(ri = c(dat.molloy2014$ri, 0.3, -0.95),
                                   ni = c(dat.molloy2014$ni, 4, 10)))
write_fixture(list(cases = es), "escalc")

# ---------------------------------------------------------------------------------------------
# Mantel-Haenszel and Peto
mh <- list()
add_mh <- function(id, fun, measure, d) {
  r <- if (fun == "mh") rma.mh(ai = d$ai, bi = d$bi, ci = d$ci, di = d$di, measure = measure)
       else rma.peto(ai = d$ai, bi = d$bi, ci = d$ci, di = d$di)
  res <- list(beta = num(r$beta), se = num(r$se), zval = num(r$zval), pval = num(r$pval),
              ci.lb = num(r$ci.lb), ci.ub = num(r$ci.ub), QE = num(r$QE), QEp = num(r$QEp),
              I2 = num(r$I2), H2 = num(r$H2), k = r$k, k.yi = r$k.yi)
  if (fun == "mh" && measure == "OR") {
    res$CO <- num(r$CO); res$COp <- num(r$COp); res$MH <- num(r$MH); res$MHp <- num(r$MHp)
    res$BD <- num(r$BD); res$BDp <- num(r$BDp); res$TA <- num(r$TA); res$TAp <- num(r$TAp)
  }
  mh[[length(mh) + 1]] <<- list(id = id, fun = fun, measure = measure, input = d, result = res)
}
li <- list(ai = dat.li2007$ai, bi = dat.li2007$n1i - dat.li2007$ai, ci = dat.li2007$ci,
           di = dat.li2007$n2i - dat.li2007$ci)
yu <- subset(dat.yusuf1985, table == "6")
yus <- list(ai = yu$ai, bi = yu$n1i - yu$ai, ci = yu$ci, di = yu$n2i - yu$ci)
sparse <- list(ai = c(0, 1, 0, 2, 0, 1), bi = c(25, 30, 18, 40, 12, 22),
               ci = c(1, 0, 0, 3, 2, 0), di = c(24, 29, 20, 38, 11, 25))
for (nm in c("bcg", "li2007", "yusuf6", "sparse")) {
  d <- switch(nm, bcg = tab, li2007 = li, yusuf6 = yus, sparse = sparse)
  for (m in c("OR", "RR", "RD")) add_mh(paste0(nm, "_mh_", m), "mh", m, d)
  add_mh(paste0(nm, "_peto"), "peto", "PETO", d)
}
write_fixture(list(cases = mh), "mh")

# ---------------------------------------------------------------------------------------------
# publication bias: regtest (Egger), ranktest (Begg), trimfill
bias <- list()
bias_sets <- list(bcg = bcg, hackshaw = data.frame(yi = dat.hackshaw1998$yi, vi = dat.hackshaw1998$vi),
                  egger = egg, raudenbush = data.frame(yi = dat.raudenbush1985$yi,
                                                       vi = dat.raudenbush1985$vi),
                  normand = nor2, ties = data.frame(yi = c(0.1, 0.1, 0.3, 0.5, 0.2, 0.2, 0.8),
                                                    vi = c(0.01, 0.02, 0.02, 0.05, 0.03, 0.04, 0.1)))
for (nm in names(bias_sets)) {
  d <- bias_sets[[nm]]
  for (m in c("REML", "DL", "FE")) for (t in c("z", "knha")) {
    fit <- rma(d$yi, d$vi, method = m, test = t)
    rt <- regtest(fit)
    tf <- try(trimfill(fit), silent = TRUE)
    res <- list(regtest = list(zval = num(rt$zval), pval = num(rt$pval), ddf = num(rt$ddf),
                               est = num(rt$est), ci.lb = num(rt$ci.lb), ci.ub = num(rt$ci.ub)))
    if (!inherits(tf, "try-error")) {
      res$trimfill <- list(k0 = tf$k0, se.k0 = num(tf$se.k0), side = tf$side,
                           beta = num(tf$beta), se = num(tf$se), ci.lb = num(tf$ci.lb),
                           ci.ub = num(tf$ci.ub), tau2 = num(tf$tau2), pval = num(tf$pval),
                           yi = num(tf$yi), vi = num(tf$vi), fill = tf$fill)
    }
    rl <- regtest(fit, model = "lm")
    res$regtest_lm <- list(zval = num(rl$zval), pval = num(rl$pval), ddf = num(rl$ddf),
                           est = num(rl$est), ci.lb = num(rl$ci.lb), ci.ub = num(rl$ci.ub))
    bias[[length(bias) + 1]] <- list(data = nm, yi = num(d$yi), vi = num(d$vi), method = m,
                                     test = t, result = res)
  }
}
rank <- list()
for (nm in names(bias_sets)) {
  d <- bias_sets[[nm]]
  rk <- ranktest(d$yi, d$vi)
  rank[[nm]] <- list(yi = num(d$yi), vi = num(d$vi), tau = num(rk$tau), pval = num(rk$pval))
}
write_fixture(list(cases = bias, ranktest = rank), "bias")

# ---------------------------------------------------------------------------------------------
# leave-one-out, cumulative, influence
infl <- list()
infl_sets <- list(
  list(id = "bcg_REML_z", d = bcg, method = "REML", test = "z", mods = NULL),
  list(id = "bcg_DL_knha", d = bcg, method = "DL", test = "knha", mods = NULL),
  list(id = "normand_FE_z", d = nor2, method = "FE", test = "z", mods = NULL),
  list(id = "raudenbush_PM_knha", d = data.frame(yi = dat.raudenbush1985$yi,
                                                 vi = dat.raudenbush1985$vi),
       method = "PM", test = "knha", mods = NULL),
  list(id = "bcg_ablat_REML", d = bcg, method = "REML", test = "z", mods = cbind(bcg$ablat)),
  list(id = "bcg_ablat_ML_knha", d = bcg, method = "ML", test = "knha", mods = cbind(bcg$ablat))
)
for (s in infl_sets) {
  fit <- if (is.null(s$mods)) rma(s$d$yi, s$d$vi, method = s$method, test = s$test)
         else rma(s$d$yi, s$d$vi, mods = s$mods, method = s$method, test = s$test)
  inf <- influence(fit)
  res <- list(inf = lapply(unclass(inf$inf)[c("rstudent", "dffits", "cook.d", "cov.r", "tau2.del",
                                     "QE.del", "hat", "weight")], num),
              dfbs = lapply(unclass(inf$dfbs)[seq_len(fit$p)], num), is.infl = inf$is.infl)
  if (is.null(s$mods)) {
    l1 <- leave1out(fit)
    cu <- cumul(fit)
    keep <- c("estimate", "se", "zval", "pval", "pvals", "ci.lb", "ci.ub", "Q", "Qp", "tau2",
              "I2", "H2", "tval")
    res$leave1out <- lapply(unclass(l1)[intersect(names(l1), keep)], num)
    res$cumul <- lapply(unclass(cu)[intersect(names(cu), keep)], num)
  }
  infl[[length(infl) + 1]] <- list(id = s$id, yi = num(s$d$yi), vi = num(s$d$vi),
                                   mods = if (is.null(s$mods)) NULL else unname(s$mods),
                                   method = s$method, test = s$test, result = res)
}
write_fixture(list(cases = infl), "influence")

# ---------------------------------------------------------------------------------------------
# subgroup analysis (metafor's recipe: separate fits + Wald-type test; mixed-effects model)
sub <- list()
sub_sets <- list(bcg_alloc = list(yi = bcg$yi, vi = bcg$vi, g = dat.bcg$alloc),
                 factor3 = list(yi = datasets$random_factor3$yi, vi = datasets$random_factor3$vi,
                                g = g))
for (nm in names(sub_sets)) {
  s <- sub_sets[[nm]]
  for (m in c("REML", "DL", "FE")) for (t in c("z", "knha")) {
    lv <- sort(unique(s$g))
    fits <- lapply(lv, function(l) rma(s$yi[s$g == l], s$vi[s$g == l], method = m, test = t))
    est <- sapply(fits, function(f) f$beta[1])
    se <- sapply(fits, function(f) f$se)
    wald <- rma(est, sei = se, mods = ~ factor(lv), method = "FE")
    mixed <- rma(s$yi, s$vi, mods = ~ factor(s$g), method = m, test = t)
    sub[[length(sub) + 1]] <- list(
      data = nm, yi = num(s$yi), vi = num(s$vi), group = as.character(s$g), method = m, test = t,
      levels = lv,
      groups = lapply(fits, function(f) list(k = f$k, beta = num(f$beta), se = num(f$se),
                                             ci.lb = num(f$ci.lb), ci.ub = num(f$ci.ub),
                                             tau2 = num(f$tau2), I2 = num(f$I2), QE = num(f$QE),
                                             pval = num(f$pval))),
      Qb = num(wald$QM), Qb.df = length(lv) - 1, Qbp = num(wald$QMp),
      mixed = list(QM = num(mixed$QM), QMp = num(mixed$QMp), tau2 = num(mixed$tau2),
                   QE = num(mixed$QE), QEp = num(mixed$QEp), beta = num(mixed$beta)))
  }
}
write_fixture(list(cases = sub), "subgroups")

# ---------------------------------------------------------------------------------------------
# synthesis methods (issue 12): rma.mv, robust, selmodel, hc, PET-PEESE, profile, baujat, gosh,
# bayesmeta -- multilevel.json, selection.json, diagnostics.json, bayes.json
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE)[1])),
                 "synthesis.R"))
