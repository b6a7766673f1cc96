# Reference values for tests/analysis/test_sampling_selection.py: first-stage inclusion
# probabilities of PPS selection with certainty units, from R's `sampling` package
# (Tillé & Matei; Debian r-cran-sampling 2.9-2), independent of analysis/sampling.
#
# Frame: the Santa Clara schools of the API population (tests/reference/api/apipop.csv)
# with a known enrolment; strata = school type, measure of size = enrolment; the PSUs
# requested per stratum give certainty units in every stratum (six among the high schools).
#
# Regenerate from the project root:
#   Rscript tests/reference/sampling_inclusion_probabilities.R tests/reference/api/apipop.csv \
#     > tests/reference/sampling_inclusion_probabilities.csv
suppressPackageStartupMessages(library(sampling))
args <- commandArgs(trailingOnly = TRUE)
pop <- read.csv(args[1], colClasses = c(cds = "character"))
frame <- pop[pop$cname == "Santa Clara" & !is.na(pop$enroll), c("cds", "stype", "enroll")]
requested <- c(E = 100, M = 30, H = 24)
frame$requested <- requested[as.character(frame$stype)]
frame$pik <- NA_real_
for (h in names(requested)) {
  rows <- frame$stype == h
  frame$pik[rows] <- inclusionprobabilities(frame$enroll[rows], requested[[h]])
}
write.csv(frame, stdout(), row.names = FALSE)
