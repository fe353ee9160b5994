from empora_common.middleware import pick_request_id


class TestPickRequestId:
    def test_keeps_a_sane_caller_id(self) -> None:
        assert pick_request_id(b"abc-123_X.y:z") == "abc-123_X.y:z"

    def test_replaces_an_insane_one(self) -> None:
        for bad in (b"has space", b"x" * 200, b"\xff\xfe", b"<script>", b""):
            rid = pick_request_id(bad)
            assert rid != bad.decode("latin-1") and len(rid) == 32

    def test_creates_one_when_absent(self) -> None:
        assert pick_request_id(None) != pick_request_id(None)
