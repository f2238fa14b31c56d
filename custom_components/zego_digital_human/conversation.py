"""The avatar as Assist's voice: a conversation agent that wraps another and speaks its answers.

One agent per avatar, on the avatar's device, named like the avatar: in a pipeline's
"Conversation agent" list the user picks the face that should answer ("Lobby"). Which
agent really answers ("Answering agent", HA's own by default, any LLM agent) and how
the avatar voices it ("Assist voice": take over or mirror) are select entities on the
same device.

The wrapped agent runs inside our chat log (same conversation id, same history, its tool
calls as usual); a tee on the chat log's delta listener hands its text to the avatar as
it streams, and passes the deltas on to whoever listens (the pipeline):

- take over: content is not passed on and the answer's speech comes back empty, so the
  pipeline skips TTS and the satellite stays silent; the avatar is the only voice.
- mirror: everything is passed on and the answer is returned as it is: both speak.

Each question starts a new answer that interrupts the one being said (one drive at a
time per avatar, as always). An agent that fails ends the avatar's answer with a
speech_failed event and returns a readable error as the answer.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from homeassistant.components import conversation
from homeassistant.const import MATCH_ALL
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er, intent
from homeassistant.helpers.entity import EntityDescription

from .const import DOMAIN, AssistMode, OverlapPolicy
from .entity import ZegoAvatarEntity, async_add_avatar_entities
from .select import AGENT_DESCRIPTION, ATTR_AGENT_ID, MODE_DESCRIPTION, avatar_select_entity_id
from .speech.streamed import StreamedTextSource, TextFeed

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .coordinator import AvatarCoordinator, ZegoConfigEntry
    from .speech import SpeechManager

_LOGGER = logging.getLogger(__name__)

# Answers are serialised per avatar by its speech queue, not by HA.
PARALLEL_UPDATES = 0

DESCRIPTION = EntityDescription(
    key="conversation",
    name=None,  # the avatar's own name: conversation.<avatar>, "Lobby" in the agent list
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZegoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add one agent per avatar, each to its own subentry."""
    async_add_avatar_entities(
        hass,
        entry,
        async_add_entities,
        lambda coordinator, speech: [ZegoAvatarConversation(coordinator, speech)],
    )


def _wrapped_streams(hass: HomeAssistant, agent_id: str) -> bool:
    """Return True when the wrapped agent streams its answers (HA 2025.6+ can tell)."""
    try:
        from homeassistant.components.conversation.agent_manager import async_get_agent
    except ImportError:  # pragma: no cover - layout of a future HA
        return False
    agent = async_get_agent(hass, agent_id)
    return bool(getattr(agent, "supports_streaming", False))


# Error codes of an agent that broke (not one that did not understand: that is an answer).
_AGENT_FAILURES = (
    intent.IntentResponseErrorCode.UNKNOWN,
    intent.IntentResponseErrorCode.FAILED_TO_HANDLE,
)


def _speech_of(result: conversation.ConversationResult) -> str:
    speech = result.response.speech.get("plain", {}).get("speech", "")
    return str(speech or "")


