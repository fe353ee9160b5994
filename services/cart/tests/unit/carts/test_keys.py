"""Cart ids, guest tokens and key names."""

from __future__ import annotations

import base64
import uuid

from empora_cart.carts.keys import (
    Keys,
    guest_ref,
    new_cart_token,
    token_digest,
    user_cart_id,
    user_ref,
    well_formed_token,
)


class TestUserCartId:
    def test_is_stable_for_a_user(self) -> None:
        user = uuid.uuid4()

        assert user_cart_id(user) == user_cart_id(uuid.UUID(str(user)))

    def test_differs_between_users(self) -> None:
        assert user_cart_id(uuid.uuid4()) != user_cart_id(uuid.uuid4())


class TestNewCartToken:
    def test_carries_at_least_128_bits(self) -> None:
        token = new_cart_token()

        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert len(raw) * 8 >= 128

    def test_is_url_safe_and_well_formed(self) -> None:
        token = new_cart_token()

        assert well_formed_token(token)

    def test_never_repeats(self) -> None:
        assert len({new_cart_token() for _ in range(1000)}) == 1000


class TestWellFormedToken:
    def test_refuses_short_long_and_foreign_strings(self) -> None:
        assert not well_formed_token("short")
        assert not well_formed_token("a" * 129)
        assert not well_formed_token("a" * 30 + "/..")
        assert not well_formed_token("a" * 30 + "\n")


class TestKeys:
    def test_a_guest_key_holds_the_digest_never_the_token(self) -> None:
        token = new_cart_token()

        key = Keys("p.").guest_cart(token)

        assert token not in key
        assert key == f"p.cart:guest:{token_digest(token)}"

    def test_every_key_is_under_the_prefix(self) -> None:
        keys, some = Keys("run42."), uuid.uuid4()

        names = [
            keys.user_cart(some),
            keys.guest_cart("t" * 43),
            keys.version_floor(some),
            keys.guest_floor("t" * 43),
            keys.guest_quota("203.0.113.9"),
            keys.order_marker(some),
        ]

        assert all(name.startswith("run42.cart:") for name in names)
        assert len(set(names)) == len(names)


class TestRefs:
    def test_a_user_ref_has_the_stable_id_and_user_ttl(self) -> None:
        user = uuid.uuid4()

        ref = user_ref(Keys(""), user, 30)

        assert ref.new_id == user_cart_id(user)
        assert ref.ttl_seconds == 30
        assert not ref.is_guest

    def test_a_guest_ref_gets_a_random_id_for_a_new_cart(self) -> None:
        first, second = guest_ref(Keys(""), "t" * 43, 7), guest_ref(Keys(""), "t" * 43, 7)

        assert first.is_guest
        assert first.key == second.key
        assert first.new_id != second.new_id
