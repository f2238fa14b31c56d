"""Base entity of an avatar device."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import AvatarCoordinator

if TYPE_CHECKING:
    from homeassistant.helpers.entity import EntityDescription


def avatar_device_info(coordinator: AvatarCoordinator) -> DeviceInfo:
    """Return the device of an avatar: one per subentry, identified by its id."""
    return DeviceInfo(
        identifiers={(DOMAIN, coordinator.subentry_id)},
        name=coordinator.config.name,
        manufacturer="ZEGO",
        model="Digital Human",
        model_id=coordinator.config.digital_human_id,
        entry_type=DeviceEntryType.SERVICE,
    )


class ZegoAvatarEntity(CoordinatorEntity[AvatarCoordinator]):
    """An entity of one avatar; unique ids derive from the subentry id, stable for life."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: AvatarCoordinator, description: EntityDescription) -> None:
        """Bind the entity to its avatar and description."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.subentry_id}_{description.key}"
        self._attr_device_info = avatar_device_info(coordinator)
