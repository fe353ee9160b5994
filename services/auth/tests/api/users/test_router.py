from __future__ import annotations

import asyncio
import uuid

import pytest

from ...support import GOOD_PASSWORD, Account, Api, Database, unique_email

USER_FIELDS = {
    "id",
    "email",
    "first_name",
    "last_name",
    "roles",
    "email_verified",
    "is_active",
    "created_at",
    "updated_at",
}


def assert_problem(reply, status: int, slug: str | None = None) -> None:  # type: ignore[no-untyped-def]
    assert reply.status == status, reply.body
    assert reply.content_type == "application/problem+json"
    assert reply.body["status"] == status
    assert {"type", "title", "detail", "instance", "request_id"} <= set(reply.body)
    if slug is not None:
        assert reply.body["type"] == f"https://empora.dev/problems/{slug}"


class TestRegister:
    async def test_creates_an_unverified_customer(self, api: Api) -> None:
        email = unique_email()
        reply = await api.register(email, first_name="Ada", last_name="Lovelace")
        assert reply.status == 201
        assert set(reply.body) == USER_FIELDS
        assert reply.body["email"] == email
        assert (reply.body["first_name"], reply.body["last_name"]) == ("Ada", "Lovelace")
        assert reply.body["roles"] == ["customer"]
        assert reply.body["email_verified"] is False and reply.body["is_active"] is True
        assert reply.body["created_at"].endswith("Z")
        uuid.UUID(reply.body["id"])

    async def test_stores_the_email_trimmed_and_lower_cased(self, api: Api) -> None:
        email = unique_email()
        reply = await api.register(f"  {email.upper()} ")
        assert reply.status == 201
        assert reply.body["email"] == email

    async def test_accepts_addresses_on_local_development_domains(self, api: Api) -> None:
        email = f"dev-{uuid.uuid4().hex[:8]}@empora.local"
        reply = await api.register(email)
        assert reply.status == 201 and reply.body["email"] == email

    async def test_never_returns_the_password_or_its_hash(self, api: Api, db: Database) -> None:
        reply = await api.register()
        row = (
            await db.fetch(
                "SELECT password_hash FROM auth.user_account WHERE id = $1",
                uuid.UUID(reply.body["id"]),
            )
        )[0]
        assert row["password_hash"].startswith("$argon2id$")
        assert GOOD_PASSWORD not in str(reply.body) and "argon2" not in str(reply.body)

    async def test_refuses_a_duplicate_in_any_letter_case(self, api: Api) -> None:
        email = unique_email()
        assert (await api.register(email)).status == 201
        assert_problem(await api.register(email.upper()), 409, "email-taken")

    async def test_one_of_two_concurrent_sign_ups_with_one_email_wins(self, api: Api) -> None:
        email = unique_email()
        replies = await asyncio.gather(api.register(email), api.register(email))
        assert sorted(r.status for r in replies) == [201, 409]

    @pytest.mark.parametrize("password", ["short1!", "x" * 129, "password123", "Qwerty123"])
    async def test_refuses_a_bad_password_with_422(self, api: Api, password: str) -> None:
        reply = await api.register(password=password)
        assert_problem(reply, 422, "validation-error")
        assert reply.body["errors"][0]["field"] == "password"

    async def test_accepts_a_password_of_exactly_128_characters(self, api: Api) -> None:
        assert (await api.register(password="zq7-mxv!" * 16)).status == 201

    async def test_refuses_a_malformed_email_with_422(self, api: Api) -> None:
        reply = await api.register("not-an-email")
        assert_problem(reply, 422)
        assert reply.body["errors"][0]["field"] == "email"

    @pytest.mark.parametrize(
        "extra", [{"roles": ["admin"]}, {"email_verified": True}, {"is_active": False}]
    )
    async def test_refuses_privileged_fields(self, api: Api, extra: dict[str, object]) -> None:
        assert_problem(await api.register(**extra), 422)

    async def test_refuses_malformed_json_with_400(self, api: Api) -> None:
        reply = await api.call("POST", "/api/auth/register", data=b'{"email": ')
        assert_problem(reply, 400, "malformed-json")

    async def test_writes_the_registered_event_with_the_verification_link(
        self, api: Api, db: Database
    ) -> None:
        reply = await api.register(first_name="Ada")
        events = await db.events(reply.body["id"])
        assert [e["type"] for e in events] == ["user.registered"]
        data = events[0]["data"]
        assert data["user_id"] == reply.body["id"] and data["email"] == reply.body["email"]
        assert data["first_name"] == "Ada"
        assert data["verification_url"].startswith("https://shop.example.test/verify-email?token=")


