"""Tests that run Home Assistant as its own process, with the environment's real frontend."""
