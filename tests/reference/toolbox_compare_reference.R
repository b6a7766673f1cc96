# Reference values from R's survey package for tests/analysis/test_compare.py: covariances of
# domain estimates (vcov of svyby(..., covmat = TRUE)), contrasts (svycontrast), domain
# comparisons (every domain against the rest of the population or a reference domain, with
# p.adjust) and the change between two stacked survey waves.
#
# Run from the project root (Debian: apt-get install r-cran-survey):
#     Rscript tests/reference/toolbox_compare_reference.R [output.csv]
# It writes tests/reference/toolbox_compare_reference.csv (or the given file): one row per
# value, columns case, domain, quantity, value, r_command (as survey_reference.csv).
# Covariances are stored with domain "row|column".  Intervals of contrasts are
# est -/+ qt(1 - 0.05/2, degf(design)) * SE and p-values 2 * pt(-|est / SE|, degf(design)):
# Student t on the design's degrees of freedom.
#
# R's svyby(..., covmat = TRUE) fails with na.rm = TRUE on a linearised design, so a variable
# with missing values is analysed on subset(design, !is.na(y)) -- the same estimates and
# variances as na.rm = TRUE (the subset keeps every PSU).  Proportions are means of the 0/1
# variable (svyciprop returns no influence functions, so svyby(..., svyciprop, covmat =
# TRUE) is refused; its variance is that of svymean).
#
# Data: the api data of the survey package (tests/reference/api/), the synthetic sample
# tests/reference/nantong_sample.csv, its two waves tests/reference/waves_sample.csv (made
# by make_waves_sample.py) and the committed bootstrap factors tests/reference/bootstrap_*.csv.

suppressMessages(library(survey))
invisible(Sys.setlocale("LC_ALL", "C.UTF-8"))
options(survey.lonely.psu = "fail", digits = 15, warn = 1)

args <- commandArgs(trailingOnly = TRUE)
script_dir <- "tests/reference"
api_dir <- file.path(script_dir, "api")
out_file <- if (length(args) >= 1) args[1] else file.path(script_dir, "toolbox_compare_reference.csv")
LEVEL <- 0.95

read_api <- function(name) read.csv(file.path(api_dir, paste0(name, ".csv")), stringsAsFactors = FALSE)

rows <- list()
add <- function(case, domain, quantity, value, cmd) {
  rows[[length(rows) + 1]] <<- data.frame(case = case, domain = as.character(domain),
                                          quantity = quantity, value = as.numeric(value),
                                          r_command = cmd, stringsAsFactors = FALSE)
}

# The analysed design: the subset with answers when the variable has missing values.
answered <- function(design_name, var) {
  v <- eval(parse(text = design_name))$variables[[var]]
  if (anyNA(v)) sprintf("subset(%s, !is.na(%s))", design_name, var) else design_name
}

