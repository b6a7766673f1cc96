"""Performance benchmark of the analysis against R's survey package and svy (see README.md)."""
