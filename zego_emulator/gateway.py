"""The HTTP gateway: common query parameters, signature, nonce replay, QPS (zego-api.md §2, §4.1).

Checks run in this order; the first failure answers:

1. ``Action`` missing -> 100000006; not a known action -> 100000007
2. ``AppId`` missing or not a decimal uint32 -> 100000001
3. ``Timestamp`` missing -> 100000002; not an integer (Unix seconds) -> 100000003
4. ``SignatureNonce`` missing or empty -> 100000008
5. ``Signature`` missing or empty -> 100000009
6. ``SignatureVersion`` missing -> 100000013; not "2.0" -> 100000014
7. ``AppId`` not a project of this emulator -> 100000010
8. ``|emulator clock - Timestamp| > timestamp_window`` -> 100000004
9. ``Signature != md5(AppId + SignatureNonce + ServerSecret + Timestamp)`` -> 100000005
10. nonce already used by this AppId -> ``nonce_replay_code`` (setting)
11. more than ``qps_limit`` accepted requests in the sliding ``qps_window`` -> 400010009

The server then checks the method and body (see server.py) and the action's parameters.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
import hashlib
import hmac
import re
from typing import TYPE_CHECKING

from . import codes
from .codes import ApiError

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping

    from .config import EmulatorConfig

_APP_ID_RE = re.compile(r"[1-9][0-9]{0,9}")
_TIMESTAMP_RE = re.compile(r"0|[1-9][0-9]{0,18}")


def signature(app_id: int | str, nonce: str, secret: str, timestamp: int | str) -> str:
    """ZEGO's v2.0 request signature: lower-hex MD5 of the plain concatenation."""
    raw = f"{app_id}{nonce}{secret}{timestamp}".encode()
    return hashlib.md5(raw, usedforsecurity=False).hexdigest()


@dataclass(frozen=True, slots=True)
class GatewayResult:
    """A request that passed the gateway."""

    action: str
    app_id: int


class Gateway:
    """Stateful gateway checks (nonce memory, rate windows) for one emulator."""

    def __init__(
        self,
        config: EmulatorConfig,
        *,
        clock: Callable[[], float],
        monotonic: Callable[[], float],
        actions: Collection[str],
    ) -> None:
        self._config = config
        self._clock = clock
        self._monotonic = monotonic
        self._actions = actions
        self._nonces: dict[int, set[str]] = {}
        self._nonce_expiry: deque[tuple[float, int, str]] = deque()
        self._windows: dict[tuple[int | str, ...], deque[float]] = {}

    def reset(self) -> None:
        """Forget nonces and rate windows."""
        self._nonces.clear()
        self._nonce_expiry.clear()
        self._windows.clear()

    def parse_action(self, query: Mapping[str, str]) -> str:
        """Step 1: the Action."""
        action = query.get("Action", "")
        if not action:
            raise ApiError(codes.ACTION_EMPTY, "Action is empty")
        if action not in self._actions:
            raise ApiError(codes.ACTION_UNSUPPORTED, f"Action {action!r} is not supported")
        return action

    @staticmethod
    def parse_app_id(query: Mapping[str, str]) -> int | None:
        """The AppId if it is well formed (for logging even failed requests), else None."""
        raw = query.get("AppId", "")
        if _APP_ID_RE.fullmatch(raw) and int(raw) <= 0xFFFFFFFF:
            return int(raw)
        return None

    def check(self, query: Mapping[str, str]) -> GatewayResult:
        """Run every gateway check in the documented order."""
        action = self.parse_action(query)
        app_id = self.parse_app_id(query)
        if app_id is None:
            raise ApiError(codes.APP_ID_FORMAT, "AppId must be a decimal uint32")
        raw_ts = query.get("Timestamp", "")
        if not raw_ts:
            raise ApiError(codes.TIMESTAMP_EMPTY, "Timestamp is empty")
        if not _TIMESTAMP_RE.fullmatch(raw_ts):
            raise ApiError(codes.TIMESTAMP_FORMAT, "Timestamp must be an integer in Unix seconds")
        nonce = query.get("SignatureNonce", "")
        if not nonce:
            raise ApiError(codes.NONCE_EMPTY, "SignatureNonce is empty")
        sent_signature = query.get("Signature", "")
        if not sent_signature:
            raise ApiError(codes.SIGNATURE_EMPTY, "Signature is empty")
        version = query.get("SignatureVersion")
        if not version:
            raise ApiError(codes.SIGNATURE_VERSION_EMPTY, "SignatureVersion is empty")
        if version != "2.0":
            raise ApiError(codes.SIGNATURE_VERSION_UNSUPPORTED, "SignatureVersion must be 2.0")
        secret = self._config.secrets_by_app().get(app_id)
        if secret is None:
            raise ApiError(codes.SECRET_NOT_FOUND, f"failed to get ServerSecret of AppId {app_id}")
        self._check_timestamp(int(raw_ts))
        expected = signature(app_id, nonce, secret, raw_ts)
        if not hmac.compare_digest(expected.encode(), sent_signature.encode()):
            raise ApiError(codes.SIGNATURE_INVALID, "Signature is invalid")
        self._check_nonce(app_id, nonce)
        self._check_rate(app_id, action)
        return GatewayResult(action=action, app_id=app_id)

    def _check_timestamp(self, timestamp: int) -> None:
        skew = self._clock() - timestamp
        if abs(skew) > self._config.timestamp_window:
            hint = " (milliseconds? it must be seconds)" if timestamp > 10**11 else ""
            raise ApiError(
                codes.SIGNATURE_EXPIRED,
                f"Signature expired: Timestamp {timestamp} differs from server time by "
                f"{skew:+.0f} s (max {self._config.timestamp_window:.0f} s){hint}",
            )

    def _check_nonce(self, app_id: int, nonce: str) -> None:
        if not self._config.reject_nonce_replay:
            return
        now = self._monotonic()
        # A nonce only needs remembering while its Timestamp could still pass the window check.
        while self._nonce_expiry and self._nonce_expiry[0][0] <= now:
            _, old_app, old_nonce = self._nonce_expiry.popleft()
            self._nonces.get(old_app, set()).discard(old_nonce)
        used = self._nonces.setdefault(app_id, set())
        if nonce in used:
            raise ApiError(self._config.nonce_replay_code, "SignatureNonce has already been used")
        used.add(nonce)
        self._nonce_expiry.append((now + 2 * self._config.timestamp_window, app_id, nonce))

    def _rate_key(self, app_id: int, action: str) -> tuple[int | str, ...] | None:
        scope = self._config.qps_scope
        if scope == "app_action":
            return (app_id, action)
        if scope == "action":
            return (action,)
        if scope == "app":
            return (app_id,)
        return None

    def _check_rate(self, app_id: int, action: str) -> None:
        key = self._rate_key(app_id, action)
        if key is None:
            return
        now = self._monotonic()
        window = self._windows.setdefault(key, deque())
        while window and window[0] <= now - self._config.qps_window:
            window.popleft()
        if len(window) >= self._config.qps_limit:
            raise ApiError(
                codes.RATE_LIMITED,
                f"API rate limit exceeded: at most {self._config.qps_limit} requests per "
                f"{self._config.qps_window:g} s",
            )
        window.append(now)
