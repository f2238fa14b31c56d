"""Tests that keep the demo (scripts/develop, config/, blueprints/) true."""
