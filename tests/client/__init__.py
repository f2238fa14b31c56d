"""Tests of the HA-free ZEGO client, run against the local emulator."""
