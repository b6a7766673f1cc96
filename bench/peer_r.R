# The benchmark's work in R's survey package (Lumley), called by bench/run.py:
#     Rscript bench/peer_r.R DIR WORKS REPEATS LEVEL TOL
# DIR holds the inputs run.py writes: survey.csv (the rows), indicators.csv (name, statistic),
# levels.csv (variable, level: the order of each domain variable's categories) and
# margins.csv (variable, category, total).  WORKS is "table", "rake" or "table,rake".
# Writes DIR/r_estimates.csv (the estimates of the last repeat, one row per indicator and
# domain) and DIR/r_timings.csv (seconds and peak memory in bytes of every run).
# Base R and the survey package only; Linux (memory from /proc).
#
# The calls are the idiomatic ones a statistician would write:
#   proportion: svyciprop(~y, des, method = "logit", na.rm = TRUE) and
#               svyby(~y, ~d, des, svyciprop, method = "logit", vartype = c("se", "ci"))
#   mean:       svymean(~y, des, na.rm = TRUE), svyby(~y, ~d, des, svymean, na.rm = TRUE) with
#               t intervals on each domain's degf (svyby's own confint uses the normal)
#   raking:     calibrate(des, list(~sex, ~age_group), pops, calfun = "raking")
suppressMessages(library(survey))
options(survey.lonely.psu = "fail")

args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
works <- strsplit(args[2], ",")[[1]]
repeats <- as.integer(args[3])
level <- as.numeric(args[4])
tol <- as.numeric(args[5])
inds <- read.csv(file.path(dir, "indicators.csv"), stringsAsFactors = FALSE)
levels_tab <- read.csv(file.path(dir, "levels.csv"), stringsAsFactors = FALSE,
                       colClasses = "character")
margins <- read.csv(file.path(dir, "margins.csv"), stringsAsFactors = FALSE,
                    colClasses = c("character", "character", "numeric"))
domains <- unique(levels_tab$variable)

# Wall and CPU seconds of an expression, and the peak resident memory above the start (the
# kernel's high-water mark, reset through /proc/self/clear_refs, as bench/run.py measures).
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

read <- measure(read.csv(file.path(dir, "survey.csv"), stringsAsFactors = FALSE))
d <- read$value
for (v in domains) d[[v]] <- factor(d[[v]], levels = levels_tab$level[levels_tab$variable == v])

build <- function() {
  svydesign(ids = ~psu, strata = ~district, fpc = ~fpc, weights = ~weight, data = d)
}

target_table <- function(des) {
  out <- list()
  add <- function(ind, by, domain, est, se, lo, hi, df) {
    out[[length(out) + 1]] <<- data.frame(indicator = ind, by = by, domain = as.character(domain),
                                          estimate = as.numeric(est), se = as.numeric(se),
                                          ci_low = as.numeric(lo), ci_high = as.numeric(hi),
                                          df = as.numeric(df), stringsAsFactors = FALSE)
  }
  for (k in seq_len(nrow(inds))) {
    v <- inds$name[k]
    f <- as.formula(paste0("~", v))
    if (inds$statistic[k] == "proportion") {
      r <- svyciprop(f, des, method = "logit", level = level, na.rm = TRUE)
      ci <- confint(r)
      add(v, "", "all", coef(r), SE(r), ci[1], ci[2], degf(des))
      for (b in domains) {
        r <- svyby(f, as.formula(paste0("~", b)), des, svyciprop, method = "logit",
                   level = level, vartype = c("se", "ci"), na.rm = TRUE)
        add(v, b, r[[b]], coef(r), SE(r), r$ci_l, r$ci_u, NA)
      }
    } else {
      m <- svymean(f, des, na.rm = TRUE)
      ci <- confint(m, df = degf(des), level = level)
      add(v, "", "all", coef(m), SE(m), ci[1, 1], ci[1, 2], degf(des))
      for (b in domains) {
        r <- svyby(f, as.formula(paste0("~", b)), des, svymean, na.rm = TRUE)
        dfs <- sapply(as.character(r[[b]]),
                      function(l) degf(des[as.character(des$variables[[b]]) == l, ]))
        q <- qt((1 + level) / 2, dfs)
        add(v, b, r[[b]], coef(r), SE(r), coef(r) - q * SE(r), coef(r) + q * SE(r), dfs)
      }
    }
  }
  do.call(rbind, out)
}

rake_design <- function(des) {
  vars <- unique(margins$variable)
  pops <- lapply(vars, function(v) {
    m <- margins[margins$variable == v, ]
    p <- data.frame(factor(m$category, levels = levels(d[[v]])), m$total)
    names(p) <- c(v, "Freq")
    p
  })
  forms <- lapply(vars, function(v) as.formula(paste0("~", v)))
  calibrate(des, forms, pops, calfun = "raking", epsilon = tol, maxit = 100)
}

timings <- data.frame(work = "read", run = 1, wall = read$wall, cpu = read$cpu,
                      peak_bytes = read$peak_bytes)
results <- list()
for (work in works) {
  for (i in seq_len(repeats)) {
    run <- if (work == "table") {
      measure(target_table(build()))
    } else if (work == "rake") {
      measure(target_table(rake_design(build())))
    } else {
      stop("unknown work ", work)
    }
    timings <- rbind(timings, data.frame(work = work, run = i, wall = run$wall, cpu = run$cpu,
                                         peak_bytes = run$peak_bytes))
  }
  results[[work]] <- cbind(run$value, work = work)
}
write.csv(do.call(rbind, results), file.path(dir, "r_estimates.csv"), row.names = FALSE)
write.csv(timings, file.path(dir, "r_timings.csv"), row.names = FALSE)
cat(sprintf("survey %s, %s\n", packageVersion("survey"), R.version.string))