class TestGetMe:
    async def test_returns_the_callers_profile(self, api: Api, user: Account) -> None:
        reply = await api.call("GET", "/api/auth/me", token=user.access_token)
        assert reply.status == 200
        assert (reply.body["id"], reply.body["email"]) == (user.id, user.email)

    async def test_needs_a_token(self, api: Api) -> None:
        reply = await api.call("GET", "/api/auth/me")
        assert_problem(reply, 401)
        assert reply.headers["WWW-Authenticate"] == "Bearer"

    async def test_refuses_a_non_bearer_authorization(self, api: Api, user: Account) -> None:
        reply = await api.call(
            "GET", "/api/auth/me", headers={"Authorization": f"Basic {user.access_token}"}
        )
        assert_problem(reply, 401)


class TestPatchMe:
    async def test_updates_the_names(self, api: Api, user: Account) -> None:
        reply = await api.call(
            "PATCH",
            "/api/auth/me",
            token=user.access_token,
            json={"first_name": " Grace ", "last_name": "Hopper"},
        )
        assert reply.status == 200
        assert (reply.body["first_name"], reply.body["last_name"]) == ("Grace", "Hopper")
        again = await api.call("GET", "/api/auth/me", token=user.access_token)
        assert again.body["first_name"] == "Grace"

    async def test_leaves_out_fields_unchanged_and_clears_with_null(
        self, api: Api, user: Account
    ) -> None:
        await api.call(
            "PATCH",
            "/api/auth/me",
            token=user.access_token,
            json={"first_name": "Grace", "last_name": "Hopper"},
        )
        reply = await api.call(
            "PATCH", "/api/auth/me", token=user.access_token, json={"last_name": None}
        )
        assert (reply.body["first_name"], reply.body["last_name"]) == ("Grace", None)

    @pytest.mark.parametrize(
        "field,value",
        [
            ("roles", ["admin"]),
            ("email_verified", True),
            ("is_active", False),
            ("email", "other@example.com"),
            ("id", str(uuid.uuid4())),
        ],
    )
    async def test_refuses_mass_assignment_and_applies_nothing(
        self, api: Api, user: Account, field: str, value: object
    ) -> None:
        reply = await api.call(
            "PATCH",
            "/api/auth/me",
            token=user.access_token,
            json={"first_name": "Mallory", field: value},
        )
        assert_problem(reply, 422)
        assert reply.body["errors"][0]["field"] == field
        me = await api.call("GET", "/api/auth/me", token=user.access_token)
        assert me.body["roles"] == ["customer"] and me.body["first_name"] is None
        assert me.body["is_active"] is True and me.body["email_verified"] is False

    async def test_refuses_a_name_over_100_characters(self, api: Api, user: Account) -> None:
        reply = await api.call(
            "PATCH", "/api/auth/me", token=user.access_token, json={"first_name": "x" * 101}
        )
        assert_problem(reply, 422)
        assert reply.body["errors"] == [
            {"field": "first_name", "message": "String should have at most 100 characters"}
        ]

    async def test_needs_a_token(self, api: Api) -> None:
        assert_problem(await api.call("PATCH", "/api/auth/me", json={"first_name": "X"}), 401)


class TestChangePassword:
    async def _change(self, api: Api, account: Account, current: str, new: str):  # type: ignore[no-untyped-def]
        return await api.call(
            "POST",
            "/api/auth/change-password",
            token=account.access_token,
            json={"current_password": current, "new_password": new},
        )

    async def test_sets_the_new_password(self, api: Api, user: Account) -> None:
        reply = await self._change(api, user, user.password, "granite-meadow-93-owl")
        assert reply.status == 204 and reply.body is None
        assert (await api.login(user.email)).status == 401
        assert (await api.login(user.email, "granite-meadow-93-owl")).status == 200

    async def test_revokes_the_other_sessions_but_keeps_this_one(
        self, api: Api, user: Account
    ) -> None:
        other = (await api.login(user.email)).body
        assert (await self._change(api, user, user.password, "granite-meadow-93-owl")).status == 204
        mine = await api.call(
            "POST", "/api/auth/refresh", json={"refresh_token": user.refresh_token}
        )
        theirs = await api.call(
            "POST", "/api/auth/refresh", json={"refresh_token": other["refresh_token"]}
        )
        assert (mine.status, theirs.status) == (200, 401)

    async def test_refuses_a_wrong_current_password(self, api: Api, user: Account) -> None:
        reply = await self._change(api, user, "not-my-password", "granite-meadow-93-owl")
        assert_problem(reply, 401, "invalid-credentials")
        assert (await api.login(user.email)).status == 200

    async def test_refuses_a_weak_new_password(self, api: Api, user: Account) -> None:
        reply = await self._change(api, user, user.password, "password1")
        assert_problem(reply, 422)
        assert reply.body["errors"][0]["field"] == "new_password"

    async def test_needs_a_token(self, api: Api) -> None:
        reply = await api.call(
            "POST",
            "/api/auth/change-password",
            json={"current_password": "a-b-c-d-e", "new_password": "granite-meadow-93-owl"},
        )
        assert_problem(reply, 401)


