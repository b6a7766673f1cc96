# Reference values for pass rates of inspection samples (tests/analysis/test_passrates.py).
#
# Run from the project root (Debian: apt-get install r-cran-survey):
#     Rscript tests/reference/passrates_reference.R [output.csv]
# It writes tests/reference/passrates_reference.csv (or the given file) in the format of
# survey_reference.R: columns case, domain, quantity, value, r_command.
#
# Exact (Clopper-Pearson) intervals of simple random samples: binom.test(x, n)$conf.int, at
# 0 and 1 failures among others.  Design-based intervals: svyciprop(method = "beta") on the
# synthetic stratified, weighted sample tests/reference/passrates_sample.csv (made by
# make_passrates_sample.py), overall and per category; a category that passed every sample
# has a zero design variance, where R's interval is NaN, so for the equal-weight category
# (iodised salt) binom.test(n, n) is stored instead: the project's interval there.  Then each
# category with failures as a design of its own records (beta_own_design), as the app computes an
# inspection target's pass rate.

suppressMessages(library(survey))
invisible(Sys.setlocale("LC_ALL", "C.UTF-8"))
options(survey.lonely.psu = "fail", digits = 15, warn = 1)

args <- commandArgs(trailingOnly = TRUE)
script_dir <- "tests/reference"
out_file <- if (length(args) >= 1) args[1] else file.path(script_dir, "passrates_reference.csv")

rows <- list()
add <- function(case, domain, quantity, value, cmd) {
  rows[[length(rows) + 1]] <<- data.frame(case = case, domain = as.character(domain),
                                          quantity = quantity, value = as.numeric(value),
                                          r_command = cmd, stringsAsFactors = FALSE)
}

# -- exact intervals ---------------------------------------------------------------------
exact_cases <- list(c(0, 1), c(0, 10), c(0, 59), c(1, 60), c(0, 300), c(1, 300), c(3, 100),
                    c(47, 50), c(95, 100), c(9, 10), c(12, 40))   # (failed, n)
for (level in c(0.95, 0.9)) {
  for (fc in exact_cases) {
    failed <- fc[1]; n <- fc[2]; passed <- n - failed
    cmd <- sprintf("binom.test(%d, %d, conf.level = %s)$conf.int", passed, n, format(level))
    ci <- eval(parse(text = cmd))
    case <- sprintf("exact/level=%s", format(level))
    domain <- sprintf("%d/%d", passed, n)
    add(case, domain, "estimate", passed / n, sprintf("%d / %d", passed, n))
    add(case, domain, "ci_low", ci[1], cmd)
    add(case, domain, "ci_high", ci[2], cmd)
  }
}

# -- design-based intervals -----------------------------------------------------------------
d <- read.csv(file.path(script_dir, "passrates_sample.csv"), stringsAsFactors = FALSE)
des <- svydesign(ids = ~1, strata = ~district, weights = ~weight, data = d)
design_cmd <- 'svydesign(ids = ~1, strata = ~district, weights = ~weight, data = d)'
for (level in c(0.95, 0.9)) {
  case <- sprintf("beta/level=%s", format(level))
  domains <- c("all", sort(unique(d$category)))
  for (domain in domains) {
    sub <- if (domain == "all") "des" else sprintf('subset(des, category == "%s")', domain)
    p <- coef(eval(parse(text = sprintf("svymean(~passed, %s)", sub))))[1]
    if (p > 0 && p < 1) {
      cmd <- sprintf('svyciprop(~passed, %s, method = "beta", level = %s); des <- %s', sub, format(level),
                     design_cmd)
      est <- eval(parse(text = sprintf('svyciprop(~passed, %s, method = "beta", level = %s)', sub,
                                       format(level))))
      ci <- attr(est, "ci")
      add(case, domain, "estimate", p, sprintf("coef(svymean(~passed, %s))", sub))
      add(case, domain, "ci_low", ci[1], cmd)
      add(case, domain, "ci_high", ci[2], cmd)
    } else if (domain == "iodised_salt") {
      n <- sum(d$category == domain)
      cmd <- sprintf("binom.test(%d, %d, conf.level = %s)$conf.int  # equal weights: Kish n = n", n, n,
                     format(level))
      ci <- binom.test(n, n, conf.level = level)$conf.int
      add(case, domain, "estimate", p, sprintf("coef(svymean(~passed, %s))", sub))
      add(case, domain, "ci_low", ci[1], cmd)
      add(case, domain, "ci_high", ci[2], cmd)
    }
  }
}

# Each category as a sample of its own (an inspection programme per category), as the app
# computes a category's pass rate: a design of that category's records only.
for (category in sort(unique(d$category))) {
  p <- mean(d$passed[d$category == category] * 1)
  if (p <= 0 || p >= 1) next
  design_expr <- sprintf('svydesign(ids = ~1, strata = ~district, weights = ~weight, data = d[d$category == "%s", ])',
                         category)
  cmd <- sprintf('svyciprop(~passed, %s, method = "beta")', design_expr)
  est <- eval(parse(text = cmd))
  ci <- attr(est, "ci")
  add("beta_own_design/level=0.95", category, "estimate", coef(est)[1], cmd)
  add("beta_own_design/level=0.95", category, "ci_low", ci[1], cmd)
  add("beta_own_design/level=0.95", category, "ci_high", ci[2], cmd)
}

out <- do.call(rbind, rows)
write.csv(out, out_file, row.names = FALSE, fileEncoding = "UTF-8")