class ZegoAvatarConversation(ZegoAvatarEntity, conversation.ConversationEntity):
    """Answers by another agent, said by the avatar while they stream."""

    def __init__(self, coordinator: AvatarCoordinator, speech: SpeechManager) -> None:
        """Bind the agent to its avatar and the avatar's speech manager."""
        super().__init__(coordinator, DESCRIPTION)
        self._speech = speech

    @property
    def available(self) -> bool:
        """Return True: the wrapped agent answers even when the avatar cannot speak."""
        return True

    @property
    def supported_languages(self) -> Literal["*"]:
        """Return every language: the wrapped agent decides."""
        return MATCH_ALL

    @property
    def supports_streaming(self) -> bool:
        """Let the pipeline stream to the satellite only when the satellite speaks too.

        HA 2025.6+ streams TTS to the satellite when the agent streams; in take over the
        satellite says nothing, so there is nothing to stream.
        """
        if self._mode() is not AssistMode.MIRROR:
            return False
        return _wrapped_streams(self.hass, self._agent_id())

    def _select_state(self, key: str) -> Any:
        entity_id = avatar_select_entity_id(self.hass, self.coordinator.subentry_id, key)
        return self.hass.states.get(entity_id) if entity_id else None

    def _agent_id(self) -> str:
        state = self._select_state(AGENT_DESCRIPTION.key)
        agent_id = state.attributes.get(ATTR_AGENT_ID) if state is not None else None
        return str(agent_id or conversation.HOME_ASSISTANT_AGENT)

    def _mode(self) -> AssistMode:
        state = self._select_state(MODE_DESCRIPTION.key)
        try:
            return AssistMode(state.state if state is not None else AssistMode.TAKE_OVER)
        except ValueError:
            return AssistMode.TAKE_OVER

    async def _async_handle_message(
        self,
        user_input: conversation.ConversationInput,
        chat_log: conversation.ChatLog,
    ) -> conversation.ConversationResult:
        """Let the wrapped agent answer in our chat log; say the answer as it streams."""
        agent_id = self._agent_id()
        mode = self._mode()
        feed = TextFeed()
        await self._start_speaking(feed)
        if self._is_avatar_agent(agent_id):
            # It would call itself; a stale choice (the select offers no avatar agents).
            error = HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="assist_agent_loop",
                translation_placeholders={"agent": agent_id},
            )
            feed.fail(error)
            return _error_result(user_input, chat_log, error)
        listener = chat_log.delta_listener
        chat_log.delta_listener = _tee(feed, listener, mirror=mode is AssistMode.MIRROR)
        try:
            result = await self._converse(agent_id, user_input, chat_log)
        except Exception as err:  # noqa: BLE001 - any agent failure becomes a readable answer
            error = _agent_error(agent_id, err)
            _LOGGER.warning("%s: %s", self.coordinator.config.name, error)
            feed.fail(error)
            return _error_result(user_input, chat_log, error)
        finally:
            chat_log.delta_listener = listener
        response = result.response
        if (
            response.response_type is intent.IntentResponseType.ERROR
            and response.error_code in _AGENT_FAILURES
        ):
            # HA turns an agent's HomeAssistantError into such an answer. Shown as ours
            # (naming the agent), in both modes: the user must learn it failed.
            error = _agent_error(agent_id, _speech_of(result))
            _LOGGER.warning("%s: %s", self.coordinator.config.name, error)
            feed.fail(error)
            response.async_set_error(response.error_code, str(error))
            return result
        if not feed.text:
            # An agent that does not stream (HA's own) hands over its answer at the end.
            feed.push(_speech_of(result))
        feed.end()
        if mode is AssistMode.TAKE_OVER:
            # The pipeline skips TTS for an empty answer: the satellite stays silent.
            result.response.async_set_speech("")
        return result

    async def _converse(
        self,
        agent_id: str,
        user_input: conversation.ConversationInput,
        chat_log: conversation.ChatLog,
    ) -> conversation.ConversationResult:
        """Ask the wrapped agent in this chat log (it finds it as the current one)."""
        return await conversation.async_converse(
            self.hass,
            text=user_input.text,
            conversation_id=chat_log.conversation_id,
            context=user_input.context,
            language=user_input.language,
            agent_id=agent_id,
            device_id=user_input.device_id,
            extra_system_prompt=user_input.extra_system_prompt,
        )

    def _is_avatar_agent(self, agent_id: str) -> bool:
        """Return True for an avatar's agent (this one included): it would call itself."""
        if agent_id == self.entity_id:
            return True
        entry = er.async_get(self.hass).async_get(agent_id)
        return entry is not None and entry.platform == DOMAIN

    async def _start_speaking(self, feed: TextFeed) -> None:
        """Queue the answer's speech now: a new question cuts the answer being said.

        The avatar failing to speak (no TTS engine, shutting down) must not cost the
        user the answer: it is logged, the agent still answers.
        """
        try:
            source = StreamedTextSource(self.hass, self.coordinator.config, feed)
            await self._speech.async_speak(source, policy=OverlapPolicy.INTERRUPT)
        except HomeAssistantError as err:
            _LOGGER.warning("%s cannot speak the answer: %s", self.coordinator.config.name, err)


def _tee(
    feed: TextFeed,
    listener: Callable[[conversation.ChatLog, dict[str, Any]], None] | None,
    *,
    mirror: bool,
) -> Callable[[conversation.ChatLog, dict[str, Any]], None]:
    """Return a delta listener that feeds the assistant's text to the avatar and passes on.

    Assistant messages around a tool call are joined with a space, as HA's pipeline does.
    """
    role: str | None = None

    def tee(chat_log: conversation.ChatLog, delta: dict[str, Any]) -> None:
        nonlocal role
        if new_role := delta.get("role"):
            role = new_role
            if role == "assistant" and feed.text and not feed.text[-1].isspace():
                feed.push(" ")
        if role == "assistant" and (content := delta.get("content")):
            feed.push(str(content))
        if listener is None:
            return
        if mirror:
            listener(chat_log, delta)
        elif passed := {key: value for key, value in delta.items() if key != "content"}:
            # Tool calls and roles still reach the pipeline (debug view); text does not,
            # or HA 2025.6+ would start streaming it to the satellite.
            listener(chat_log, passed)

    return tee


def _agent_error(agent_id: str, err: Exception | str) -> HomeAssistantError:
    detail = err if isinstance(err, str) else str(err) or type(err).__name__
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="assist_agent_failed",
        translation_placeholders={"agent": agent_id, "error": detail or "-"},
    )


def _error_result(
    user_input: conversation.ConversationInput,
    chat_log: conversation.ChatLog,
    error: HomeAssistantError,
) -> conversation.ConversationResult:
    response = intent.IntentResponse(language=user_input.language)
    response.async_set_error(intent.IntentResponseErrorCode.UNKNOWN, str(error))
    return conversation.ConversationResult(
        response=response, conversation_id=chat_log.conversation_id
    )
