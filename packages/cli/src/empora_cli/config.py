"""What ``empora`` runs where: ports, state folder, SMTP, timeouts — all from the environment."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from empora_common.constants import ALL_SERVICES, DEFAULT_PORTS
from empora_common.infra import read_dotenv, resolve_state_dir
from empora_common.paths import repo_root

DEFAULT_SMTP_SINK_PORT = 1025
DEFAULT_SMTP_SINK_HTTP_PORT = 8025
DEFAULT_ADMIN_EMAIL = "admin@empora.local"
SECRETS_FILE = "secrets.env"


def layered_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment over ``.env`` in the working directory (the environment wins)."""
    env = dict(read_dotenv(Path.cwd() / ".env"))
    env.update(os.environ if base is None else base)
    return env


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, not {value!r}") from exc


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name)
    if not value:
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, not {value!r}") from exc


@dataclass(frozen=True)
class PlatformConfig:
    """Everything ``empora up`` needs to know before it starts anything."""

    state_dir: Path
    host: str
    ports: Mapping[str, int]
    smtp_host: str | None
    smtp_port: int | None
    sink_port: int
    sink_http_port: int
    up_timeout: float
    env: Mapping[str, str] = field(repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PlatformConfig:
        """Read ``<SERVICE>_PORT``, ``EMPORA_HOST``, ``SMTP_*``, ``EMPORA_STATE_DIR``..."""
        values = layered_env(env)
        ports = {s: _int(values, f"{s.upper()}_PORT", DEFAULT_PORTS[s]) for s in ALL_SERVICES}
        state = values.get("EMPORA_STATE_DIR")
        smtp_host = values.get("SMTP_HOST") or None
        return cls(
            state_dir=Path(state).resolve() if state else resolve_state_dir(),
            host=values.get("EMPORA_HOST") or "127.0.0.1",
            ports=ports,
            smtp_host=smtp_host,
            smtp_port=_int(values, "SMTP_PORT", 25) if smtp_host else None,
            sink_port=_int(values, "SMTP_SINK_PORT", DEFAULT_SMTP_SINK_PORT),
            sink_http_port=_int(values, "SMTP_SINK_HTTP_PORT", DEFAULT_SMTP_SINK_HTTP_PORT),
            up_timeout=_float(values, "EMPORA_UP_TIMEOUT", 120.0),
            env=values,
        )

    @property
    def connect_host(self) -> str:
        """Where this machine reaches the services (a wildcard bind is reached locally)."""
        return "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host

    def service_url(self, service: str) -> str:
        """``http://host:port`` of one service."""
        return f"http://{self.connect_host}:{self.ports[service]}"

    @property
    def gateway_url(self) -> str:
        """The public entry point as users type it."""
        return f"http://localhost:{self.ports['gateway']}"

    @property
    def sink_http_url(self) -> str:
        """The SMTP sink's web page listing the emails it kept."""
        return f"http://127.0.0.1:{self.sink_http_port}"

    @property
    def logs_dir(self) -> Path:
        """``<state>/logs``: one log file per process."""
        return self.state_dir / "logs"

    @property
    def workdir(self) -> Path:
        """Where child processes run (the checkout, so its ``.env`` applies)."""
        return repo_root()


def load_secrets(state_dir: Path) -> dict[str, str]:
    """The generated secrets of ``<state>/secrets.env``."""
    return read_dotenv(state_dir / SECRETS_FILE)


def ensure_secrets(config: PlatformConfig) -> dict[str, str]:
    """The internal token and admin credentials: configured, else generated once and kept.

    Returns only values that the environment did not set (to add to the services' env).
    """
    path = config.state_dir / SECRETS_FILE
    stored = load_secrets(config.state_dir)
    changed = False
    if not config.env.get("INTERNAL_API_TOKEN") and not stored.get("INTERNAL_API_TOKEN"):
        stored["INTERNAL_API_TOKEN"] = secrets.token_urlsafe(32)
        changed = True
    if not config.env.get("EMPORA_ADMIN_PASSWORD") and not stored.get("EMPORA_ADMIN_PASSWORD"):
        stored["EMPORA_ADMIN_PASSWORD"] = secrets.token_urlsafe(12)
        changed = True
    if changed:
        config.state_dir.mkdir(parents=True, exist_ok=True)
        lines = [f"{key}={value}" for key, value in sorted(stored.items())]
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)
    return {key: value for key, value in stored.items() if not config.env.get(key)}
