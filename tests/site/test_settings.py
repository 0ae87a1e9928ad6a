"""DATABASE_URL and the legacy MONITORING_DB_* variables pick the engine; SECRET_KEY is enforced."""
import json
import subprocess
import sys

from tests.conftest import ROOT

SHOW_DATABASE = (
    "import json, django; django.setup(); from django.conf import settings;"
    "print(json.dumps(settings.DATABASES['default'], default=str))"
)


def settings_in_subprocess(env_overrides, tmp_path, code=SHOW_DATABASE):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "monitoring_site.settings",
        **env_overrides,
    }
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def database_for(env_overrides, tmp_path):
    done = settings_in_subprocess(env_overrides, tmp_path)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_default_database_is_sqlite_under_data_monitoring(tmp_path):
    database = database_for({}, tmp_path)
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(ROOT / "data" / "monitoring" / "monitoring.db")


def test_sqlite_is_set_up_for_concurrent_use(tmp_path):
    database = database_for({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}, tmp_path)
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in database["OPTIONS"]["init_command"]
    assert database["OPTIONS"]["timeout"] >= 5


def test_database_url_selects_postgresql(tmp_path):
    database = database_for(
        {"DATABASE_URL": "postgres://alice:secret@db.example:6543/monitoring"}, tmp_path
    )
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["USER"], database["NAME"]) == (
        "db.example", 6543, "alice", "monitoring",
    )


def test_database_url_selects_sqlite_file(tmp_path):
    database = database_for({"DATABASE_URL": f"sqlite:///{tmp_path}/sub/site.db"}, tmp_path)
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == f"{tmp_path}/sub/site.db"
    assert (tmp_path / "sub").is_dir()  # the folder is created


def test_legacy_variables_select_sqlite_path(tmp_path):
    database = database_for(
        {"MONITORING_DB_TYPE": "sqlite", "MONITORING_DB_PATH": f"{tmp_path}/legacy.db"}, tmp_path
    )
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == f"{tmp_path}/legacy.db"


def test_legacy_variables_select_postgresql(tmp_path):
    database = database_for(
        {
            "MONITORING_DB_TYPE": "postgresql",
            "MONITORING_DB_HOST": "pg.internal",
            "MONITORING_DB_PORT": "5433",
            "MONITORING_DB_USER": "monitor",
            "MONITORING_DB_PASSWORD": "pw",
            "MONITORING_DB_NAME": "monitoring_prod",
        },
        tmp_path,
    )
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["USER"], database["NAME"]) == (
        "pg.internal", 5433, "monitor", "monitoring_prod",
    )


def test_database_url_wins_over_legacy_variables(tmp_path):
    database = database_for(
        {"DATABASE_URL": f"sqlite:///{tmp_path}/url.db", "MONITORING_DB_TYPE": "postgresql"},
        tmp_path,
    )
    assert database["NAME"] == f"{tmp_path}/url.db"


def test_unknown_legacy_type_is_a_clear_error(tmp_path):
    done = settings_in_subprocess({"MONITORING_DB_TYPE": "oracle"}, tmp_path)
    assert done.returncode != 0
    assert "MONITORING_DB_TYPE must be 'sqlite' or 'postgresql'" in done.stderr


def test_debug_off_without_secret_key_stops_with_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DEBUG": "false",
             "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"},
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "Configuration error: SECRET_KEY must be set when DEBUG is false (see .env.example)"
    ]


def test_debug_off_with_secret_key_starts(tmp_path):
    done = settings_in_subprocess(
        {"DEBUG": "false", "SECRET_KEY": "x" * 60, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"},
        tmp_path,
        code="import django; django.setup(); from django.conf import settings;"
        "print(settings.DEBUG, settings.SESSION_COOKIE_SECURE)",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]


def test_legacy_email_variables_configure_smtp(tmp_path):
    done = settings_in_subprocess(
        {"ALERT_EMAIL_ENABLED": "true", "ALERT_EMAIL_SMTP_SERVER": "smtp.example",
         "ALERT_EMAIL_SMTP_PORT": "2525", "ALERT_EMAIL_SENDER": "bot@example.com",
         "ALERT_EMAIL_USE_TLS": "false"},
        tmp_path,
        code="import django; django.setup(); from django.conf import settings as s;"
        "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_HOST_USER, s.EMAIL_USE_TLS)",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "django.core.mail.backends.smtp.EmailBackend", "smtp.example", "2525",
        "bot@example.com", "False",
    ]


def test_email_url_wins_over_legacy_email_variables(tmp_path):
    done = settings_in_subprocess(
        {"EMAIL_URL": "smtp://mailer:pw@mail.example:1025", "ALERT_EMAIL_ENABLED": "true",
         "ALERT_EMAIL_SMTP_SERVER": "smtp.legacy"},
        tmp_path,
        code="import django; django.setup(); from django.conf import settings as s;"
        "print(s.EMAIL_HOST, s.EMAIL_PORT)",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["mail.example", "1025"]


def test_a_first_migrate_on_sqlite_reports_no_issue(tmp_path):
    # A new user's first command migrates a fresh SQLite file: no warning to puzzle over
    # (the PostgreSQL covering index made SQLite print models.W040).
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
             "DATABASE_URL": f"sqlite:///{tmp_path}/fresh.db"},
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "System check identified" not in done.stdout + done.stderr
    assert "W040" not in done.stdout + done.stderr
