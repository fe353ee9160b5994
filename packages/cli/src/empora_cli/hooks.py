"""The services' in-process set-up hooks (admin, keys, catalog), imported only when used."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from empora_common.constants import ALL_SERVICES
from empora_common.migrations import upgrade
from empora_common.paths import migrations_dir


class HookUnavailable(RuntimeError):
    """A service has not written the hook yet (or it cannot be imported)."""


def _load(module: str, attribute: str) -> Any:
    try:
        loaded = importlib.import_module(module)
    except ImportError as exc:
        raise HookUnavailable(f"{module} cannot be imported ({exc})") from exc
    try:
        return getattr(loaded, attribute)
    except AttributeError as exc:
        raise HookUnavailable(f"{module}.{attribute} does not exist") from exc


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    """Call a hook that may be sync or async."""
    result = fn(*args)
    if inspect.isawaitable(result):

        async def wait() -> Any:
            return await result

        return asyncio.run(wait())
    return result


def auth_settings() -> Any:
    """``AuthSettings()`` from the current environment."""
    return _load("empora_auth.settings", "AuthSettings")()


def product_settings() -> Any:
    """``ProductSettings()`` from the current environment."""
    return _load("empora_product.settings", "ProductSettings")()


def ensure_admin(email: str, password: str) -> Any:
    """Create (or update) the admin account: verified, role admin."""
    return _call(_load("empora_auth.admin", "ensure_admin"), auth_settings(), email, password)


def rotate_keys() -> Any:
    """Rotate the auth service's signing keys."""
    return _call(_load("empora_auth.keys", "rotate"), auth_settings())


def catalog_is_empty() -> bool:
    """True when the product service has no products yet."""
    settings = product_settings()
    return bool(_call(_load("empora_product.seed", "catalog_is_empty"), settings))


def seed_catalog(progress: Callable[..., Any]) -> Any:
    """Load the demo catalog, reporting progress."""
    settings = product_settings()
    return _call(_load("empora_product.seed", "seed_catalog"), settings, progress)


def services_with_migrations() -> list[str]:
    """Services that own tables (an Alembic folder with an ``env.py``)."""
    return [s for s in ALL_SERVICES if (migrations_dir(s) / "env.py").is_file()]


def migrate(database_url: str, on_service: Callable[[str], None] | None = None) -> list[str]:
    """Run every service's migrations up to head; returns the services migrated."""
    done: list[str] = []
    for service in services_with_migrations():
        if on_service is not None:
            on_service(service)
        folder: Path = migrations_dir(service)
        upgrade(folder, database_url)
        done.append(service)
    return done


def missing_services() -> list[str]:
    """Modules ``up`` runs that cannot be found: each service's app, and the SMTP sink."""
    modules = [f"empora_{service}.app" for service in ALL_SERVICES]
    modules.append("empora_notification.sink")
    missing = []
    for module in modules:
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            missing.append(module)
    return missing
