"""Tests of the ZEGO emulator itself."""
