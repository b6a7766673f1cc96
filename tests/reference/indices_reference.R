# Reference values for tests/analysis/test_indices.py: a fixed-weight satisfaction index is a
# linear function of its items' means, so its estimate and SE are svycontrast's of svymean.
#
# Run from the project root:  Rscript tests/reference/indices_reference.R [output.csv]
# Writes tests/reference/indices_reference.csv (case, domain, quantity, value, r_command).
#
# Data: the ECSI satisfaction data (tests/reference/ecsi/satisfaction.csv, 0-10 items) with a
# made-up design computed from the row number r = 0, 1, ... (the test builds the same):
# stratum = r %% 4, psu = r %/% 5 (nested in strata), weight = 1 + (r %% 7) / 3.

suppressMessages(library(survey))
options(digits = 15, survey.lonely.psu = "fail")
args <- commandArgs(trailingOnly = TRUE)
out_file <- if (length(args) >= 1) args[1] else "tests/reference/indices_reference.csv"

d <- read.csv("tests/reference/ecsi/satisfaction.csv", stringsAsFactors = FALSE)
r <- seq_len(nrow(d)) - 1
d$stratum <- r %% 4
d$psu <- r %/% 5
d$weight <- 1 + (r %% 7) / 3
des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, nest = TRUE, data = d)

rows <- list()
add <- function(case, domain, quantity, value, cmd) {
  rows[[length(rows) + 1]] <<- data.frame(case = case, domain = domain, quantity = quantity,
                                          value = as.numeric(value), r_command = cmd)
}

items <- c("expe1", "expe2", "expe3", "qual1", "qual2", "qual3")
# equal weights over two sub-indices (EXPE, QUAL), equal within: 1/6 each, scale 0-10
coef_equal <- setNames(rep(100 / 10 / 6, 6), items)
# fixed weights 0.7 (EXPE) and 0.3 (QUAL)
coef_fixed <- setNames(c(rep(0.7 / 3, 3), rep(0.3 / 3, 3)) * 100 / 10, items)
coef_expe <- setNames(c(rep(1 / 3, 3), rep(0, 3)) * 100 / 10, items)

formula <- ~expe1 + expe2 + expe3 + qual1 + qual2 + qual3
m <- svymean(formula, des)
for (case in c("equal", "fixed", "expe")) {
  cf <- switch(case, equal = coef_equal, fixed = coef_fixed, expe = coef_expe)
  cmd <- sprintf("svycontrast(svymean(%s, des), c(%s))", deparse(formula),
                 paste(sprintf("%s = %.15g", names(cf), cf), collapse = ", "))
  ct <- svycontrast(m, cf)
  add(case, "all", "estimate", coef(ct), cmd)
  add(case, "all", "se", SE(ct), cmd)
}
add("df", "all", "df", degf(des), "degf(des)")

b <- svyby(formula, ~gender, des, svymean, covmat = TRUE)
for (g in c("female", "male")) {
  for (case in c("equal", "fixed")) {
    cf <- switch(case, equal = coef_equal, fixed = coef_fixed)
    full <- setNames(rep(0, 12), paste(rep(c("female", "male"), 6),
                                       rep(items, each = 2), sep = ":"))
    full[paste(g, items, sep = ":")] <- cf
    cmd <- sprintf("svycontrast(svyby(%s, ~gender, des, svymean, covmat = TRUE), <%s coefficients of %s>)",
                   deparse(formula), case, g)
    ct <- svycontrast(b, full)
    add(paste0(case, "_by_gender"), g, "estimate", coef(ct), cmd)
    add(paste0(case, "_by_gender"), g, "se", SE(ct), cmd)
  }
  add("df_by_gender", g, "df", degf(subset(des, gender == g)), sprintf("degf(subset(des, gender == '%s'))", g))
}
write.csv(do.call(rbind, rows), out_file, row.names = FALSE, fileEncoding = "UTF-8")
