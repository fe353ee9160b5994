import uuid

import pytest

from empora_common.messaging.envelope import Envelope, MalformedEvent, parse_envelope


class TestParseEnvelope:
    def test_round_trips(self) -> None:
        env = Envelope(
            id=uuid.uuid4(),
            type="order.paid",
            version=1,
            occurred_at="2026-11-25T10:00:00Z",
            producer="order",
            aggregate_id="o1",
            sequence=3,
            correlation_id="r1",
            data={"a": 1},
        )
        assert parse_envelope(env.to_bytes()) == env

    @pytest.mark.parametrize(
        "body",
        [b"{bad", b"[]", b'{"id": "nope", "type": "x", "version": 1}', b'{"type": "x"}'],
    )
    def test_rejects_what_is_not_an_envelope(self, body: bytes) -> None:
        with pytest.raises(MalformedEvent):
            parse_envelope(body)
