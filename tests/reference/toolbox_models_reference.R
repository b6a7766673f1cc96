# Reference values from R's survey package for tests/analysis/test_models.py: design-based
# regression (svyglm), the two-sample t test (svyttest) and tests of association in a
# two-way table (svychisq), on linearised and replicate-weight designs.
#
# Run from the project root:
#     Rscript tests/reference/toolbox_models_reference.R [output.csv]
# It writes tests/reference/toolbox_models_reference.csv (or the given file), in the format
# of survey_reference.csv: one row per value, columns case, domain, quantity, value,
# r_command.  Cases are "<design>/glm/<family>/<formula>" (domain = R's coefficient name,
# or "model" for the dispersion of summary.svyglm), "<design>/ttest/<formula>" (domain
# "difference") and "<design>/chisq/<row>+<col>/<statistic>" (domain "test").
#
# Data: R's api and nhanes data (copies in tests/reference/api/ and
# tests/reference/survey_data/) and the committed bootstrap factors
# tests/reference/bootstrap_apistrat.csv (as in survey_reference.R).

suppressMessages(library(survey))
invisible(Sys.setlocale("LC_ALL", "C.UTF-8"))
options(survey.lonely.psu = "fail", digits = 15, warn = 1)

args <- commandArgs(trailingOnly = TRUE)
script_dir <- "tests/reference"
out_file <- if (length(args) >= 1) args[1] else file.path(script_dir,
                                                          "toolbox_models_reference.csv")

rows <- list()
add <- function(case, domain, quantity, value, cmd) {
  rows[[length(rows) + 1]] <<- data.frame(case = case, domain = as.character(domain),
                                          quantity = quantity, value = as.numeric(value),
                                          r_command = cmd, stringsAsFactors = FALSE)
}

read_api <- function(name) {
  d <- read.csv(file.path(script_dir, "api", paste0(name, ".csv")), stringsAsFactors = FALSE)
  d$sw <- as.numeric(d$sch.wide == "Yes")
  d
}
apistrat <- read_api("apistrat"); apiclus1 <- read_api("apiclus1")
apiclus2 <- read_api("apiclus2"); apipop <- read_api("apipop")
# a district whose every school lacks the response: the model's design loses a PSU
apiclus1$api00na <- ifelse(apiclus1$dnum == min(apiclus1$dnum), NA, apiclus1$api00)
nhanes <- read.csv(file.path(script_dir, "survey_data", "nhanes.csv"), stringsAsFactors = FALSE)

dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
pop_schwide <- as.data.frame(table(sch.wide = apipop$sch.wide))
pop_awards <- as.data.frame(table(awards = apipop$awards))
rkstrat <- calibrate(dstrat, list(~sch.wide, ~awards), list(pop_schwide, pop_awards),
                     calfun = "raking", epsilon = 1e-13, maxit = 200)
jkstrat <- as.svrepdesign(dstrat, type = "JKn")
jkclus1 <- as.svrepdesign(dclus1, type = "JK1")   # JKn of one stratum
pop_stype <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
ps1 <- postStratify(dclus1, ~stype, pop_stype)
jkrk1 <- calibrate(jkclus1, list(~stype, ~sch.wide), list(pop_stype, pop_schwide),
                   calfun = "raking", epsilon = 1e-13, maxit = 200)
bw <- as.matrix(read.csv(file.path(script_dir, "bootstrap_apistrat.csv")))
bsstrat <- svrepdesign(data = apistrat, repweights = bw, weights = ~pw, combined.weights = FALSE,
                       type = "other", scale = 1 / (ncol(bw) - 1), rscales = rep(1, ncol(bw)),
                       mse = FALSE)
dnh <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE,
                 data = nhanes)
jknh <- as.svrepdesign(dnh, type = "JKn")
# raked to made-up margins of race and age (the same total as the weights): a calibrated
# design with missing values in the model
dnh$variables$racef <- as.character(dnh$variables$race)
pop_race <- data.frame(racef = c("1", "2", "3", "4"),
                       Freq = c(45000000, 175000000, 35000000, 21536447))
pop_age <- data.frame(agecat = c("(0,19]", "(19,39]", "(39,59]", "(59,Inf]"),
                      Freq = c(60000000, 80000000, 82000000, 54536447))
rknh <- calibrate(dnh, list(~racef, ~agecat), list(pop_race, pop_age), calfun = "raking",
                  epsilon = 1e-13, maxit = 200)

