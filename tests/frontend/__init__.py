"""Tests of the dashboard card's build (no Home Assistant needed)."""