# Domain means (or totals) of `var` by the grouping `byf` (R formula text without "~"), their
# covariance matrix and the domains' keys (a data frame of the grouping columns, as text).
# svyby(..., covmat = TRUE), except on a calibrated linearised design, where R's svyby
# refuses covmat (its influence functions do not line up with the calibrated design):
# there the means are svycontrast of the domain totals (.yk = y in domain k, .nk = domain k
# indicator) of svytotal, whose variance accounts for the calibration -- the same
# linearisation.
dmeans <- function(var, byf, design_name, fun = "svymean") {
  d <- eval(parse(text = design_name))
  if (is.null(d$postStrata)) {
    dexpr <- answered(design_name, var)
    cmd <- sprintf("svyby(~%s, ~%s, %s, %s, covmat = TRUE)", var, byf, dexpr, fun)
    b <- eval(parse(text = cmd))
    nby <- ncol(model.frame(as.formula(paste("~", byf)), d$variables[1:2, , drop = FALSE]))
    keys <- as.data.frame(lapply(b[seq_len(nby)], as.character), stringsAsFactors = FALSE)
    return(list(coef = unname(coef(b)), V = unname(vcov(b)), keys = keys, cmd = cmd))
  }
  stopifnot(fun == "svymean")
  g <- model.frame(as.formula(paste("~", byf)), d$variables, na.action = na.pass)
  key <- do.call(paste, c(lapply(g, as.character), sep = "\r"))
  y <- d$variables[[var]]
  ok <- !is.na(y) & complete.cases(g)
  groups <- sort(unique(key[ok & weights(d) != 0]))
  K <- length(groups)
  for (k in seq_len(K)) {
    inside <- ok & key == groups[k]
    d$variables[[paste0(".y", k)]] <- ifelse(inside, y, 0)
    d$variables[[paste0(".n", k)]] <- as.numeric(inside)
  }
  tot <- svytotal(as.formula(paste("~", paste(c(paste0(".y", 1:K), paste0(".n", 1:K)),
                                             collapse = " + "))), d)
  cc <- svycontrast(tot, lapply(1:K, function(k) parse(text = sprintf(".y%d / .n%d", k, k))[[1]]))
  keys <- as.data.frame(lapply(g[match(groups, key), , drop = FALSE], as.character),
                        stringsAsFactors = FALSE)
  cmd <- sprintf("svycontrast(svytotal(~.y1 + ... + .n1 + ..., %s), list(.y1/.n1, ...)) with .yk = %s in domain k of ~%s, .nk its indicator",
                 design_name, var, byf)
  list(coef = unname(coef(cc)), V = unname(vcov(cc)), keys = keys, cmd = cmd)
}

# A contrast c'theta of domain means: estimate, SE, t interval and p on degf(design).
contrast_values <- function(m, coefs, design_name) {
  est <- sum(coefs * m$coef)
  se <- sqrt(drop(t(coefs) %*% m$V %*% coefs))
  df <- degf(eval(parse(text = design_name)))
  q <- qt(1 - (1 - LEVEL) / 2, df)
  p <- if (se > 0) 2 * pt(-abs(est / se), df) else NA
  list(estimate = est, se = se, ci_low = est - q * se, ci_high = est + q * se, p_value = p,
       df = df)
}

# vcov of the domain estimates of ~var by ~by
vcov_case <- function(design_name, fun, var, by) {
  case <- sprintf("vcov/%s/%s/%s/by=%s", design_name, fun, var, by)
  m <- dmeans(var, by, design_name, fun)
  labs <- m$keys[[1]]
  cmd <- sprintf("vcov(%s)", m$cmd)
  for (i in seq_along(labs)) for (j in seq_along(labs))
    add(case, paste(labs[i], labs[j], sep = "|"), "cov", m$V[i, j], cmd)
}

# vcov of the shares of a categorical variable (no domains)
vcov_freq_case <- function(design_name, var) {
  case <- sprintf("vcov/%s/freq/%s", design_name, var)
  cmd <- sprintf("vcov(svymean(~factor(%s), %s))", var, design_name)
  V <- eval(parse(text = cmd))
  labs <- sub(sprintf("^factor\\(%s\\)", var), "", rownames(V))
  for (i in seq_along(labs)) for (j in seq_along(labs))
    add(case, paste(labs[i], labs[j], sep = "|"), "cov", V[i, j], cmd)
}

# svycontrast of two domain means: a - b
contrast_case <- function(design_name, var, by, a, b_) {
  case <- sprintf("contrast/%s/mean/%s/by=%s/%s-%s", design_name, var, by, a, b_)
  m <- dmeans(var, by, design_name)
  labs <- m$keys[[1]]
  r <- contrast_values(m, as.numeric(labs == a) - as.numeric(labs == b_), design_name)
  cmd <- sprintf("svycontrast(%s, <%s = 1, %s = -1>); df = degf(%s)", m$cmd, a, b_, design_name)
  for (q in c("estimate", "se", "ci_low", "ci_high", "p_value")) add(case, "all", q, r[[q]], cmd)
}

