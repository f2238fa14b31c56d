"""The DescribeEmulator probe: the emulator says so itself; anything else means ZEGO."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from custom_components.zego_digital_human.client import EmulatorPreview
from zego_emulator import Fault

if TYPE_CHECKING:
    from custom_components.zego_digital_human.client import ZegoClient
    from zego_emulator import ZegoEmulator


async def test_the_emulator_describes_its_preview(
    client: ZegoClient, emulator: ZegoEmulator
) -> None:
    preview = await client.probe_emulator()
    assert preview == EmulatorPreview(
        feed_url="ws" + emulator.endpoint.removeprefix("http") + "/preview/feed",
        face_url=emulator.endpoint + "/preview/face.svg",
    )


@pytest.mark.parametrize(
    "fault",
    [
        Fault.zego(100000007, "Action 'DescribeEmulator' is not supported"),  # ZEGO's answer
        Fault.zego(100000005, "Signature invalid"),
        Fault.http(502),
        Fault.zego(400010002, "System busy"),
    ],
    ids=["unknown_action", "bad_signature", "http_502", "busy"],
)
async def test_anything_but_the_emulators_answer_means_zego(
    client: ZegoClient, emulator: ZegoEmulator, fault: Fault
) -> None:
    fault.action = "DescribeEmulator"
    emulator.faults.add(fault)
    assert await client.probe_emulator() is None
    # One attempt only: the probe never retries.
    assert sum(1 for r in emulator.requests if r.action == "DescribeEmulator") == 1


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"Emulator": "yes", "PreviewFeedUrl": "ws://h/f", "PreviewFaceUrl": "http://h/f.svg"},
        {"Emulator": True, "PreviewFeedUrl": "http://h/f", "PreviewFaceUrl": "http://h/f.svg"},
        {"Emulator": True, "PreviewFeedUrl": "ws://h/f", "PreviewFaceUrl": "javascript:alert(1)"},
        {"Emulator": True, "PreviewFeedUrl": "ws:///nohost", "PreviewFaceUrl": "http://h/f"},
        {"Emulator": True, "PreviewFeedUrl": 7, "PreviewFaceUrl": "http://h/f"},
    ],
)
def test_odd_answers_are_not_believed(data: dict[str, Any]) -> None:
    assert EmulatorPreview.from_api(data) is None