# svyglm: coefficients, SEs, t, p, Wald intervals (confint.svyglm), df.residual and the
# dispersion of summary.svyglm
glm_case <- function(dn, family, formula) {
  cmd <- sprintf("svyglm(%s, %s, family = %s())", formula, dn, family)
  m <- eval(parse(text = cmd))
  s <- summary(m)
  co <- coef(s)
  ci <- confint(m)
  case <- sprintf("%s/glm/%s/%s", dn, family, formula)
  for (k in rownames(co)) {
    add(case, k, "estimate", co[k, 1], cmd)
    add(case, k, "se", co[k, 2], sprintf("SE(%s)", cmd))
    add(case, k, "t", co[k, 3], sprintf("coef(summary(%s))", cmd))
    add(case, k, "p", co[k, 4], sprintf("coef(summary(%s))", cmd))
    add(case, k, "ci_low", ci[k, 1], sprintf("confint(%s)", cmd))
    add(case, k, "ci_high", ci[k, 2], sprintf("confint(%s)", cmd))
    add(case, k, "df", m$df.residual, sprintf("(%s)$df.residual", cmd))
  }
  v <- vcov(m)
  add(case, paste(rownames(v)[2], colnames(v)[3], sep = "|"), "vcov", v[2, 3],
      sprintf("vcov(%s)", cmd))
  add(case, "model", "dispersion", as.numeric(s$dispersion),
      sprintf("summary(%s)$dispersion", cmd))
}

api_designs <- c("dstrat", "dclus1", "dclus2", "rkstrat", "jkstrat", "bsstrat")
for (dn in api_designs) {
  glm_case(dn, "gaussian", "api00 ~ ell + meals + stype")
  glm_case(dn, "poisson", "enroll ~ ell + meals + stype")
}
for (dn in c("dstrat", "dclus1", "rkstrat", "jkstrat", "bsstrat")) {
  glm_case(dn, "binomial", "sw ~ ell + meals + stype")
  glm_case(dn, "quasibinomial", "sw ~ ell + meals + stype")
  glm_case(dn, "gaussian", "api00 ~ sch.wide + ell")
}
for (dn in c("dclus1", "jkclus1")) glm_case(dn, "gaussian", "api00na ~ ell + meals")
for (dn in c("dstrat", "jkstrat")) glm_case(dn, "gaussian", "api00 ~ stype * ell")
for (dn in c("dnh", "jknh", "rknh")) {
  glm_case(dn, "binomial", "HI_CHOL ~ race + agecat + RIAGENDR")
  glm_case(dn, "quasibinomial", "HI_CHOL ~ race + agecat + RIAGENDR")
}

# svyttest: the difference between the two groups (via svyglm), its t, df and p
ttest_case <- function(dn, formula) {
  cmd <- sprintf("svyttest(%s, %s)", formula, dn)
  tt <- eval(parse(text = cmd))
  case <- sprintf("%s/ttest/%s", dn, formula)
  add(case, "difference", "estimate", tt$estimate, cmd)
  add(case, "difference", "se", tt$estimate / tt$statistic, sprintf("%s: estimate/statistic", cmd))
  add(case, "difference", "t", tt$statistic, cmd)
  add(case, "difference", "df", tt$parameter, cmd)
  add(case, "difference", "p", tt$p.value, cmd)
  add(case, "difference", "ci_low", tt$conf.int[1], cmd)
  add(case, "difference", "ci_high", tt$conf.int[2], cmd)
}
for (dn in api_designs) ttest_case(dn, "api00 ~ sch.wide")
for (dn in c("dnh", "jknh", "rknh")) ttest_case(dn, "HI_CHOL ~ RIAGENDR")
for (dn in c("dclus1", "jkclus1")) ttest_case(dn, "api00na ~ sch.wide")

# svychisq: the four statistics
chisq_case <- function(dn, row, col, statistic) {
  cmd <- sprintf('svychisq(~%s + %s, %s, statistic = "%s")', row, col, dn, statistic)
  x <- eval(parse(text = cmd))
  case <- sprintf("%s/chisq/%s+%s/%s", dn, row, col, statistic)
  add(case, "test", "statistic", x$statistic, cmd)
  if (statistic == "Chisq") {
    add(case, "test", "df", x$parameter[1], cmd)
  } else {
    add(case, "test", "ndf", x$parameter[1], cmd)
    add(case, "test", "ddf", x$parameter[2], cmd)
  }
  add(case, "test", "p", x$p.value, cmd)
}
for (s in c("F", "Chisq", "Wald", "adjWald")) {
  for (dn in api_designs) chisq_case(dn, "sch.wide", "stype", s)
  for (dn in c("dnh", "jknh", "rknh")) {
    chisq_case(dn, "race", "agecat", s)
    chisq_case(dn, "HI_CHOL", "agecat", s)     # with missing values
  }
}

# post-stratified, and raked replicates
for (dn in c("ps1", "jkrk1")) {
  glm_case(dn, "gaussian", "api00 ~ ell + meals + stype")
  glm_case(dn, "quasibinomial", "sw ~ ell + meals")
  ttest_case(dn, "api00 ~ sch.wide")
  for (s in c("F", "Wald")) chisq_case(dn, "sch.wide", "stype", s)
}

out <- do.call(rbind, rows)
out$value <- sprintf("%.17g", out$value)
write.csv(out, out_file, row.names = FALSE, fileEncoding = "UTF-8")
cat("wrote", nrow(out), "values to", out_file, "\n")