# Every domain against the rest (reference = NULL) or a reference domain, p.adjust.
compare_case <- function(design_name, statistic, var, by, reference = NULL, adjust = "holm") {
  case <- sprintf("compare/%s/%s/%s/by=%s", design_name, statistic, var, by)
  if (!is.null(reference)) case <- paste0(case, "/ref=", reference)
  if (adjust != "holm") case <- paste0(case, "/adjust=", adjust)
  d <- eval(parse(text = design_name))
  v <- d$variables
  levs <- sort(unique(as.character(v[[by]][weights(d) != 0 & !is.na(v[[var]])])))
  res <- list()
  if (is.null(reference)) {
    for (lev in levs) {
      m <- dmeans(var, sprintf('I(%s == "%s")', by, lev), design_name)
      inside <- m$keys[[1]] == "TRUE"
      r <- contrast_values(m, ifelse(inside, 1, -1), design_name)
      r$est_domain <- m$coef[inside]; r$est_reference <- m$coef[!inside]
      r$cmd <- sprintf("svycontrast(%s, <TRUE = 1, FALSE = -1>)", m$cmd)
      res[[lev]] <- r
    }
  } else {
    m <- dmeans(var, by, design_name)
    labs <- m$keys[[1]]
    for (lev in setdiff(levs, reference)) {
      r <- contrast_values(m, as.numeric(labs == lev) - as.numeric(labs == reference), design_name)
      r$est_domain <- m$coef[labs == lev]; r$est_reference <- m$coef[labs == reference]
      r$cmd <- sprintf("svycontrast(%s, <%s = 1, %s = -1>)", m$cmd, lev, reference)
      res[[lev]] <- r
    }
  }
  p <- sapply(res, function(r) r$p_value)
  padj <- p.adjust(p, adjust)
  for (lev in names(res)) {
    r <- res[[lev]]
    add(case, lev, "estimate", r$est_domain, r$cmd)
    add(case, lev, "reference_estimate", r$est_reference, r$cmd)
    add(case, lev, "difference", r$estimate, r$cmd)
    for (q in c("se", "ci_low", "ci_high", "p_value")) add(case, lev, q, r[[q]], r$cmd)
    add(case, lev, "df", r$df, sprintf("degf(%s)", design_name))
    add(case, lev, "p_adjusted", padj[[lev]], sprintf('p.adjust(p, "%s")', adjust))
  }
}

# The change between the two waves of a stacked design (overall or by a domain variable).
wave_case <- function(design_name, statistic, var, by = NULL) {
  case <- sprintf("waves/%s/%s/%s", design_name, statistic, var)
  if (!is.null(by)) case <- paste0(case, "/by=", by)
  m <- dmeans(var, if (is.null(by)) "wave" else sprintf("wave + %s", by), design_name)
  waves <- m$keys[[1]]
  doms <- if (is.null(by)) rep("all", length(waves)) else m$keys[[2]]
  for (dom in unique(doms)) {
    ia <- which(doms == dom & waves == "2025"); ib <- which(doms == dom & waves == "2026")
    if (length(ia) != 1 || length(ib) != 1) next
    coefs <- numeric(length(m$coef)); coefs[ib] <- 1; coefs[ia] <- -1
    r <- contrast_values(m, coefs, design_name)
    cmd <- sprintf("svycontrast(%s, <2026.%s = 1, 2025.%s = -1>)", m$cmd, dom, dom)
    add(case, dom, "estimate_a", m$coef[ia], m$cmd)
    add(case, dom, "estimate_b", m$coef[ib], m$cmd)
    add(case, dom, "difference", r$estimate, cmd)
    for (q in c("se", "ci_low", "ci_high", "p_value")) add(case, dom, q, r[[q]], cmd)
    add(case, dom, "df", r$df, sprintf("degf(%s)", design_name))
  }
}

# ---------------------------------------------------------------------------------------
# Designs (as in survey_reference.R)
apistrat <- read_api("apistrat"); apiclus1 <- read_api("apiclus1")
apiclus2 <- read_api("apiclus2"); apipop <- read_api("apipop")
for (nm in c("apistrat", "apiclus1", "apiclus2")) {
  d <- get(nm)
  d$sw <- as.numeric(d$sch.wide == "Yes")
  assign(nm, d)
}
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
pop_stype <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop_schwide <- as.data.frame(table(sch.wide = apipop$sch.wide))
pop_awards <- as.data.frame(table(awards = apipop$awards))
rk1 <- calibrate(dclus1, list(~stype, ~sch.wide), list(pop_stype, pop_schwide),
                 calfun = "raking", epsilon = 1e-13, maxit = 200)
