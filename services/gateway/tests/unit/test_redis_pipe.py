"""The RESP encoder and incremental parser."""

from __future__ import annotations

from empora_gateway.redis_pipe import RedisReplyError, _encode, _Parser


class TestEncode:
    def test_encodes_commands_as_resp_arrays_of_bulk_strings(self) -> None:
        assert _encode(("EVALSHA", "ab", 1, 0.5, b"k")) == (
            b"*5\r\n$7\r\nEVALSHA\r\n$2\r\nab\r\n$1\r\n1\r\n$3\r\n0.5\r\n$1\r\nk\r\n"
        )


class TestParser:
    def test_parses_replies_split_across_reads(self) -> None:
        parser = _Parser()
        stream = b"*4\r\n:1\r\n:9\r\n:0\r\n:2000\r\n+OK\r\n$3\r\nabc\r\n$-1\r\n-NOSCRIPT x\r\n"
        replies = []
        for i in range(len(stream)):
            parser.feed(stream[i : i + 1])
            replies.extend(parser.replies())
        assert replies[:4] == [[1, 9, 0, 2000], "OK", b"abc", None]
        assert isinstance(replies[4], RedisReplyError)
        assert str(replies[4]) == "NOSCRIPT x"

    def test_waits_for_a_whole_bulk_string(self) -> None:
        parser = _Parser()
        parser.feed(b"$5\r\nhel")
        assert parser.replies() == []
        parser.feed(b"lo\r\n")
        assert parser.replies() == [b"hello"]