class TestListUsers:
    async def test_pages_users_newest_first(self, api: Api, admin: Account) -> None:
        tag = uuid.uuid4().hex[:10]
        made = [(await api.register(unique_email(f"list{tag}"))).body["id"] for _ in range(3)]
        reply = await api.call(
            "GET", f"/api/users?q=list{tag}&limit=2&page=1", token=admin.access_token
        )
        assert reply.status == 200
        assert reply.body["meta"] == {"page": 1, "limit": 2, "total": 3, "total_pages": 2}
        assert [u["id"] for u in reply.body["data"]] == made[::-1][:2]
        second = await api.call(
            "GET", f"/api/users?q=list{tag}&limit=2&page=2", token=admin.access_token
        )
        assert [u["id"] for u in second.body["data"]] == [made[0]]

    async def test_searches_names_case_insensitively(self, api: Api, admin: Account) -> None:
        surname = f"Zyx{uuid.uuid4().hex[:8]}"
        target = await api.register(first_name="Hedy", last_name=surname)
        reply = await api.call(
            "GET", f"/api/users?q=hedy {surname.lower()}", token=admin.access_token
        )
        assert [u["id"] for u in reply.body["data"]] == [target.body["id"]]

    async def test_treats_like_wildcards_literally(self, api: Api, admin: Account) -> None:
        reply = await api.call("GET", "/api/users?q=%25_%25", token=admin.access_token)
        assert reply.status == 200 and reply.body["meta"]["total"] == 0

    async def test_refuses_a_limit_over_100(self, api: Api, admin: Account) -> None:
        assert_problem(await api.call("GET", "/api/users?limit=101", token=admin.access_token), 422)

    async def test_is_for_admins_only(self, api: Api, user: Account) -> None:
        assert_problem(await api.call("GET", "/api/users", token=user.access_token), 403)
        assert_problem(await api.call("GET", "/api/users"), 401)


class TestGetUser:
    async def test_returns_a_user(self, api: Api, admin: Account, user: Account) -> None:
        reply = await api.call("GET", f"/api/users/{user.id}", token=admin.access_token)
        assert reply.status == 200 and reply.body["email"] == user.email

    async def test_is_404_for_an_unknown_id(self, api: Api, admin: Account) -> None:
        reply = await api.call("GET", f"/api/users/{uuid.uuid4()}", token=admin.access_token)
        assert_problem(reply, 404, "user-not-found")

    async def test_is_403_for_a_customer_before_anything_else(
        self, api: Api, user: Account
    ) -> None:
        reply = await api.call("GET", f"/api/users/{uuid.uuid4()}", token=user.access_token)
        assert_problem(reply, 403, "admin-required")


