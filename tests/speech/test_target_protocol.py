"""The core's AvatarCoordinator is a SpeechTarget (checked by mypy; members checked here)."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

import pytest

from custom_components.zego_digital_human.coordinator import AvatarCoordinator
from custom_components.zego_digital_human.data import AvatarConfig

if TYPE_CHECKING:
    from custom_components.zego_digital_human.speech import SpeechConfig, SpeechTarget


def _as_target(coordinator: AvatarCoordinator) -> SpeechTarget:
    """Fails type checking (mypy) if the coordinator stops matching the protocol."""
    return coordinator


def _as_config(config: AvatarConfig) -> SpeechConfig:
    """Fails type checking (mypy) if the avatar settings stop matching the protocol."""
    return config


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """No hass needed (overrides the package-wide autouse fixture)."""


def test_coordinator_has_every_member() -> None:
    for name in ("ensure_streaming", "set_speaking", "record_ttfa", "record_error",
                 "fire_speech_event", "register_interrupt_handler"):  # fmt: skip
        assert callable(getattr(AvatarCoordinator, name)), name
    assert inspect.iscoroutinefunction(AvatarCoordinator.ensure_streaming)
    fields = AvatarConfig.__dataclass_fields__
    for name in ("name", "sample_rate", "tts_engine", "language", "voice_options",
                 "overlap_policy"):  # fmt: skip
        assert name in fields, name
