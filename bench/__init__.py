"""Guichet benchmarks (``make bench``): ratios measured in one run on this machine."""
