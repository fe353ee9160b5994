"""Text PostgreSQL or UTF-8 cannot hold (NUL, unpaired surrogates) is a 422, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from ..support import Account, Api, unique_email

NUL = "a\x00b"
SURROGATE = "a\ud800b"  # sent as the JSON escape \ud800, which Python's json accepts


def assert_field_error(reply: Any, field: str) -> None:
    assert reply.status == 422, reply.body
    assert reply.body["type"] == "https://empora.dev/problems/validation-error"
    assert field in {e["field"] for e in reply.body["errors"]}, reply.body


@pytest.mark.parametrize("bad", [NUL, SURROGATE])
class TestUnstorableText:
    async def test_register_refuses_it_in_names_and_creates_nobody(
        self, api: Api, admin: Account, bad: str
    ) -> None:
        email = unique_email("hostile")
        for field in ("first_name", "last_name"):
            assert_field_error(await api.register(email, **{field: bad}), field)
        listed = await api.call("GET", f"/api/users?q={email}", token=admin.access_token)
        assert listed.body["meta"]["total"] == 0

    async def test_register_refuses_it_in_the_email(self, api: Api, bad: str) -> None:
        assert_field_error(await api.register(f"{bad}@example.com"), "email")

    async def test_profile_update_refuses_it_and_changes_nothing(
        self, api: Api, user: Account, bad: str
    ) -> None:
        reply = await api.call(
            "PATCH", "/api/auth/me", token=user.access_token, json={"last_name": bad}
        )
        assert_field_error(reply, "last_name")
        me = await api.call("GET", "/api/auth/me", token=user.access_token)
        assert me.body["last_name"] is None

    async def test_login_refresh_and_link_tokens_refuse_it(self, api: Api, bad: str) -> None:
        login = await api.call("POST", "/api/auth/login", json={"email": bad, "password": "x"})
        assert_field_error(login, "email")
        refresh = await api.call("POST", "/api/auth/refresh", json={"refresh_token": bad})
        assert_field_error(refresh, "refresh_token")
        verify = await api.call("POST", "/api/auth/verify-email", json={"token": bad})
        assert_field_error(verify, "token")
        reset = await api.call(
            "POST",
            "/api/auth/reset-password",
            json={"token": bad, "new_password": "a long new passphrase"},
        )
        assert_field_error(reset, "token")


async def test_user_search_refuses_a_nul_character(api: Api, admin: Account) -> None:
    reply = await api.call("GET", "/api/users?q=a%00b", token=admin.access_token)
    assert_field_error(reply, "q")
