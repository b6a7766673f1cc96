"""Replicate-weight variance estimation (JKn jackknife, Rao-Wu bootstrap).

:class:`ReplicateDesign` lives in :mod:`analysis.design.replicate` (the design) and
:mod:`analysis.design.replication` (the variance engine and the replicate weights); this
module keeps the import path ``analysis.replicates.ReplicateDesign``.
"""
from .design.replicate import ReplicateDesign

__all__ = ["ReplicateDesign"]