rkstrat <- calibrate(dstrat, list(~sch.wide, ~awards), list(pop_schwide, pop_awards),
                     calfun = "raking", epsilon = 1e-13, maxit = 200)
jkstrat <- as.svrepdesign(dstrat, type = "JKn")
bw <- as.matrix(read.csv(file.path(script_dir, "bootstrap_apistrat.csv")))
bsstrat <- svrepdesign(data = apistrat, repweights = bw, weights = ~pw, combined.weights = FALSE,
                       type = "other", scale = 1 / (ncol(bw) - 1), rscales = rep(1, ncol(bw)),
                       mse = FALSE)

nt <- read.csv(file.path(script_dir, "nantong_sample.csv"), encoding = "UTF-8",
               stringsAsFactors = FALSE)
dnt <- svydesign(ids = ~community, strata = ~district, fpc = ~fpc, weights = ~weight,
                 nest = TRUE, data = nt)
sex_pop <- data.frame(sex = c("男", "女"), Freq = c(3900000, 3826635))
age_pop <- data.frame(age_group = c("18-34", "35-59", "60+"), Freq = c(2000000, 3300000, 2426635))
rknt <- calibrate(dnt, list(~sex, ~age_group), list(sex_pop, age_pop), calfun = "raking",
                  epsilon = 1e-13, maxit = 200)
jknt <- as.svrepdesign(dnt, type = "JKn")
jkrknt <- calibrate(jknt, list(~sex, ~age_group), list(sex_pop, age_pop), calfun = "raking",
                    epsilon = 1e-13, maxit = 200)
bnw <- as.matrix(read.csv(file.path(script_dir, "bootstrap_nantong.csv")))
bsnt <- svrepdesign(data = nt, repweights = bnw, weights = ~weight, combined.weights = FALSE,
                    type = "other", scale = 1 / (ncol(bnw) - 1), rscales = rep(1, ncol(bnw)),
                    mse = FALSE)

# Two waves stacked: strata wave x district, PSUs wave x community, each wave raked to its
# own margins in rkw (calibration cells wave x category).
st <- read.csv(file.path(script_dir, "waves_sample.csv"), encoding = "UTF-8",
               stringsAsFactors = FALSE)
st$wstr <- paste(st$wave, st$district, sep = "|")
st$wpsu <- paste(st$wave, st$community, sep = "|")
st$wsex <- paste(st$wave, st$sex, sep = "|")
st$wage <- paste(st$wave, st$age_group, sep = "|")
dw <- svydesign(ids = ~wpsu, strata = ~wstr, fpc = ~fpc, weights = ~weight, nest = TRUE, data = st)
wsex_pop <- data.frame(wsex = c("2025|男", "2025|女", "2026|男", "2026|女"),
                       Freq = c(3900000, 3826635, 3950000, 3850000))
wage_pop <- data.frame(wage = c("2025|18-34", "2025|35-59", "2025|60+",
                                "2026|18-34", "2026|35-59", "2026|60+"),
                       Freq = c(2000000, 3300000, 2426635, 1950000, 3350000, 2500000))
rkw <- calibrate(dw, list(~wsex, ~wage), list(wsex_pop, wage_pop), calfun = "raking",
                 epsilon = 1e-13, maxit = 200)
jkw <- as.svrepdesign(dw, type = "JKn")
for (dn in c("dw", "rkw", "jkw")) add(paste0("waves/", dn, "/degf"), "all", "df",
                                      degf(get(dn)), sprintf("degf(%s)", dn))

