from __future__ import annotations

from datetime import UTC, datetime, timedelta

from empora_auth.keys.material import SigningKey, generate_private_key
from empora_auth.keys.service import select_current, select_published

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
KEY = generate_private_key()
RETENTION = timedelta(minutes=20)


def key(
    kid: str, *, created: int = -60, activates: int | None = None, retired: int | None = None
) -> SigningKey:
    def at(minutes: int | None) -> datetime | None:
        return None if minutes is None else NOW + timedelta(minutes=minutes)

    return SigningKey(kid, KEY, {"kid": kid}, at(created) or NOW, at(activates), at(retired))


class TestSelectCurrent:
    def test_is_the_latest_key_whose_activation_has_come(self) -> None:
        keys = [key("old", activates=-50, retired=-5), key("new", activates=-5), key("next")]
        current = select_current(keys, NOW)
        assert current is not None and current.kid == "new"

    def test_ignores_a_key_scheduled_for_later(self) -> None:
        keys = [key("cur", activates=-50, retired=2), key("soon", activates=2)]
        current = select_current(keys, NOW)
        assert current is not None and current.kid == "cur"

    def test_is_none_without_an_active_key(self) -> None:
        assert select_current([key("next")], NOW) is None


class TestSelectPublished:
    def test_lists_current_first_then_next_keys(self) -> None:
        keys = [key("next"), key("cur", activates=-30)]
        assert [k.kid for k in select_published(keys, NOW, RETENTION)] == ["cur", "next"]

    def test_keeps_a_retired_key_while_its_tokens_may_live(self) -> None:
        keys = [key("old", activates=-50, retired=-10), key("cur", activates=-10)]
        assert "old" in [k.kid for k in select_published(keys, NOW, RETENTION)]

    def test_drops_a_retired_key_after_the_retention(self) -> None:
        keys = [key("old", activates=-90, retired=-30), key("cur", activates=-30)]
        assert [k.kid for k in select_published(keys, NOW, RETENTION)] == ["cur"]

    def test_publishes_a_scheduled_key_before_it_signs(self) -> None:
        keys = [key("cur", activates=-50, retired=2), key("soon", activates=2)]
        assert [k.kid for k in select_published(keys, NOW, RETENTION)] == ["cur", "soon"]
