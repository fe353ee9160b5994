"""JSON log lines: request id bound, exceptions rendered without local variables."""

from __future__ import annotations

import json

import pytest
import structlog

from empora_common.logging import configure_logging, reset_request_id, set_request_id


def fail_with_a_secret() -> None:
    internal_token = "s3cret-internal-token"  # the value that must not leak
    raise RuntimeError(f"boom ({len(internal_token)})")


def test_an_exception_line_has_its_frames_but_no_locals(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("testsvc", "INFO", json_logs=True)
    token = set_request_id("rid-1")
    try:
        try:
            fail_with_a_secret()
        except RuntimeError:
            structlog.get_logger("t").exception("it_failed")
    finally:
        reset_request_id(token)
    line = capsys.readouterr().out.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["message"] == "it_failed"
    assert record["service"] == "testsvc"
    assert record["request_id"] == "rid-1"
    frames = record["exception"][0]["frames"]
    assert any(frame["name"] == "fail_with_a_secret" for frame in frames)
    assert all("locals" not in frame for frame in frames)
    assert "s3cret-internal-token" not in line
