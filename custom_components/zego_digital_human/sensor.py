"""Sensors of an avatar: its state, its stream task and diagnostics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfTime

from .const import ATTR_FAIL_REASON, ATTR_ROOM_ID, ATTR_STREAM_ID, AvatarState, StreamStatus
from .entity import ZegoAvatarEntity, async_add_avatar_entities

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .coordinator import AvatarSnapshot, ZegoConfigEntry

# Read-only: everything comes from the coordinator.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class ZegoSensorEntityDescription(SensorEntityDescription):
    """How a sensor reads the avatar snapshot."""

    value_fn: Callable[[AvatarSnapshot], str | float | None]
    attributes_fn: Callable[[AvatarSnapshot], Mapping[str, Any]] | None = None


def _stream_attributes(snapshot: AvatarSnapshot) -> Mapping[str, Any]:
    # A kiosk page needs the room and stream to play the avatar's video.
    return {
        ATTR_ROOM_ID: snapshot.room_id,
        ATTR_STREAM_ID: snapshot.stream_id,
        ATTR_FAIL_REASON: snapshot.fail_reason,
    }


DESCRIPTIONS: tuple[ZegoSensorEntityDescription, ...] = (
    ZegoSensorEntityDescription(
        key="avatar_state",
        translation_key="avatar_state",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in AvatarState],
        value_fn=lambda snapshot: snapshot.state.value,
    ),
    ZegoSensorEntityDescription(
        key="stream_status",
        translation_key="stream_status",
        device_class=SensorDeviceClass.ENUM,
        options=[status.value for status in StreamStatus],
        value_fn=lambda snapshot: snapshot.stream_status.value,
        attributes_fn=_stream_attributes,
    ),
    ZegoSensorEntityDescription(
        key="task_id",
        translation_key="task_id",
        entity_category=EntityCategory.DIAGNOSTIC,
        # Changes with every new task; useful for support, noise in the history.
        entity_registry_enabled_default=False,
        value_fn=lambda snapshot: snapshot.task_id,
    ),
    ZegoSensorEntityDescription(
        key="last_error",
        translation_key="last_error",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.last_error,
    ),
    ZegoSensorEntityDescription(
        key="time_to_first_audio",
        translation_key="time_to_first_audio",
        entity_category=EntityCategory.DIAGNOSTIC,
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_display_precision=2,
        value_fn=lambda snapshot: snapshot.last_ttfa,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZegoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors of every avatar, each to its own subentry."""
    async_add_avatar_entities(
        hass,
        entry,
        async_add_entities,
        lambda coordinator, _speech: (
            ZegoSensorEntity(coordinator, description) for description in DESCRIPTIONS
        ),
    )


class ZegoSensorEntity(ZegoAvatarEntity, SensorEntity):
    """A sensor of an avatar."""

    entity_description: ZegoSensorEntityDescription

    @property
    def native_value(self) -> str | float | None:
        """Return the sensor's value."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """Return the attributes (room and stream of the stream status sensor)."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(self.coordinator.data)
