"""Sensors of an avatar: its state, its stream task and diagnostics."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfTime

from .const import ATTR_FAIL_REASON, ATTR_ROOM_ID, ATTR_STREAM_ID, AvatarState, StreamStatus
from .entity import ZegoAvatarEntity, async_add_avatar_entities
from .usage import AvatarUsage, UsageKey

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .coordinator import AvatarCoordinator, AvatarSnapshot, ZegoConfigEntry

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

# What the avatar costs (usage.py): totals that only grow, for long-term statistics.
USAGE_DESCRIPTIONS: tuple[SensorEntityDescription, ...] = (
    SensorEntityDescription(
        key=UsageKey.STREAM_TIME,
        translation_key=UsageKey.STREAM_TIME,
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        # ZEGO bills stream minutes.
        suggested_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=1,
    ),
    SensorEntityDescription(
        key=UsageKey.DRIVES,
        translation_key=UsageKey.DRIVES,
        state_class=SensorStateClass.TOTAL_INCREASING,
    ),
    SensorEntityDescription(
        key=UsageKey.AUDIO_SENT,
        translation_key=UsageKey.AUDIO_SENT,
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_display_precision=0,
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
        lambda coordinator, _speech: [
            *(ZegoSensorEntity(coordinator, description) for description in DESCRIPTIONS),
            *_usage_sensors(hass, coordinator),
        ],
    )


def _usage_sensors(hass: HomeAssistant, coordinator: AvatarCoordinator) -> list[ZegoUsageSensor]:
    """The avatar's usage totals; the counter runs while its sensors exist."""
    usage = AvatarUsage(hass, coordinator)
    usage.async_start()
    return [ZegoUsageSensor(coordinator, usage, desc) for desc in USAGE_DESCRIPTIONS]


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


class ZegoUsageSensor(ZegoAvatarEntity, RestoreSensor):
    """A usage total of an avatar; restores the last total so restarts never reset it."""

    def __init__(
        self,
        coordinator: AvatarCoordinator,
        usage: AvatarUsage,
        description: SensorEntityDescription,
    ) -> None:
        """Bind the sensor to the avatar's usage counter."""
        super().__init__(coordinator, description)
        self._usage = usage
        self._key = UsageKey(description.key)

    async def async_added_to_hass(self) -> None:
        """Restore the earlier total, then follow the counter."""
        await super().async_added_to_hass()
        last = await self.async_get_last_sensor_data()
        if last is not None and isinstance(last.native_value, int | float | Decimal):
            self._usage.restore(self._key, float(last.native_value))
        self.async_on_remove(self._usage.async_add_listener(self.async_write_ha_state))

    @property
    def available(self) -> bool:
        """Return True: a total is known even while ZEGO cannot be reached."""
        return True

    @property
    def native_value(self) -> float | int:
        """Return the total (drives as a whole number)."""
        value = self._usage.value(self._key)
        if self._key is UsageKey.DRIVES:
            return int(value)
        return round(value, 1)
