"""docker-compose.yml runs what it says: the services, their commands and their environment.

No Docker is needed: the file is parsed, its commands are resolved against this source tree,
and the production settings are loaded (and `check --deploy`ed) with the file's environment.
"""

import importlib.util
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("postgres", "redis", "web", "worker", "beat")
APP_SERVICES = ("web", "worker", "beat")
REQUIRED_ENV = (
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "PUBLIC_BASE_URL",
    "SALESFORCE_CLIENT_ID",
    "SALESFORCE_CLIENT_SECRET",
    "TOKEN_ENCRYPTION_KEYS",
    "NOTETAKER_WEBHOOK_SECRET",
)
SECRET_VARIABLES = (
    "DJANGO_SECRET_KEY",
    "TOKEN_ENCRYPTION_KEYS",
    "NOTETAKER_WEBHOOK_SECRET",
    "POSTGRES_PASSWORD",
    "SALESFORCE_CLIENT_SECRET",
)
# What an operator would export; stand-ins, never real secrets.
OPERATOR_ENV = {
    "POSTGRES_PASSWORD": "compose-test-password",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "workestra.example.com",
    "PUBLIC_BASE_URL": "https://workestra.example.com",
    "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "NOTETAKER_WEBHOOK_SECRET": secrets.token_hex(16),
    "SALESFORCE_CLIENT_ID": "compose-test-client",
    "SALESFORCE_CLIENT_SECRET": secrets.token_hex(16),
}
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:\?|:-|\?|-)(?P<arg>[^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} and $$; a missing required variable fails."""

    def replace(match):
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name", "op", "arg")
        if env.get(name):
            return env[name]
        if op in (":?", "?"):
            pytest.fail(f"compose requires {name} ({arg}) and the operator env here lacks it")
        return arg if op in (":-", "-") else ""

    return _VARIABLE.sub(replace, value)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def service_env(compose, name) -> dict[str, str]:
    environment = compose["services"][name].get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {key: interpolate(str(value), OPERATOR_ENV) for key, value in environment.items()}


def run_python(code_or_args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, *code_or_args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_all_five_services_exist(compose):
    assert set(SERVICES) <= set(compose["services"])
    assert compose["services"]["postgres"]["image"].startswith("postgres:16")
    assert compose["services"]["redis"]["image"].startswith("redis:7")


@pytest.mark.parametrize("name", list(SERVICES) + ["migrate"])
def test_each_service_has_a_healthcheck_or_waits_on_a_condition(compose, name):
    service = compose["services"][name]
    depends_on = service.get("depends_on") or {}
    conditions = [dep.get("condition") for dep in depends_on.values()] if isinstance(depends_on, dict) else []

    assert service.get("healthcheck") or (conditions and all(conditions)), name


def test_app_services_start_after_migrations_and_a_healthy_broker(compose):
    for name in APP_SERVICES:
        depends_on = compose["services"][name]["depends_on"]
        assert depends_on["migrate"]["condition"] == "service_completed_successfully"
        assert depends_on["redis"]["condition"] == "service_healthy"
    assert compose["services"]["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert compose["services"]["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_have_every_required_variable(compose, name):
    env = service_env(compose, name)

    assert set(REQUIRED_ENV) <= set(env), set(REQUIRED_ENV) - set(env)
    assert env["DJANGO_SETTINGS_MODULE"] == "workestra.settings.production"
    assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
    assert env["REDIS_URL"].startswith("redis://redis:6379/")


def test_no_secret_is_written_into_the_file():
    text = (ROOT / "docker-compose.yml").read_text()
    for line in text.splitlines():
        name = line.strip().split(":", 1)[0]
        if name in SECRET_VARIABLES:
            assert "${" in line, f"{name} must come from the operator's environment: {line.strip()}"


def test_every_command_points_at_something_that_exists(compose):
    services = compose["services"]
    build_contexts = {ROOT / s["build"] for s in services.values() if isinstance(s.get("build"), str)}
    assert build_contexts == {ROOT} and (ROOT / "Dockerfile").is_file()
    assert services["web"]["command"][:2] == ["gunicorn", "workestra.wsgi:application"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "workestra", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "workestra", "beat"]
    assert services["web"]["healthcheck"]["test"] == ["CMD", "python", "-m", "workestra.healthcheck"]
    assert importlib.util.find_spec("workestra.healthcheck") is not None
    assert (ROOT / "manage.py").is_file()
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert (
        "pip install --require-hashes -r requirements/prod.txt" in dockerfile
        and "pip install --no-deps ." in dockerfile
    )
    assert "collectstatic" in dockerfile and "workestra.wsgi:application" in dockerfile


def test_the_wsgi_app_and_the_celery_app_load_with_the_web_environment(compose):
    env = service_env(compose, "web")
    code = (
        "import importlib\n"
        "module, attr = 'workestra.wsgi:application'.split(':')\n"
        "app = getattr(importlib.import_module(module), attr)\n"
        "assert callable(app), app\n"
        "from celery.app.utils import find_app\n"
        "celery = find_app('workestra')\n"
        "assert celery.main == 'workestra', celery\n"
        "print(celery.conf.broker_url)\n"
    )

    result = run_python(["-c", code], env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "redis://redis:6379/0"


def test_production_settings_pass_check_deploy_without_warnings(compose):
    result = run_python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], service_env(compose, "web"))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
