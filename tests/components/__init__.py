"""Tests of the Home Assistant integration, against the ZEGO emulator over loopback."""
