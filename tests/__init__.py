"""Tests for the ZEGO Digital Human integration, its client and the emulator."""
