"""The soak harness: a kiosk's simulated month against real HA and the emulator (scripts/soak)."""
