"""Fresh benchmark databases: create, migrate, connect."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
# The site's own SQLite settings (monitoring_site/database.py), so raw SQLite is measured
# under the same durability the site runs with.
SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL")


def pg_url(name: str, admin_url: str = ADMIN_URL) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path="/" + name))


def pg_connect(url: str):
    return psycopg2.connect(url)


def recreate_pg(name: str, admin_url: str = ADMIN_URL) -> str:
    """Drop and create database `name`; return its URL."""
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return pg_url(name, admin_url)


def drop_pg(name: str, admin_url: str = ADMIN_URL) -> None:
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def fresh_sqlite(path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def sqlite_connect(path: Path | str) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=20, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(pragma)
    return conn


def manage(database_url: str, *args: str, env: dict | None = None) -> str:
    """Run manage.py against `database_url`; return its stdout."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def migrate(database_url: str) -> None:
    manage(database_url, "migrate", "--noinput", "--skip-checks", "-v", "0")


USER_SCRIPT = """
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
user, _ = get_user_model().objects.get_or_create(username={username!r})
for perm in {perms!r}:
    app_label, codename = perm.split(".")
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label=app_label, codename=codename))
token, _ = Token.objects.get_or_create(user=user)
print(token.key)
"""


def make_token(database_url: str, username: str, perms: list[str]) -> str:
    """Create a user with `perms` and an API token in that database; return the key."""
    code = USER_SCRIPT.format(username=username, perms=list(perms))
    return manage(database_url, "shell", "-c", code).strip().splitlines()[-1]