# ---------------------------------------------------------------------------------------
# Covariances of domain estimates
vcov_case("dstrat", "svymean", "api00", "stype")
vcov_case("dclus1", "svymean", "api00", "stype")
vcov_case("dclus1", "svytotal", "enroll", "stype")
vcov_case("dclus1", "svymean", "sw", "stype")
vcov_case("dclus2", "svymean", "api00", "stype")
vcov_case("rk1", "svymean", "api00", "stype")
vcov_case("rkstrat", "svymean", "api00", "awards")
vcov_case("jkstrat", "svymean", "api00", "awards")
vcov_case("bsstrat", "svymean", "api00", "awards")
vcov_case("dnt", "svymean", "score", "district")
vcov_case("dnt", "svymean", "income", "district")
vcov_case("dnt", "svymean", "satisfied", "sex")
vcov_case("rknt", "svymean", "score", "district")
vcov_case("jknt", "svymean", "score", "district")
vcov_case("jkrknt", "svymean", "score", "sex")
vcov_case("bsnt", "svymean", "score", "district")
vcov_freq_case("dnt", "q1")
vcov_freq_case("jknt", "q1")

# Lonely PSU rule "average": vcov (the design's count of strata with a lonely PSU) has a
# diagonal other than each domain's SE^2 (the domain's count), in R as here.
ntl <- nt[!(nt$district == "开发区" & nt$community != "C01"), ]
options(survey.lonely.psu = "average")
dlonely_average <- svydesign(ids = ~community, strata = ~district, fpc = ~fpc, weights = ~weight,
                             nest = TRUE, data = ntl)
vcov_case("dlonely_average", "svymean", "score", "district")
vcov_case("dlonely_average", "svymean", "score", "sex")
compare_case("dlonely_average", "mean", "score", "sex")
options(survey.lonely.psu = "fail")

# Contrasts
contrast_case("dclus1", "api00", "stype", "E", "H")
contrast_case("rk1", "api00", "stype", "E", "M")
contrast_case("dnt", "score", "district", "崇川区", "海门区")
contrast_case("jknt", "score", "district", "崇川区", "海门区")
contrast_case("bsnt", "income", "district", "崇川区", "海门区")

# Domain comparisons
compare_case("dstrat", "mean", "api00", "stype")
compare_case("dclus1", "mean", "api00", "stype")
compare_case("dclus1", "proportion", "sw", "stype")
compare_case("dclus2", "mean", "api00", "stype")
compare_case("rk1", "mean", "api00", "stype")
compare_case("rkstrat", "mean", "api00", "awards")
compare_case("jkstrat", "mean", "api00", "stype")
compare_case("bsstrat", "mean", "api00", "stype")
compare_case("dnt", "mean", "score", "district")
compare_case("dnt", "mean", "score", "district", adjust = "BH")
compare_case("dnt", "mean", "score", "district", adjust = "bonferroni")
compare_case("dnt", "mean", "income", "district")
compare_case("dnt", "proportion", "satisfied", "district")
compare_case("rknt", "mean", "score", "district")
compare_case("jknt", "mean", "score", "district")
compare_case("jknt", "mean", "income", "district")
compare_case("bsnt", "mean", "score", "district")
compare_case("jkrknt", "proportion", "satisfied", "district")
compare_case("dclus1", "mean", "api00", "stype", reference = "E")
compare_case("dnt", "mean", "score", "district", reference = "崇川区")
compare_case("rknt", "proportion", "satisfied", "district", reference = "崇川区")
compare_case("jknt", "proportion", "satisfied", "district", reference = "崇川区")
compare_case("bsnt", "mean", "score", "district", reference = "崇川区", adjust = "BH")

# Wave changes
for (dn in c("dw", "rkw", "jkw")) {
  wave_case(dn, "mean", "score")
  wave_case(dn, "proportion", "satisfied")
  wave_case(dn, "mean", "score", "district")
}
wave_case("dw", "mean", "income")
wave_case("dw", "proportion", "satisfied", "sex")
wave_case("jkw", "mean", "income", "district")

out <- do.call(rbind, rows)
out$value <- sprintf("%.17g", out$value)
write.csv(out, out_file, row.names = FALSE, fileEncoding = "UTF-8")
