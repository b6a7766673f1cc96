# The toolbox benchmark's work in R's survey package (Lumley), called by bench/toolbox.py:
#     Rscript bench/peer_r_toolbox.R DIR WORKS REPEATS FORMULA
# DIR holds what toolbox.py writes: survey.csv (the rows), indicators.csv and levels.csv (as
# for bench/peer_r.R) and, for the bootstrap, factors.csv (the project's replicate
# multipliers, PSUs x replicates) and psu_rows.csv (each row's PSU: a row of factors.csv).
# WORKS is a comma-separated subset of median, ratio, glm, bootstrap; FORMULA the glm's.
# Writes DIR/r_estimates.csv (work, indicator, by, domain, estimate, se, ci_low, ci_high)
# and DIR/r_timings.csv (seconds and peak memory in bytes of every run), as peer_r.R does.
#
# Every work starts from the data frame and builds its design, as a statistician would:
#   median:    svyquantile(~wait_minutes, des, 0.5, ci=TRUE, interval.type="mean",
#                          qrule="math", na.rm=TRUE)
#   ratio:     svyratio(~complaints_resolved, ~complaints_made, des, na.rm=TRUE), confint
#              on degf(des)
#   glm:       svyglm(FORMULA, des, family=quasibinomial())
#   bootstrap: svrepdesign(repweights = factors[psu, ], weights=~weight,
#              combined.weights=FALSE, type="other", scale=1/(R-1), rscales=1), then the
#              target table of peer_r.R on it (svyciprop logit, svymean, svyby)
suppressMessages(library(survey))
options(survey.lonely.psu = "fail")

args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
works <- strsplit(args[2], ",")[[1]]
repeats <- as.integer(args[3])
formula <- as.formula(args[4])
level <- 0.95
inds <- read.csv(file.path(dir, "indicators.csv"), stringsAsFactors = FALSE)
levels_tab <- read.csv(file.path(dir, "levels.csv"), stringsAsFactors = FALSE,
                       colClasses = "character")
domains <- unique(levels_tab$variable)

status_bytes <- function(key) {
  line <- grep(paste0("^", key, ":"), readLines("/proc/self/status"), value = TRUE)
  as.numeric(gsub("[^0-9]", "", line)) * 1024
}
measure <- function(expr) {
  gc()
  writeLines("5", "/proc/self/clear_refs")
  rss0 <- status_bytes("VmRSS")
  t0 <- proc.time()
  value <- force(expr)
  t1 <- proc.time()
  list(value = value, wall = (t1 - t0)[["elapsed"]],
       cpu = (t1 - t0)[["user.self"]] + (t1 - t0)[["sys.self"]],
       peak_bytes = status_bytes("VmHWM") - rss0)
}

read <- measure({
  d <- read.csv(file.path(dir, "survey.csv"), stringsAsFactors = FALSE)
  if ("bootstrap" %in% works) {
    factors <- as.matrix(read.csv(file.path(dir, "factors.csv")))
    psu_row <- read.csv(file.path(dir, "psu_rows.csv"))$psu_row
  }
  d
})
for (v in domains) d[[v]] <- factor(d[[v]], levels = levels_tab$level[levels_tab$variable == v])

build <- function() {
  svydesign(ids = ~psu, strata = ~district, fpc = ~fpc, weights = ~weight, data = d)
}

rows <- function(work, indicator, est, se, lo, hi, by = "", domain = "all") {
  data.frame(work = work, indicator = indicator, by = by, domain = as.character(domain),
             estimate = as.numeric(est), se = as.numeric(se), ci_low = as.numeric(lo),
             ci_high = as.numeric(hi), stringsAsFactors = FALSE)
}

median_work <- function() {
  des <- build()
  q <- svyquantile(~wait_minutes, des, 0.5, ci = TRUE, interval.type = "mean",
                   qrule = "math", na.rm = TRUE)[[1]]
  rows("median", "wait_minutes", q[1, "quantile"], q[1, "se"], q[1, 2], q[1, 3])
}

ratio_work <- function() {
  des <- build()
  r <- svyratio(~complaints_resolved, ~complaints_made, des, na.rm = TRUE)
  ci <- confint(r, df = degf(des), level = level)
  rows("ratio", "complaints_resolved/complaints_made", coef(r), SE(r), ci[1, 1], ci[1, 2])
}

glm_work <- function() {
  des <- build()
  m <- svyglm(formula, des, family = quasibinomial())
  ci <- confint(m, level = level, ddf = m$df.residual)
  rows("glm", names(coef(m)), coef(m), SE(m), ci[, 1], ci[, 2])
}

target_table <- function(des) {
  out <- list()
  add <- function(ind, by, domain, est, se, lo, hi) {
    out[[length(out) + 1]] <<- rows("bootstrap", ind, est, se, lo, hi, by, domain)
  }
  for (k in seq_len(nrow(inds))) {
    v <- inds$name[k]
    f <- as.formula(paste0("~", v))
    if (inds$statistic[k] == "proportion") {
      r <- svyciprop(f, des, method = "logit", level = level, na.rm = TRUE)
      ci <- confint(r)
      add(v, "", "all", coef(r), SE(r), ci[1], ci[2])
      for (b in domains) {
        r <- svyby(f, as.formula(paste0("~", b)), des, svyciprop, method = "logit",
                   level = level, vartype = c("se", "ci"), na.rm = TRUE)
        add(v, b, r[[b]], coef(r), SE(r), r$ci_l, r$ci_u)
      }
    } else {
      m <- svymean(f, des, na.rm = TRUE)
      ci <- confint(m, df = degf(des), level = level)
      add(v, "", "all", coef(m), SE(m), ci[1, 1], ci[1, 2])
      for (b in domains) {
        r <- svyby(f, as.formula(paste0("~", b)), des, svymean, na.rm = TRUE)
        dfs <- sapply(as.character(r[[b]]),
                      function(l) degf(des[as.character(des$variables[[b]]) == l, ]))
        q <- qt((1 + level) / 2, dfs)
        add(v, b, r[[b]], coef(r), SE(r), coef(r) - q * SE(r), coef(r) + q * SE(r))
      }
    }
  }
  do.call(rbind, out)
}

bootstrap_work <- function() {
  R <- ncol(factors)
  des <- svrepdesign(data = d, repweights = factors[psu_row, ], weights = ~weight,
                     combined.weights = FALSE, type = "other", scale = 1 / (R - 1),
                     rscales = rep(1, R), mse = FALSE)
  target_table(des)
}

timings <- data.frame(work = "read", run = 1, wall = read$wall, cpu = read$cpu,
                      peak_bytes = read$peak_bytes)
results <- list()
for (work in works) {
  fn <- switch(work, median = median_work, ratio = ratio_work, glm = glm_work,
               bootstrap = bootstrap_work, stop("unknown work ", work))
  for (i in seq_len(repeats)) {
    run <- measure(fn())
    timings <- rbind(timings, data.frame(work = work, run = i, wall = run$wall, cpu = run$cpu,
                                         peak_bytes = run$peak_bytes))
  }
  results[[work]] <- run$value
}
write.csv(do.call(rbind, results), file.path(dir, "r_estimates.csv"), row.names = FALSE,
          fileEncoding = "UTF-8")
write.csv(timings, file.path(dir, "r_timings.csv"), row.names = FALSE)
cat(sprintf("survey %s, %s\n", packageVersion("survey"), R.version.string))
