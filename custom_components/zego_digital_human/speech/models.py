"""Value types of the speech path: what callers wait for and what they get back."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["SpeechOutcome", "SpeechResult", "WaitFor"]


class WaitFor(StrEnum):
    """How long ``async_say`` / ``async_play`` wait before returning."""

    # The request was validated and taken by the avatar's queue. Later failures are
    # reported through speech_failed events and the avatar's last error only.
    ACCEPTED = "accepted"
    # The first audio frame went out (or the request failed / was replaced first).
    STARTED = "started"
    # The avatar finished playing the audio (or it failed / was interrupted first).
    FINISHED = "finished"


class SpeechOutcome(StrEnum):
    """Where a request stands when the call returns."""

    ACCEPTED = "accepted"  # queued or preparing; nothing audible yet
    STARTED = "started"  # audio is going out
    FINISHED = "finished"  # the avatar played all of it
    INTERRUPTED = "interrupted"  # replaced by a newer request, an interrupt, or unload


@dataclass(frozen=True, kw_only=True, slots=True)
class SpeechResult:
    """A snapshot of one speech request.

    Times are seconds. ``time_to_first_audio`` runs from the moment the request began
    (its turn in the queue) to the first audio frame sent; ``stream_wait`` is the part
    of that spent in ``ensure_streaming`` (a managed cold start shows up here). A live
    stream's check runs in parallel with TTS synthesis; a stream that must start waits
    for the source's first audio.
    """

    request_id: str
    outcome: SpeechOutcome
    drive_id: str | None = None
    audio_seconds: float | None = None
    time_to_first_audio: float | None = None
    stream_wait: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the result as service response data (rounded to milliseconds)."""
        return {
            "outcome": str(self.outcome),
            "drive_id": self.drive_id,
            "audio_seconds": _ms(self.audio_seconds),
            "time_to_first_audio": _ms(self.time_to_first_audio),
            "stream_wait": _ms(self.stream_wait),
        }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
