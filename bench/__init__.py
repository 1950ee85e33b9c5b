"""Benchmarks: measured, never timed assertions."""
