"""ZEGO return codes (zego-api.md §4) and the error the handlers raise to answer one."""

from __future__ import annotations

SUCCESS = 0

# gateway / common codes (§4.1)
APP_ID_FORMAT = 100000001
TIMESTAMP_EMPTY = 100000002
TIMESTAMP_FORMAT = 100000003
SIGNATURE_EXPIRED = 100000004
SIGNATURE_INVALID = 100000005
ACTION_EMPTY = 100000006
ACTION_UNSUPPORTED = 100000007
NONCE_EMPTY = 100000008
SIGNATURE_EMPTY = 100000009
SECRET_NOT_FOUND = 100000010
BODY_UNREADABLE = 100000012
SIGNATURE_VERSION_EMPTY = 100000013
SIGNATURE_VERSION_UNSUPPORTED = 100000014

# Digital Human business codes (§4.2)
INVALID_PARAMETER = 400000001
DIGITAL_HUMAN_NOT_FOUND = 400000003
TIMBRE_NOT_FOUND = 400000004
TASK_NOT_FOUND = 400000005
STREAM_NOT_STARTED = 400000006
STREAM_STOPPED = 400000007
CONCURRENCY_LIMIT = 400000008
TIMBRE_UNSUPPORTED = 400000009
STREAM_ID_EXISTS = 400000015
RATE_LIMITED = 400010009


class ApiError(Exception):
    """Answer the current request with this ZEGO Code and Message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def invalid(field: str, problem: str) -> ApiError:
    """400000001 with a Message that names the field first, e.g. "Invalid parameter: TTL ..."."""
    return ApiError(INVALID_PARAMETER, f"Invalid parameter: {field} {problem}")
