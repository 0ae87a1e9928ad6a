"""Choose the database from the environment: DATABASE_URL first, then the legacy variables.

Kept apart from settings.py so the choice can be tested as a plain function.
"""
import contextlib
from pathlib import Path

import environ

# SQLite is shared by two web workers and two monitor processes in production: WAL lets
# readers run beside a writer, the timeout waits for a lock instead of failing at once,
# and IMMEDIATE transactions take the write lock up front so two writers never deadlock
# upgrading a read lock.
SQLITE_OPTIONS = {
    "timeout": 20,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}


def database_config(env: environ.Env, base_dir: Path) -> dict:
    """Return Django's DATABASES['default'] for this environment."""
    default_path = base_dir / "data" / "monitoring" / "monitoring.db"
    if env.str("DATABASE_URL", default=""):
        config = env.db_url("DATABASE_URL")
    elif env.str("MONITORING_DB_TYPE", default=""):
        config = _legacy_database_config(env, default_path)
    else:
        config = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(default_path)}

    if config["ENGINE"] == "django.db.backends.sqlite3":
        name = str(config["NAME"])
        if name not in ("", ":memory:") and not name.startswith("file:"):
            # A folder that cannot be made surfaces later as "database unavailable"
            # (/healthz 503), not as a crash at import time.
            with contextlib.suppress(OSError):
                Path(name).parent.mkdir(parents=True, exist_ok=True)
        config["OPTIONS"] = {**SQLITE_OPTIONS, **config.get("OPTIONS", {})}
    else:
        # Reuse connections for a minute; check them before use so a restarted
        # database does not hand out dead connections.
        config.setdefault("CONN_MAX_AGE", 60)
        config.setdefault("CONN_HEALTH_CHECKS", True)
        config.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    return config


def _legacy_database_config(env: environ.Env, default_path: Path) -> dict:
    """The legacy MONITORING_DB_* variables, as the file-based library read them."""
    db_type = env.str("MONITORING_DB_TYPE").strip().lower()
    if db_type == "sqlite":
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.str("MONITORING_DB_PATH", default=str(default_path)),
        }
    if db_type in ("postgresql", "postgres"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": env.str("MONITORING_DB_HOST", default="localhost"),
            "PORT": env.int("MONITORING_DB_PORT", default=5432),
            "USER": env.str("MONITORING_DB_USER", default="postgres"),
            "PASSWORD": env.str("MONITORING_DB_PASSWORD", default=""),
            "NAME": env.str("MONITORING_DB_NAME", default="monitoring"),
        }
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"MONITORING_DB_TYPE must be 'sqlite' or 'postgresql', not {db_type!r}"
    )
