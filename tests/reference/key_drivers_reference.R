# Reference values for analysis.drivers.key_drivers (base R only; relaimpo is not used).
#
# Data: R's built-in `swiss`; model Fertility ~ Agriculture + Examination + Education +
# Catholic + Infant.Mortality, unweighted and with weights w = 1 + (seq_len(n) %% 3).
#   * LMG (relaimpo::calc.relimp(type = "lmg")): each driver's increase in R^2 when it enters
#     the model, averaged over all orderings of the drivers; every R^2 comes from a fit of
#     lm(..., weights = w) -- independent of the correlation-matrix route Python takes.
#   * Johnson's (2000) relative weights from eigen() of the weighted correlation matrix.
#   * The weighted means of the drivers (the "performance" before rescaling).
# The data themselves are written too (case "data/swiss"), so that Python reads exactly R's
# `swiss`.  Run from the project root: Rscript tests/reference/key_drivers_reference.R
# Output: tests/reference/key_drivers_reference.csv (case, driver, quantity, value, r_command).

outcome <- "Fertility"
drivers <- c("Agriculture", "Examination", "Education", "Catholic", "Infant.Mortality")
n <- nrow(swiss)
p <- length(drivers)
num <- function(x) format(x, digits = 17)

rows <- list()
add <- function(case, driver, quantity, value, cmd) {
  rows[[length(rows) + 1]] <<- data.frame(case = case, driver = driver, quantity = quantity,
                                           value = num(value), r_command = cmd,
                                           stringsAsFactors = FALSE)
}

for (v in c(outcome, drivers)) {
  for (i in seq_len(n)) {
    add("data/swiss", v, rownames(swiss)[i], swiss[[v]][i], sprintf("swiss[[\"%s\"]][%d]", v, i))
  }
}

r2_of <- function(subset, w) {
  if (length(subset) == 0) return(0)
  f <- reformulate(subset, response = outcome)
  summary(lm(f, data = swiss, weights = w))$r.squared
}

orderings <- function(x) {
  if (length(x) <= 1) return(list(x))
  out <- list()
  for (i in seq_along(x)) for (rest in orderings(x[-i])) out[[length(out) + 1]] <- c(x[i], rest)
  out
}

cases <- list(
  "swiss/unweighted" = list(w = rep(1, n), wtext = "rep(1, nrow(swiss))"),
  "swiss/weighted" = list(w = 1 + (seq_len(n) %% 3), wtext = "1 + (seq_len(nrow(swiss)) %% 3)")
)

for (case in names(cases)) {
  w <- cases[[case]]$w
  wtext <- cases[[case]]$wtext
  # R^2 of every subset, keyed by the sorted driver names
  key <- function(s) paste(sort(s), collapse = "+")
  r2 <- list()
  for (k in 0:p) {
    for (s in if (k == 0) list(character(0)) else combn(drivers, k, simplify = FALSE)) {
      r2[[if (k == 0) "(none)" else key(s)]] <- r2_of(s, w)
    }
  }
  lmg <- setNames(numeric(p), drivers)
  perms <- orderings(drivers)
  for (o in perms) {
    for (i in seq_along(o)) {
      before <- if (i == 1) "(none)" else key(o[seq_len(i - 1)])
      lmg[o[i]] <- lmg[o[i]] + r2[[key(o[seq_len(i)])]] - r2[[before]]
    }
  }
  lmg <- lmg / length(perms)
  cmd_lmg <- sprintf(paste0("mean over all %d orderings of the gain in summary(lm(Fertility ~ ",
                            "<drivers before and with it>, swiss, weights = %s))$r.squared ",
                            "(relaimpo::calc.relimp(type = \"lmg\"))"), length(perms), wtext)
  full_r2 <- r2[[key(drivers)]]
  add(case, "(model)", "r2", full_r2,
      sprintf("summary(lm(Fertility ~ ., swiss, weights = %s))$r.squared", wtext))
  for (d in drivers) add(case, d, "lmg", lmg[[d]], cmd_lmg)

  cw <- cov.wt(swiss[, c(drivers, outcome)], wt = w / sum(w), cor = TRUE)$cor
  e <- eigen(cw[drivers, drivers], symmetric = TRUE)
  lam <- e$vectors %*% diag(sqrt(e$values)) %*% t(e$vectors)
  beta <- solve(lam, cw[drivers, outcome])
  rw <- as.vector((lam^2) %*% beta^2)
  cmd_rw <- sprintf(paste0("cw <- cov.wt(swiss, wt = w/sum(w), cor = TRUE)$cor, w = %s; ",
                           "e <- eigen(cw[X, X]); L <- V diag(sqrt(values)) V'; ",
                           "((L^2) %%*%% solve(L, cw[X, \"Fertility\"])^2)"), wtext)
  for (j in seq_len(p)) add(case, drivers[j], "relative_weight", rw[j], cmd_rw)
  for (d in drivers) {
    add(case, d, "weighted_mean", weighted.mean(swiss[[d]], w),
        sprintf("weighted.mean(swiss[[\"%s\"]], %s)", d, wtext))
  }
}

out <- do.call(rbind, rows)
args <- commandArgs(trailingOnly = TRUE)
target <- if (length(args) >= 1) args[1] else "tests/reference/key_drivers_reference.csv"
write.csv(out, target, row.names = FALSE, fileEncoding = "UTF-8")
