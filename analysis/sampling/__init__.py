"""Sample design: sample sizes, allocation across districts, PPS selection of PSUs.

The inclusion probabilities of the selection become the design weights of the analysis:
``select_psus(...).assignments()`` gives the field staff's list with ``pi_psu``,
``pi_within``, ``design_weight`` and ``fpc``, and :func:`attach_design_weights` puts them
on the interviews.
"""
from analysis.sampling._common import SamplingError
from analysis.sampling.allocation import ALLOCATION_METHODS, Allocation, AllocationMethod, allocate
from analysis.sampling.selection import (
    ASSIGNMENT_COLUMNS,
    FrameOrder,
    PSUSelection,
    attach_design_weights,
    check_frame,
    pps_inclusion_probabilities,
    read_frame,
    select_psus,
    systematic_sample,
)
from analysis.sampling.size import (
    SampleSize,
    design_effect,
    margin_of_error_mean,
    margin_of_error_proportion,
    sample_size_mean,
    sample_size_proportion,
    sample_size_target_mean,
    sample_size_target_proportion,
)

__all__ = [
    "ALLOCATION_METHODS",
    "ASSIGNMENT_COLUMNS",
    "Allocation",
    "AllocationMethod",
    "FrameOrder",
    "PSUSelection",
    "SampleSize",
    "SamplingError",
    "allocate",
    "attach_design_weights",
    "check_frame",
    "design_effect",
    "margin_of_error_mean",
    "margin_of_error_proportion",
    "pps_inclusion_probabilities",
    "read_frame",
    "sample_size_mean",
    "sample_size_proportion",
    "sample_size_target_mean",
    "sample_size_target_proportion",
    "select_psus",
    "systematic_sample",
]
