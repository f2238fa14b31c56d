"""The avatar's jitter buffer for one WebSocket drive (docs/architecture.md §2 "Playback model").

Playback starts when the first frame arrives and runs at real time. `buffered_until` is the loop
time at which everything received so far will have played. A frame that arrives after that moment
(the buffer ran dry) while Stop has not been received is an underrun: a stutter, counted, its gap
added to `underrun_seconds`, and playback resumes from that arrival. A Stop that arrives after the
buffer ran dry is an underrun too (the avatar sat waiting for more). `max_lead_seconds` is the
most audio buffered ahead of playback at any frame arrival, counting the arriving frame. After
Stop the buffer plays out: the drive ends at `playback_end_at`.

These are plain functions over a DriveRecord so the model can be read (and tested) on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .records import DriveRecord

# Float noise only: a frame arriving exactly when the buffer empties is not a stutter.
_EPSILON = 1e-9


def bytes_per_second(record: DriveRecord) -> int:
    """s16le PCM rate of the drive's Start parameters."""
    return (record.sample_rate or 16000) * 2 * (record.channel or 1)


def on_frame(record: DriveRecord, arrival: float, size: int, *, new_segment: bool = False) -> None:
    """Account one accepted audio frame.

    `new_segment` marks the first frame after a repeated Start (DriveId reuse allowed): a dry
    buffer there is a new utterance starting, not a stutter.
    """
    seconds = size / bytes_per_second(record)
    record.frames.append((arrival, size))
    record.bytes_received += size
    record.audio_seconds += seconds
    if record.first_frame_at is None:
        record.first_frame_at = arrival
    record.last_frame_at = arrival
    until = record.buffered_until
    if until is None or (new_segment and arrival > until):
        until = arrival
    elif arrival > until + _EPSILON:
        record.underruns += 1
        record.underrun_seconds += arrival - until
        until = arrival
    until += seconds
    record.buffered_until = until
    record.max_lead_seconds = max(record.max_lead_seconds, until - arrival)


def on_stop(record: DriveRecord, arrival: float) -> float:
    """Account the Stop command; returns when playback ends (`playback_end_at`)."""
    record.stop_at = arrival
    if record.last_frame_at is not None:
        record.last_frame_to_stop = arrival - record.last_frame_at
    until = record.buffered_until
    if until is None:
        # Start then Stop with no audio: nothing to play.
        end = arrival
    elif arrival > until + _EPSILON:
        record.underruns += 1
        record.underrun_seconds += arrival - until
        end = arrival
    else:
        end = until
    record.playback_end_at = end
    return end


def on_input_lost(record: DriveRecord, at: float) -> float:
    """The input ended without Stop (socket closed or cut): what is buffered still plays.

    Returns when playback ends; no underrun is counted since the avatar is not told to wait.
    """
    until = record.buffered_until
    end = at if until is None else max(until, at)
    record.playback_end_at = end
    return end


def on_interrupt(record: DriveRecord, at: float) -> None:
    """Playback stops now (or already stopped, if the buffer had played out)."""
    record.interrupted = True
    until = record.buffered_until
    if until is None:
        record.playback_end_at = at if record.first_frame_at is not None else None
    else:
        record.playback_end_at = min(until, at)
