"""Throttling of logins, sign-ups and emails, in Redis (keys under ``REDIS_PREFIX``).

Buckets and the environment variables that override their defaults:

==================================================  =====================================
bucket                                              environment (default)
==================================================  =====================================
failed logins per account (then 429 until the       ``RATE_LIMIT_LOGIN_ACCOUNT`` (10),
window passes; a password reset clears it)          ``RATE_LIMIT_LOGIN_ACCOUNT_WINDOW`` (900 s)
failed logins per client IP                         ``RATE_LIMIT_LOGIN_IP`` (100),
                                                    ``RATE_LIMIT_LOGIN_IP_WINDOW`` (900 s)
register, forgot-password, resend-verification      ``RATE_LIMIT_SIGNUP_IP`` (60),
per client IP (every request counts)                ``RATE_LIMIT_SIGNUP_IP_WINDOW`` (60 s)
emails (verification, reset) sent per account;      ``RATE_LIMIT_EMAIL_ACCOUNT`` (5),
past it the request still answers 202, unsent       ``RATE_LIMIT_EMAIL_ACCOUNT_WINDOW`` (3600 s)
==================================================  =====================================

A window starts with its first hit and lasts its full length (a fixed window per key, set
atomically with the first increment). The client IP comes from ``TRUSTED_PROXIES`` (see
``empora_auth.throttling.client_ip``). If Redis is down the service keeps serving without
limits (logged), like the gateway.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from empora_auth.settings import AuthSettings
from empora_common.errors import RateLimited

log = structlog.get_logger("empora.auth.throttling")

# INCR every key; a key without expiry gets its window (ARGV[i], milliseconds).
# Returns the count and remaining milliseconds of each key.
_HIT_SCRIPT = """
local out = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    ttl = tonumber(ARGV[i])
    redis.call('PEXPIRE', key, ttl)
  end
  out[#out + 1] = n
  out[#out + 1] = ttl
end
return out
"""

_REDIS_ERRORS = (RedisError, OSError, TimeoutError)


def _retry_after(pttl_ms: int, window: int) -> int:
    if pttl_ms <= 0:
        return window
    return max(1, math.ceil(pttl_ms / 1000))


def _digest(value: str) -> str:
    # Hashed so Redis never holds email addresses in its key names.
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class LoginAllowance:
    """The failure counts seen before a login attempt."""

    account_failures: int
    ip_failures: int


class Throttle:
    """The auth service's rate limits."""

    def __init__(self, redis: Redis, prefix: str, settings: AuthSettings) -> None:
        self.redis = redis
        self.prefix = prefix
        self.settings = settings
        self._hit = redis.register_script(_HIT_SCRIPT)

    def _key(self, bucket: str, ident: str) -> str:
        return f"{self.prefix}auth:throttle:{bucket}:{ident}"

    def account_key(self, email: str) -> str:
        """The failed-login counter of an account (by normalised email)."""
        return self._key("login-account", _digest(email))

    def ip_key(self, ip: str) -> str:
        """The failed-login counter of a client IP."""
        return self._key("login-ip", ip)

    async def check_login(self, email: str, ip: str) -> LoginAllowance:
        """429 when the account or the client IP has used up its failed logins."""
        s = self.settings
        account_key, ip_key = self.account_key(email), self.ip_key(ip)
        try:
            # One MGET on the hot path; the remaining window is read only when refusing.
            acct, ip_count = await self.redis.mget(account_key, ip_key)
            account_failures, ip_failures = int(acct or 0), int(ip_count or 0)
            if account_failures >= s.login_account_limit:
                retry = _retry_after(
                    int(await self.redis.pttl(account_key)), s.login_account_window
                )
                raise RateLimited(
                    retry,
                    "Too many failed logins for this account;"
                    " try again later or reset the password",
                )
            if ip_failures >= s.login_ip_limit:
                retry = _retry_after(int(await self.redis.pttl(ip_key)), s.login_ip_window)
                raise RateLimited(
                    retry, "Too many failed logins from this address; try again later"
                )
        except _REDIS_ERRORS as exc:
            log.warning("throttle_unavailable", error=str(exc))
            return LoginAllowance(0, 0)
        return LoginAllowance(account_failures, ip_failures)

    async def login_failed(self, email: str, ip: str) -> None:
        """Count a failed login against the account and the client IP."""
        s = self.settings
        try:
            await self._hit(
                keys=[self.account_key(email), self.ip_key(ip)],
                args=[s.login_account_window * 1000, s.login_ip_window * 1000],
            )
        except _REDIS_ERRORS as exc:
            log.warning("throttle_unavailable", error=str(exc))

    async def clear_account(self, email: str) -> None:
        """Forget an account's failed logins (after a success or a password reset)."""
        try:
            await self.redis.delete(self.account_key(email))
        except _REDIS_ERRORS as exc:
            log.warning("throttle_unavailable", error=str(exc))

    async def hit_signup(self, ip: str) -> None:
        """Count a register / forgot-password / resend-verification request; 429 past the limit."""
        s = self.settings
        try:
            count, pttl = await self._hit(
                keys=[self._key("signup-ip", ip)], args=[s.signup_ip_window * 1000]
            )
        except _REDIS_ERRORS as exc:
            log.warning("throttle_unavailable", error=str(exc))
            return
        if int(count) > s.signup_ip_limit:
            raise RateLimited(
                _retry_after(int(pttl), s.signup_ip_window),
                "Too many requests from this address; try again later",
            )

    async def allow_email(self, user_id: str) -> bool:
        """Whether one more verification/reset email may go to this account now."""
        s = self.settings
        try:
            count, _ = await self._hit(
                keys=[self._key("email-account", user_id)], args=[s.email_account_window * 1000]
            )
        except _REDIS_ERRORS as exc:
            log.warning("throttle_unavailable", error=str(exc))
            return True
        return int(count) <= s.email_account_limit
