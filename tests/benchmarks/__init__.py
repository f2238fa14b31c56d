"""Smoke test of the performance harness."""
