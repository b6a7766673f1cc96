# Reference values from R's survey package for tests/analysis/test_calibrate.py:
# calibrate(design, formula, population, calfun =, bounds =) on linearised and replicate
# designs (GREG with categorical and continuous auxiliaries, linear, raking and logit
# calibration, bounded calibration) and the estimates and standard errors after it.
#
# Run from the project root (Debian: apt-get install r-cran-survey):
#     Rscript tests/reference/calibrate_reference.R [output.csv]
# It writes tests/reference/calibrate_reference.csv (or the given file) in the format of
# survey_reference.R: columns case, domain, quantity, value, r_command.  Cases are
# "<design>/<statistic>/<variable>[/<method>][/by=<column>]", "<design>/weights" (one row
# per data row) and "<design>/degf".
#
# Data: R's api data (copies in tests/reference/api/) and the bootstrap replicate factors
# tests/reference/bootstrap_apistrat.csv (see make_bootstrap_factors.py).

suppressMessages(library(survey))
invisible(Sys.setlocale("LC_ALL", "C.UTF-8"))
options(survey.lonely.psu = "fail", digits = 15, warn = 1)

args <- commandArgs(trailingOnly = TRUE)
script_dir <- "tests/reference"
api_dir <- file.path(script_dir, "api")
out_file <- if (length(args) >= 1) args[1] else file.path(script_dir, "calibrate_reference.csv")

read_api <- function(name) read.csv(file.path(api_dir, paste0(name, ".csv")), stringsAsFactors = FALSE)

rows <- list()
add <- function(case, domain, quantity, value, cmd) {
  rows[[length(rows) + 1]] <<- data.frame(case = case, domain = as.character(domain),
                                          quantity = quantity, value = as.numeric(value),
                                          r_command = cmd, stringsAsFactors = FALSE)
}

# A mean or total with its t interval on the design's (or domain's) degrees of freedom.
rec_stat <- function(case, domain, expr, df_expr) {
  est <- eval(parse(text = expr))
  df <- eval(parse(text = df_expr))
  ci <- confint(est, df = df)
  cmd <- sprintf("%s; confint(., df = %s)", expr, df_expr)
  add(case, domain, "estimate", coef(est)[1], cmd)
  add(case, domain, "se", SE(est)[1], cmd)
  add(case, domain, "ci_low", ci[1, 1], cmd)
  add(case, domain, "ci_high", ci[1, 2], cmd)
  add(case, domain, "df", df, df_expr)
}

# A svyciprop proportion (estimate: the exact ratio of svymean, as survey_reference.R).
rec_prop <- function(case, domain, var, design_expr, method, df_expr) {
  mean_expr <- sprintf("svymean(~%s, %s)", var, design_expr)
  p <- coef(eval(parse(text = mean_expr)))[1]
  expr <- sprintf('svyciprop(~%s, %s, method = "%s")', var, design_expr, method)
  est <- eval(parse(text = expr))
  ci <- confint(est)
  add(case, domain, "estimate", p, sprintf("coef(%s)", mean_expr))
  add(case, domain, "se", SE(est)[1], expr)
  add(case, domain, "ci_low", ci[1], expr)
  add(case, domain, "ci_high", ci[2], expr)
  add(case, domain, "df", eval(parse(text = df_expr)), df_expr)
}

subset_expr <- function(design_name, by, level) sprintf('subset(%s, %s == "%s")', design_name, by, level)

stat_cases <- function(case, design_name, fun, var, by = NULL) {
  if (is.null(by)) {
    rec_stat(case, "all", sprintf("%s(~%s, %s)", fun, var, design_name),
             sprintf("degf(%s)", design_name))
  } else {
    d <- get(design_name)
    levels <- sort(unique(d$variables[[by]][weights(d, "sampling") != 0]))
    for (lev in levels) {
      sub <- subset_expr(design_name, by, lev)
      rec_stat(case, lev, sprintf("%s(~%s, %s)", fun, var, sub), sprintf("degf(%s)", sub))
    }
  }
}

