"""End-to-end tests: the emulator's stage page in a real (headless Debian) Chromium."""
