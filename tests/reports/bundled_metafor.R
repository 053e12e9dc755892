# Reference values for tests/reports/test_evidence_report.py: the bundled primary analyses
# recomputed with R metafor 3.8-1 (Debian r-cran-metafor). Run: Rscript bundled_metafor.R
library(metafor)
d6 <- data.frame(m1=c(7.62,7.08,9.1,59.0), sd1=c(2.44,7.36,6.7,38.999), n1=c(27,18,31,19),
                 m2=c(2.96,3.85,9.0,28.9), sd2=c(1.66,3.75,6.3,39.386), n2=c(27,18,33,20))
e6 <- escalc("SMD", m1i=m1, sd1i=sd1, n1i=n1, m2i=m2, sd2i=sd2, n2i=n2, data=d6)
r6 <- rma(yi, vi, data=e6, method="REML", test="knha"); p6 <- predict(r6)
cat(sprintf("6mo %.10f %.10f %.10f %.10f %.10f %.10f %.10f %.10f\n", r6$beta, r6$ci.lb, r6$ci.ub,
            r6$tau2, r6$I2, r6$QE, p6$pi.lb, p6$pi.ub))
d12 <- data.frame(m1=c(10.27,7.5,64.526), sd1=c(2.96,6.8,41.845), n1=c(27,32,19),
                  m2=c(4.75,6.9,36.8), sd2=c(1.45,5.5,39.364), n2=c(27,31,20))
e12 <- escalc("SMD", m1i=m1, sd1i=sd1, n1i=n1, m2i=m2, sd2i=sd2, n2i=n2, data=d12)
r12 <- rma(yi, vi, data=e12, method="REML", test="knha"); p12 <- predict(r12)
cat(sprintf("12mo %.10f %.10f %.10f %.10f %.10f %.10f %.10f %.10f\n", r12$beta, r12$ci.lb,
            r12$ci.ub, r12$tau2, r12$I2, r12$QE, p12$pi.lb, p12$pi.ub))
s <- data.frame(ai=c(0,0,0,0,1,3), n1=c(30,27,18,68,45,36), ci=c(0,0,0,0,0,6),
                n2=c(30,27,18,34,49,70))
m <- rma.mh(ai=ai, n1i=n1, ci=ci, n2i=n2, data=s, measure="RR")
cat(sprintf("mhRR %.10f %.10f %.10f\n", exp(m$beta), exp(m$ci.lb), exp(m$ci.ub)))
m <- rma.mh(ai=ai, n1i=n1, ci=ci, n2i=n2, data=s, measure="RD")
cat(sprintf("mhRD %.10f %.10f %.10f\n", m$beta, m$ci.lb, m$ci.ub))
m <- rma.peto(ai=ai, n1i=n1, ci=ci, n2i=n2, data=s)
cat(sprintf("peto %.10f %.10f %.10f\n", exp(m$beta), exp(m$ci.lb), exp(m$ci.ub)))
# Output with metafor 3.8-1:
# 6mo 0.8622799124 -0.6247048966 2.3492647214 0.7716571359 88.7567972847 26.6656856657 -2.3041755018 4.0287353265
# 12mo 1.0172358463 -1.8653188560 3.8997905486 1.2432778800 92.8693184273 26.8604037096 -4.5797009812 6.6141726738
# mhRR 1.2280338849 0.3492941952 4.3174700391
# mhRD 0.0043266553 -0.0221115137 0.0307648243
# peto 1.2458020550 0.3236305209 4.7956625233
