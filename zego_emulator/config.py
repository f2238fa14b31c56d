"""Every setting of the emulator, with its strict default.

Where ZEGO's behaviour is not documented (zego-api.md §11) the default is the stricter choice, and a
setting lets a test opt into the lenient one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
import ipaddress
from typing import Any, Literal, get_args

from .records import DriveStatus

# A fixed demo project so that `python -m zego_emulator` and the HA demo agree without any setup.
DEMO_APP_ID = 1234567890
DEMO_SERVER_SECRET = "0123456789abcdef0123456789abcdef"  # noqa: S105 - a published demo value
DEMO_CALLBACK_SECRET = "demo-callback-secret"  # noqa: S105 - a published demo value

QpsScope = Literal["app_action", "action", "app", "off"]
SecondWsPolicy = Literal["reject_new", "close_old", "allow"]
DriveIdReuse = Literal["reject", "allow"]
CloseWithoutStop = Literal["fail", "end", "wait"]
WsOnInterrupt = Literal["keep_open", "close"]


@dataclass(frozen=True, kw_only=True)
class ActionSpec:
    """One action a digital human can perform (GetDigitalHumanInfo.Actions[])."""

    action: str
    preview_url: str


@dataclass(frozen=True, kw_only=True)
class DigitalHumanSpec:
    """One digital human of the emulated account."""

    digital_human_id: str
    name: str
    avatar_url: str
    is_public: bool
    actions: tuple[ActionSpec, ...] = ()


@dataclass(frozen=True, kw_only=True)
class TimbreSpec:
    """One timbre. `digital_human_id` None means public; otherwise private to that avatar."""

    timbre_id: str
    name: str
    avatar_url: str
    digital_human_id: str | None = None


LOBBY_ANNA_ID = "6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a51"
KIOSK_BEN_ID = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f2a3b4c52"
PUBLIC_MIA_ID = "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e53"

PUBLIC_TIMBRE_SUNNY = "b1e2c3d4-a5f6-4b7c-8d9e-0f1a2b3c4d61"
PUBLIC_TIMBRE_CALM = "c2f3d4e5-b6a7-4c8d-9e0f-1a2b3c4d5e62"
PRIVATE_TIMBRE_ANNA = "d3a4e5f6-c7b8-4d9e-8f0a-1b2c3d4e5f63"

_ASSETS = "https://assets.example.invalid"  # .invalid never resolves: nothing leaves the machine


def _action(name: str) -> ActionSpec:
    return ActionSpec(action=name, preview_url=f"{_ASSETS}/actions/{name}.mp4")


def default_digital_humans() -> tuple[DigitalHumanSpec, ...]:
    """Two private avatars and one public one, each with a few actions."""
    return (
        DigitalHumanSpec(
            digital_human_id=LOBBY_ANNA_ID,
            name="Lobby Anna",
            avatar_url=f"{_ASSETS}/avatars/lobby-anna.png",
            is_public=False,
            actions=(_action("idle_action"), _action("wave_hand"), _action("nod")),
        ),
        DigitalHumanSpec(
            digital_human_id=KIOSK_BEN_ID,
            name="Kiosk Ben",
            avatar_url=f"{_ASSETS}/avatars/kiosk-ben.png",
            is_public=False,
            actions=(_action("idle_action"), _action("shake_hands")),
        ),
        DigitalHumanSpec(
            digital_human_id=PUBLIC_MIA_ID,
            name="Public Mia",
            avatar_url=f"{_ASSETS}/avatars/public-mia.png",
            is_public=True,
            actions=(_action("idle_action"),),
        ),
    )


def default_timbres() -> tuple[TimbreSpec, ...]:
    """Two public timbres and one private timbre bound to Lobby Anna."""
    return (
        TimbreSpec(
            timbre_id=PUBLIC_TIMBRE_SUNNY,
            name="Sunny (public)",
            avatar_url=f"{_ASSETS}/timbres/sunny.png",
        ),
        TimbreSpec(
            timbre_id=PUBLIC_TIMBRE_CALM,
            name="Calm (public)",
            avatar_url=f"{_ASSETS}/timbres/calm.png",
        ),
        TimbreSpec(
            timbre_id=PRIVATE_TIMBRE_ANNA,
            name="Anna's own voice",
            avatar_url=f"{_ASSETS}/timbres/anna.png",
            digital_human_id=LOBBY_ANNA_ID,
        ),
    )


def default_unsupported_timbres() -> frozenset[tuple[str, str]]:
    """(DigitalHumanId, TimbreId) pairs answered with 400000009: Kiosk Ben cannot use "Calm"."""
    return frozenset({(KIOSK_BEN_ID, PUBLIC_TIMBRE_CALM)})


def is_loopback_host(host: str) -> bool:
    """True for "localhost" and loopback IP literals; the emulator never listens elsewhere."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(kw_only=True)