class TestPatchUser:
    async def test_grants_a_role(self, api: Api, admin: Account, user: Account) -> None:
        reply = await api.call(
            "PATCH",
            f"/api/users/{user.id}",
            token=admin.access_token,
            json={"roles": ["customer", "admin"]},
        )
        assert reply.status == 200 and reply.body["roles"] == ["customer", "admin"]
        relogin = await api.login(user.email)
        users = await api.call("GET", "/api/users", token=relogin.body["access_token"])
        assert users.status == 200

    async def test_taking_a_role_away_voids_the_tokens_that_carry_it(
        self, api: Api, admin: Account
    ) -> None:
        other = await api.new_user()
        await api.call(
            "PATCH",
            f"/api/users/{other.id}",
            token=admin.access_token,
            json={"roles": ["customer", "admin"]},
        )
        promoted = (await api.login(other.email)).body
        reply = await api.call(
            "PATCH",
            f"/api/users/{other.id}",
            token=admin.access_token,
            json={"roles": ["customer"]},
        )
        assert reply.status == 200
        assert_problem(await api.call("GET", "/api/users", token=promoted["access_token"]), 401)
        fresh = await api.call(
            "POST", "/api/auth/refresh", json={"refresh_token": promoted["refresh_token"]}
        )
        assert fresh.status == 200
        assert_problem(await api.call("GET", "/api/users", token=fresh.body["access_token"]), 403)

    async def test_deactivating_cuts_every_session_at_once(
        self, api: Api, admin: Account, user: Account
    ) -> None:
        reply = await api.call(
            "PATCH", f"/api/users/{user.id}", token=admin.access_token, json={"is_active": False}
        )
        assert reply.status == 200 and reply.body["is_active"] is False
        assert_problem(await api.call("GET", "/api/auth/me", token=user.access_token), 401)
        refresh = await api.call(
            "POST", "/api/auth/refresh", json={"refresh_token": user.refresh_token}
        )
        assert_problem(refresh, 401)
        assert_problem(await api.login(user.email), 401, "invalid-credentials")

    async def test_reactivating_lets_the_user_sign_in_again(
        self, api: Api, admin: Account, user: Account
    ) -> None:
        path = f"/api/users/{user.id}"
        await api.call("PATCH", path, token=admin.access_token, json={"is_active": False})
        await api.call("PATCH", path, token=admin.access_token, json={"is_active": True})
        assert (await api.login(user.email)).status == 200

    @pytest.mark.parametrize(
        "body",
        [
            {"email": "x@example.com"},
            {"email_verified": True},
            {"roles": ["superuser"]},
            {"roles": []},
            {"is_active": "no"},
        ],
    )
    async def test_refuses_invalid_or_unknown_fields(
        self, api: Api, admin: Account, user: Account, body: dict[str, object]
    ) -> None:
        reply = await api.call(
            "PATCH", f"/api/users/{user.id}", token=admin.access_token, json=body
        )
        assert_problem(reply, 422)

    async def test_an_admin_cannot_demote_or_deactivate_itself(
        self, api: Api, admin: Account
    ) -> None:
        path = f"/api/users/{admin.id}"
        for body in ({"roles": ["customer"]}, {"is_active": False}):
            reply = await api.call("PATCH", path, token=admin.access_token, json=body)
            assert_problem(reply, 409, "cannot-change-own-access")

    async def test_is_admin_only(self, api: Api, user: Account) -> None:
        reply = await api.call(
            "PATCH", f"/api/users/{user.id}", token=user.access_token, json={"roles": ["admin"]}
        )
        assert_problem(reply, 403)


class TestDeleteUser:
    async def test_soft_deletes_a_user_who_is_then_gone(
        self, api: Api, admin: Account, user: Account, db: Database
    ) -> None:
        reply = await api.call("DELETE", f"/api/users/{user.id}", token=admin.access_token)
        assert reply.status == 204
        assert_problem(
            await api.call("GET", f"/api/users/{user.id}", token=admin.access_token), 404
        )
        assert_problem(
            await api.call("DELETE", f"/api/users/{user.id}", token=admin.access_token), 404
        )
        listed = await api.call("GET", f"/api/users?q={user.email}", token=admin.access_token)
        assert listed.body["data"] == []
        assert_problem(await api.login(user.email), 401)
        assert_problem(await api.call("GET", "/api/auth/me", token=user.access_token), 401)
        rows = await db.fetch(
            "SELECT deleted_at FROM auth.user_account WHERE id = $1", uuid.UUID(user.id)
        )
        assert rows[0]["deleted_at"] is not None

    async def test_revokes_the_users_sessions(
        self, api: Api, admin: Account, user: Account
    ) -> None:
        await api.call("DELETE", f"/api/users/{user.id}", token=admin.access_token)
        reply = await api.call(
            "POST", "/api/auth/refresh", json={"refresh_token": user.refresh_token}
        )
        assert_problem(reply, 401)

    async def test_frees_the_email_for_a_new_account(
        self, api: Api, admin: Account, user: Account
    ) -> None:
        await api.call("DELETE", f"/api/users/{user.id}", token=admin.access_token)
        again = await api.register(user.email)
        assert again.status == 201 and again.body["id"] != user.id

    async def test_an_admin_cannot_delete_itself(self, api: Api, admin: Account) -> None:
        reply = await api.call("DELETE", f"/api/users/{admin.id}", token=admin.access_token)
        assert_problem(reply, 409)

    async def test_is_admin_only(self, api: Api, user: Account) -> None:
        reply = await api.call("DELETE", f"/api/users/{user.id}", token=user.access_token)
        assert_problem(reply, 403)
