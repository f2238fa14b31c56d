"""Media ids and URLs through media_source and the real ffmpeg to the emulator's avatar."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components import tts
from homeassistant.components.media_source import (
    BrowseMediaSource,
    MediaSource,
    MediaSourceItem,
    PlayMedia,
    Unresolvable,
)
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockModule, mock_integration, mock_platform

from custom_components.zego_digital_human.const import SpeechEvent
from custom_components.zego_digital_human.speech import SpeechOutcome, WaitFor

from .audio import assert_same_pcm, best_correlation, message_pcm, tone
from .test_say import assert_clean, played
from .tts_engine import ENGINE, MP3_ENGINE

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from custom_components.zego_digital_human.speech import SpeechManager
    from zego_emulator import ZegoEmulator

    from .conftest import MediaServer, TestAvatar

MEDIA_DOMAIN = "speech_test_media"


class _TestMediaSource(MediaSource):
    """Resolves "<name>" to the media server's /<name>; "missing" does not resolve."""

    name = "Speech test media"

    def __init__(self, server: MediaServer) -> None:
        super().__init__(MEDIA_DOMAIN)
        self._server = server

    async def async_resolve_media(self, item: MediaSourceItem) -> PlayMedia:
        if item.identifier == "missing":
            raise Unresolvable("No such item")
        return PlayMedia(self._server.url(f"/{item.identifier}"), "audio/wav")

    async def async_browse_media(self, item: MediaSourceItem) -> BrowseMediaSource:
        raise Unresolvable("not browsable")


class _Platform:
    def __init__(self, server: MediaServer) -> None:
        self._server = server

    async def async_get_media_source(self, hass: HomeAssistant) -> MediaSource:
        return _TestMediaSource(self._server)


@pytest.fixture
async def test_media_source(
    hass: HomeAssistant, engine_log: object, media_server: MediaServer
) -> None:
    """A media_source platform that points at the media server."""
    mock_integration(hass, MockModule(MEDIA_DOMAIN))
    mock_platform(hass, f"{MEDIA_DOMAIN}.media_source", _Platform(media_server))
    assert await async_setup_component(hass, MEDIA_DOMAIN, {})
    await hass.async_block_till_done()


async def test_wav_url_is_bit_exact(
    speech: SpeechManager, emulator: ZegoEmulator, media_server: MediaServer, avatar: TestAvatar
) -> None:
    url = media_server.url("/tone16.wav")
    result = await speech.async_play(url, wait=WaitFor.FINISHED)
    assert result.outcome is SpeechOutcome.FINISHED
    record = await played(emulator, result)
    assert_clean(record)
    assert_same_pcm(record.audio, media_server.files.wav16_pcm)
    started = avatar.events_of(SpeechEvent.STARTED)[0]
    assert started["media_id"] == url
    assert avatar.speaking_log == [True, False]


async def test_wav_at_another_rate_and_mp3(
    speech: SpeechManager, emulator: ZegoEmulator, media_server: MediaServer
) -> None:
    wav24 = await speech.async_play(media_server.url("/tone24.wav"), wait=WaitFor.FINISHED)
    record = await played(emulator, wav24)  # the avatar's clock, before the next drive
    assert_clean(record)
    expected = tone(0.4, 16000, freq=659)  # the 24 kHz file's tone, resampled by ffmpeg
    assert best_correlation(record.audio, expected, max_lag=50) > 0.99
    assert abs(len(record.audio) - len(expected)) <= 200

    mp3 = await speech.async_play(media_server.url("/tone.mp3"), wait=WaitFor.FINISHED)
    record = await played(emulator, mp3)
    assert_clean(record)
    expected = media_server.mp3_reference_pcm
    assert best_correlation(record.audio, expected) > 0.95
    assert len(expected) <= len(record.audio) <= len(expected) + 0.15 * 16000 * 2


async def test_tts_media_id_is_synthesised_at_the_avatar_format(
    hass: HomeAssistant, speech: SpeechManager, emulator: ZegoEmulator, avatar: TestAvatar
) -> None:
    media_id = tts.generate_media_source_id(
        hass, "Announcement", engine=ENGINE, language="de-DE", options={"variant": "stream"}
    )
    result = await speech.async_play(media_id, wait=WaitFor.FINISHED)
    record = await played(emulator, result)
    assert_clean(record)
    assert_same_pcm(record.audio, message_pcm("Announcement", 16000))
    started = avatar.events_of(SpeechEvent.STARTED)[0]
    assert started["message"] == "Announcement"


async def test_tts_speak_shaped_media_id(speech: SpeechManager, emulator: ZegoEmulator) -> None:
    # Exactly what tts.speak passes to media_player.play_media (options "null").
    media_id = "media-source://tts/tts.speech_test?message=hi+there&cache=true&tts_options=null"
    result = await speech.async_play(media_id, wait=WaitFor.FINISHED)
    assert_same_pcm((await played(emulator, result)).audio, message_pcm("hi there", 16000))


async def test_other_media_source_ids_resolve(
    speech: SpeechManager,
    emulator: ZegoEmulator,
    test_media_source: None,
    media_server: MediaServer,
) -> None:
    result = await speech.async_play(
        f"media-source://{MEDIA_DOMAIN}/tone16.wav",
        wait=WaitFor.FINISHED,
        entity_id="media_player.lobby",
    )
    record = await played(emulator, result)
    assert_clean(record)
    assert_same_pcm(record.audio, media_server.files.wav16_pcm)


async def test_tts_result_stream_ids(
    hass: HomeAssistant, speech: SpeechManager, emulator: ZegoEmulator
) -> None:
    # What an Assist pipeline asks for on behalf of a 16 kHz satellite.
    same_format = tts.async_create_stream(
        hass,
        ENGINE,
        None,
        {
            tts.ATTR_PREFERRED_FORMAT: "wav",
            tts.ATTR_PREFERRED_SAMPLE_RATE: 16000,
            tts.ATTR_PREFERRED_SAMPLE_CHANNELS: 1,
            tts.ATTR_PREFERRED_SAMPLE_BYTES: 2,
        },
    )
    if not hasattr(same_format, "media_source_id"):
        pytest.skip("media-source://tts/-stream-/ ids exist from HA 2025.6")
    same_format.async_set_message("Pipeline reply")
    result = await speech.async_play(
        same_format.media_source_id,
        wait=WaitFor.FINISHED,
    )
    assert_same_pcm((await played(emulator, result)).audio, message_pcm("Pipeline reply", 16000))

    # An MP3 stream (HA's default format) goes through ffmpeg's stdin.
    mp3 = tts.async_create_stream(hass, MP3_ENGINE, None, None)
    mp3.async_set_message("Other format")
    result = await speech.async_play(
        mp3.media_source_id,
        wait=WaitFor.FINISHED,
    )
    record = await played(emulator, result)
    assert_clean(record)
    assert best_correlation(record.audio, message_pcm("Other format", 16000)) > 0.9
