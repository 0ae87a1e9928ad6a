"""Benchmarks of the site against this machine's raw database limits (`make bench`)."""
