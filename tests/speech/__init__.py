"""Tests of the speech path: WAV/ffmpeg units, the queue, and end to end against the emulator."""