class EmulatorConfig:
    """Settings of one emulator instance. Durations are seconds."""

    # --- network -------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    """Address to listen on. Must be loopback: the emulator (and its admin API) is local only."""
    port: int = 0
    """REST + admin API port; 0 picks a free port (read it back from `ZegoEmulator.endpoint`)."""
    ws_port: int = 0
    """Port of the TLS WebSocket listener when `ws_tls` is True; 0 picks a free port."""
    ws_tls: bool = True
    """True: WebSocket on its own TLS port with a self-signed certificate (`wss://127.0.0.1:P/ws`),
    like ZEGO's bare-IP WssAddress. False: plain `ws://` on the REST port."""

    # --- credentials ---------------------------------------------------------------------------
    app_id: int = DEMO_APP_ID
    """The AppId of the emulated project."""
    server_secret: str = DEMO_SERVER_SECRET
    """Its ServerSecret (32 hex chars at ZEGO). `ZegoEmulator.set_server_secret` changes it."""
    extra_apps: dict[int, str] = field(default_factory=dict)
    """More projects: AppId -> ServerSecret. Tasks, StreamIds and limits are per AppId."""
    callback_secret: str = DEMO_CALLBACK_SECRET
    """CallbackSecret used to sign the callback-shaped events in `ZegoEmulator.events`."""

    # --- catalogue -----------------------------------------------------------------------------
    digital_humans: tuple[DigitalHumanSpec, ...] = field(default_factory=default_digital_humans)
    """The account's digital humans (GetDigitalHumanList / GetDigitalHumanInfo)."""
    timbres: tuple[TimbreSpec, ...] = field(default_factory=default_timbres)
    """Public and private timbres (GetTimbreList); a private one only works for its avatar."""
    unsupported_timbres: frozenset[tuple[str, str]] = field(
        default_factory=default_unsupported_timbres
    )
    """(DigitalHumanId, TimbreId) pairs that DriveByText rejects with 400000009."""

    # --- gateway -------------------------------------------------------------------------------
    clock_offset: float = 0.0
    """Seconds added to the host clock to get the emulator's clock (Timestamp check, Date header,
    CreateTime). Lets a test make the "server" clock differ from the client's."""
    timestamp_window: float = 600.0
    """Largest accepted |server clock - Timestamp| (ZEGO: 10 minutes), else 100000004."""
    reject_nonce_replay: bool = True
    """Reject a SignatureNonce already used by this AppId within twice the timestamp window."""
    nonce_replay_code: int = 100000005
    """Code answered to a replayed nonce (undocumented; 100000005 "signature invalid")."""
    qps_limit: int = 10
    """Requests allowed per `qps_window` (ZEGO: 10 per second per action), else 400010009."""
    qps_window: float = 1.0
    """Length of the sliding rate-limit window."""
    qps_scope: QpsScope = "app_action"
    """What one rate-limit window counts: per AppId+Action, per Action for all AppIds, per AppId,
    or "off"."""
    error_http_status: int = 200
    """HTTP status of every gateway and business error (the body still carries the Code)."""
    require_json_content_type: bool = True
    """Reject a body whose Content-Type is not application/json (400000001)."""
    null_as_absent: bool = False
    """Treat a JSON null as an absent field. Strict default: null is a wrong type (400000001)."""

    # --- task lifecycle ------------------------------------------------------------------------
    time_scale: float = 1.0
    """Multiplies every simulated service duration: startup delay, stopping delay, TTL,
    MaxIdleTime, text/audio drive lengths. Not network timeouts, not WebSocket audio playback."""
    startup_delay: float = 0.5
    """Status 1 (initializing) -> 3 (streaming) after this long (scaled)."""
    stopping_delay: float = 0.5
    """Status 4 (stopping) -> 5 (stopped) after this long (scaled)."""
    max_concurrent_tasks: int = 10
    """Live tasks (status 1-4) per AppId; one more is refused with 400000008."""
    ended_task_code: int = 400000005
    """Code for any call naming an ended (status 5) task, except Stop."""
    ended_task_stop_code: int = 400000007
    """Code for Stop naming a task that is stopping or stopped."""

    # --- drives --------------------------------------------------------------------------------
    text_seconds_per_char: float = 0.08
    """Estimated speaking time per character of a DriveByText (scaled; SpeechRate adjusts it)."""
    min_text_drive_seconds: float = 0.5
    """Shortest DriveByText playback (scaled)."""
    audio_drive_seconds: float = 3.0
    """Playback length of every DriveByAudio (the URL is never fetched; scaled)."""
    interrupted_drive_status: DriveStatus = DriveStatus.ENDED
    """Final status of an interrupted drive and of discarded queued drives (undocumented)."""

    # --- WebSocket -----------------------------------------------------------------------------
    ws_token_single_use: bool = True
    """A WssAddress token opens one connection only."""
    ws_token_ttl: float | None = 60.0
    """Seconds a token stays usable before its first connection (None: until the task ends). An
    unused expired token fails its drive (status 3)."""
    second_ws_connection: SecondWsPolicy = "reject_new"
    """A connection for a task that already has one open: refuse it (HTTP 409 at the handshake),
    close the old one (4011), or allow both."""
    drive_id_reuse: DriveIdReuse = "reject"
    """Start again on the same socket after Stop: close with 4007, or allow a new utterance."""
    strict_frames: bool = True
    """Empty binary frames, or frames whose size is not a multiple of 2 x Channel bytes, are
    violations (close 4005)."""
    ws_start_timeout: float = 5.0
    """Seconds from the handshake to the Start command (not scaled), else close 4001."""
    close_without_stop: CloseWithoutStop = "fail"
    """A socket that closes after Start but before Stop: the drive plays what it has and then
    fails (3), or ends (4), or keeps waiting in status 2 until another drive or the task ends."""
    ws_on_interrupt: WsOnInterrupt = "keep_open"
    """When a drive is interrupted, keep its socket open (later audio is discarded; the client must
    close it before opening the next) or close it with 4009."""
    ws_close_timeout: float = 2.0
    """How long a server-initiated close waits for the client's close frame."""
    record_audio: bool = True
    """Keep each WS drive's PCM in memory (`DriveRecord.audio`, `wav_bytes()`)."""

    # --- preview (the dashboard card's stand-in for RTC video; preview.py) ---------------------
    serve_portraits: bool = True
    """AvatarUrl points at the emulator's own portrait image, signed and expiring like ZEGO's.
    False: the configured `avatar_url` as is."""
    describe_emulator: bool = True
    """Answer DescribeEmulator (the preview feed's address). False: refuse it as ZEGO does."""
    portrait_url_ttl: float = 86400.0
    """Seconds a portrait URL stays valid (ZEGO: 24 h; not scaled). Later it answers 403."""

    # --- callbacks -----------------------------------------------------------------------------
    callback_timestamp_ms: bool = False
    """Callback-shaped events carry Timestamp in milliseconds (docs' text) instead of seconds
    (docs' examples)."""

    def __post_init__(self) -> None:
        """Refuse settings that cannot work, early and with a clear message."""
        if not is_loopback_host(self.host):
            raise ValueError(f"host {self.host!r} is not a loopback address")
        if self.time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        if not 0 < self.app_id <= 0xFFFFFFFF:
            raise ValueError("app_id must be a uint32 > 0")
        if self.qps_limit < 1 or self.qps_window <= 0:
            raise ValueError("qps_limit must be >= 1 and qps_window > 0")
        if self.interrupted_drive_status not in (DriveStatus.ENDED, DriveStatus.FAILED):
            raise ValueError("interrupted_drive_status must be ENDED or FAILED")
        for name, allowed in (
            ("qps_scope", get_args(QpsScope)),
            ("second_ws_connection", get_args(SecondWsPolicy)),
            ("drive_id_reuse", get_args(DriveIdReuse)),
            ("close_without_stop", get_args(CloseWithoutStop)),
            ("ws_on_interrupt", get_args(WsOnInterrupt)),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}")

    def scaled(self, seconds: float) -> float:
        """A simulated service duration in real seconds."""
        return seconds * self.time_scale

    def secrets_by_app(self) -> dict[int, str]:
        """Every known AppId with its current ServerSecret."""
        apps = dict(self.extra_apps)
        apps[self.app_id] = self.server_secret
        return apps


def mask_secret(secret: str) -> str:
    """Show a secret as its first 4 characters and ***."""
    return f"{secret[:4]}***"


def config_summary(config: EmulatorConfig) -> dict[str, Any]:
    """Every setting as JSON-friendly values, secrets masked (CLI banner, admin state)."""
    summary: dict[str, Any] = {}
    for item in fields(config):
        value = getattr(config, item.name)
        if item.name in ("server_secret", "callback_secret"):
            value = mask_secret(value)
        elif item.name == "extra_apps":
            value = {str(app): mask_secret(secret) for app, secret in value.items()}
        elif item.name == "digital_humans":
            value = [f"{h.name} ({h.digital_human_id})" for h in value]
        elif item.name == "timbres":
            value = [f"{t.name} ({t.timbre_id})" for t in value]
        elif item.name == "unsupported_timbres":
            value = sorted([list(pair) for pair in value])
        elif item.name == "interrupted_drive_status":
            value = int(value)
        summary[item.name] = value
    return summary