# Shares of every category of `var` ("category" or "domain|category" rows).
freq_cases <- function(case, design_name, var, by = NULL) {
  d <- get(design_name)
  doms <- if (is.null(by)) "all" else sort(unique(d$variables[[by]][weights(d, "sampling") != 0]))
  for (lev in doms) {
    dexpr <- if (is.null(by)) design_name else subset_expr(design_name, by, lev)
    expr <- sprintf("svymean(~factor(%s), %s)", var, dexpr)
    est <- eval(parse(text = expr))
    cats <- sub(sprintf("^factor\\(%s\\)", var), "", names(coef(est)))
    for (k in seq_along(cats)) {
      dom <- if (is.null(by)) cats[k] else paste(lev, cats[k], sep = "|")
      add(case, dom, "estimate", coef(est)[k], expr)
      add(case, dom, "se", SE(est)[k], expr)
    }
  }
}

# ---------------------------------------------------------------------------------------
apistrat <- read_api("apistrat"); apiclus1 <- read_api("apiclus1")
apiclus2 <- read_api("apiclus2"); apipop <- read_api("apipop")
for (nm in c("apistrat", "apiclus1", "apiclus2")) {
  d <- get(nm)
  d$aw <- as.numeric(d$awards == "Yes")
  d$yr <- as.numeric(d$yr.rnd == "Yes")
  assign(nm, d)
}
dstrat <- svydesign(ids = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
dclus1 <- svydesign(ids = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
dclus2 <- svydesign(ids = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)

N <- nrow(apipop)
api99_total <- sum(apipop$api99)
enroll_total <- sum(apipop$enroll, na.rm = TRUE)
n_stype <- table(apipop$stype)
n_schwide <- table(apipop$sch.wide)
pop_sa <- c(`(Intercept)` = N, stypeH = n_stype[["H"]], stypeM = n_stype[["M"]],
            api99 = api99_total)
pop_s <- pop_sa[1:3]
pop_multi <- c(pop_sa[1:3], sch.wideYes = n_schwide[["Yes"]], api99 = api99_total,
               enroll = enroll_total)
pop_stype <- data.frame(stype = c("E", "H", "M"), Freq = as.vector(n_stype[c("E", "H", "M")]))

lin_strat <- calibrate(dstrat, ~stype + api99, pop_sa)
rak_strat <- calibrate(dstrat, ~stype + api99, pop_sa, calfun = "raking")
lgt_strat <- calibrate(dstrat, ~stype + api99, pop_sa, calfun = "logit", bounds = c(0.7, 1.7))
lin_clus1 <- calibrate(dclus1, ~stype + api99, pop_sa)
rak_clus1 <- calibrate(dclus1, ~stype + api99, pop_sa, calfun = "raking")
lgt_clus1 <- calibrate(dclus1, ~stype + api99, pop_sa, calfun = "logit", bounds = c(0.7, 1.7))
blin_clus1 <- calibrate(dclus1, ~stype + api99, pop_sa, bounds = c(0.7, 1.7))
brak_clus1 <- calibrate(dclus1, ~stype + api99, pop_sa, calfun = "raking", bounds = c(0.6, 1.8))
cat_clus1 <- calibrate(dclus1, ~stype, pop_s)
multi_clus1 <- calibrate(dclus1, ~stype + sch.wide + api99 + enroll, pop_multi, calfun = "raking")
noint_clus1 <- calibrate(dclus1, ~api99 - 1, c(api99 = api99_total))
pscal1 <- calibrate(postStratify(dclus1, ~stype, pop_stype), ~api99, pop_sa[c(1, 4)])
lin_clus2 <- calibrate(dclus2, ~stype + api99, pop_sa)

# totals of enroll, except where it is an auxiliary or has missing values (apiclus2)
total_var <- function(dn) if (dn %in% c("multi_clus1", "lin_clus2", "bsrak_strat")) "api00" else "enroll"
lin_designs <- c("lin_strat", "rak_strat", "lgt_strat", "lin_clus1", "rak_clus1", "lgt_clus1",
                 "blin_clus1", "brak_clus1", "cat_clus1", "multi_clus1", "noint_clus1",
                 "pscal1", "lin_clus2")
for (dn in lin_designs) {
  stat_cases(paste0(dn, "/mean/api00"), dn, "svymean", "api00")
  stat_cases(paste0(dn, "/total/", total_var(dn)), dn, "svytotal", total_var(dn))
  stat_cases(paste0(dn, "/mean/api00/by=awards"), dn, "svymean", "api00", "awards")
  for (m in c("logit", "mean")) rec_prop(paste0(dn, "/prop/yr/", m), "all", "yr", dn, m,
                                         sprintf("degf(%s)", dn))
  w <- weights(get(dn))
  for (i in seq_along(w)) add(paste0(dn, "/weights"), i, "weight", w[i],
                              sprintf("weights(%s)", dn))
}

for (dn in c("rak_clus1", "lgt_strat", "pscal1")) {
  freq_cases(paste0(dn, "/freq/awards/by=stype"), dn, "awards", "stype")
}

# Replicate designs: calibrated in every replicate
jkstrat <- as.svrepdesign(dstrat, type = "JKn")
jkclus1 <- as.svrepdesign(dclus1, type = "JK1")
bw <- as.matrix(read.csv(file.path(script_dir, "bootstrap_apistrat.csv")))
bsstrat <- svrepdesign(data = apistrat, repweights = bw, weights = ~pw, combined.weights = FALSE,
                       type = "other", scale = 1 / (ncol(bw) - 1), rscales = rep(1, ncol(bw)),
                       mse = FALSE)
jklin_strat <- calibrate(jkstrat, ~stype + api99, pop_sa)
jkrak_strat <- calibrate(jkstrat, ~stype + api99, pop_sa, calfun = "raking")
jklgt_strat <- calibrate(jkstrat, ~stype + api99, pop_sa, calfun = "logit", bounds = c(0.7, 1.7))
jklin_clus1 <- calibrate(jkclus1, ~stype + api99, pop_sa)
jkcat_clus1 <- calibrate(jkclus1, ~stype, pop_s, calfun = "raking")
bslin_strat <- calibrate(bsstrat, ~stype + api99, pop_sa, compress = FALSE)
bsblin_strat <- calibrate(bsstrat, ~stype + api99, pop_sa, bounds = c(0.7, 1.7), compress = FALSE)
bsrak_strat <- calibrate(bsstrat, ~stype + api99 + enroll, pop_multi[c(1:3, 5:6)],
                         calfun = "raking", compress = FALSE)
rep_designs <- c("jklin_strat", "jkrak_strat", "jklgt_strat", "jklin_clus1", "jkcat_clus1",
                 "bslin_strat", "bsblin_strat", "bsrak_strat")
for (dn in rep_designs) {
  stat_cases(paste0(dn, "/mean/api00"), dn, "svymean", "api00")
  stat_cases(paste0(dn, "/total/", total_var(dn)), dn, "svytotal", total_var(dn))
  stat_cases(paste0(dn, "/mean/api00/by=awards"), dn, "svymean", "api00", "awards")
  rec_prop(paste0(dn, "/prop/yr/logit"), "all", "yr", dn, "logit", sprintf("degf(%s)", dn))
  add(paste0(dn, "/degf"), "all", "df", degf(get(dn)), sprintf("degf(%s)", dn))
  w <- weights(get(dn), "sampling")
  for (i in seq_along(w)) add(paste0(dn, "/weights"), i, "weight", w[i],
                              sprintf('weights(%s, "sampling")', dn))
}

out <- do.call(rbind, rows)
out$value <- sprintf("%.17g", out$value)
write.csv(out, out_file, row.names = FALSE, fileEncoding = "UTF-8")
