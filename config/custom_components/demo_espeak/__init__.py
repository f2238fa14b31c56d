"""Offline TTS for the demo only: espeak-ng as a legacy TTS provider.

configuration.yaml: `tts: - platform: demo_espeak`.

Not part of what HACS installs; scripts/develop uses it so speech works without a cloud engine.
"""
