"""docker-compose.yml and the Dockerfile, tested the ways possible without a Docker engine:
the file's structure, that every command it runs exists in the project, and that the health
check commands work against real services here."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from loader import cli
from loader.config import PROJECT_ROOT
from tests.conftest import Stack
from tests.helpers import stop_worker

COMPOSE = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_services_images_and_persistence() -> None:
    assert set(SERVICES) == {"postgres", "redis", "migrate", "worker", "docs"}
    assert SERVICES["postgres"]["image"] == "postgres:16"
    assert SERVICES["redis"]["image"].startswith("redis:7")
    redis_cmd = SERVICES["redis"]["command"]
    assert "--requirepass" in redis_cmd and redis_cmd[redis_cmd.index("--appendonly") + 1] == "yes"
    assert "noeviction" in redis_cmd
    assert {v.split(":")[0] for v in SERVICES["postgres"]["volumes"]} == {"pgdata"}
    assert set(COMPOSE["volumes"]) == {"pgdata", "redisdata"}
    # The Google key is a secret (read-only file), never an environment value or an image layer.
    assert SERVICES["worker"]["secrets"] == ["google_service_account"]
    assert "google_service_account" in COMPOSE["secrets"]
    assert "secrets" in (PROJECT_ROOT / ".dockerignore").read_text().split()


def test_the_file_validates_against_the_compose_specification() -> None:
    """The Compose Specification's JSON Schema (as vendored by check-jsonschema)."""
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("check-jsonschema")),
            "--builtin-schema",
            "vendor.compose-spec",
            str(PROJECT_ROOT / "docker-compose.yml"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_service_the_readme_names_exists() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    compose_part = readme[readme.index("## Production: docker-compose") :]
    named = set(re.findall(r"`(postgres|redis|migrate|worker|docs)` service", compose_part))
    assert named == set(SERVICES)


def test_health_checks_and_restart_policies() -> None:
    for name in ("postgres", "redis", "worker", "docs"):
        assert SERVICES[name]["healthcheck"]["test"], name
        assert SERVICES[name]["restart"] == "unless-stopped", name
    assert SERVICES["migrate"]["restart"] == "no"
    assert (
        SERVICES["worker"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    )
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_secrets_come_from_the_environment_and_are_required() -> None:
    text = (PROJECT_ROOT / "docker-compose.yml").read_text()
    assert "${POSTGRES_PASSWORD:?" in text and "${REDIS_PASSWORD:?" in text
    for name, service in SERVICES.items():
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key or key.endswith("_URL"):
                assert "${" in str(value), f"{name}.{key} is not taken from the environment"
    example = (PROJECT_ROOT / ".env.example").read_text()
    for var in re.findall(r"\$\{([A-Z_]+)", text):
        assert var in example, f"{var} used by docker-compose.yml but missing from .env.example"


@pytest.mark.parametrize("service", ["migrate", "worker", "docs"])
def test_loader_commands_in_compose_exist(service: str) -> None:
    command = SERVICES[service]["command"]
    result = CliRunner().invoke(cli.main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    health = SERVICES["worker"]["healthcheck"]["test"]
    assert health[:2] == ["CMD", "loader"]
    assert CliRunner().invoke(cli.main, [*health[2:], "--help"]).exit_code == 0


def test_dockerfile_copies_what_exists() -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (.+) \S+$", dockerfile, re.MULTILINE):
        for part in source.split():
            assert (PROJECT_ROOT / part).exists(), part
    assert 'ENTRYPOINT ["loader"]' in dockerfile


def test_healthcheck_against_real_services_and_a_real_worker(stack: Stack) -> None:
    env = stack.env()
    check = [sys.executable, "-m", "loader", "healthcheck"]
    assert (
        subprocess.run(check, env=env, capture_output=True, text=True).stdout.strip() == "healthy"
    )

    no_worker = subprocess.run([*check, "--worker"], env=env, capture_output=True, text=True)
    assert no_worker.returncode == 1 and "no live worker for queue" in no_worker.stderr

    worker = subprocess.Popen(
        [sys.executable, "-m", "loader", "worker"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if subprocess.run([*check, "--worker"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.5)
        else:
            pytest.fail("worker never became healthy")
    finally:
        stop_worker(worker)

    broken = {**env, "DATABASE_URL": "postgresql://nobody:x@127.0.0.1:1/none"}
    down = subprocess.run(check, env=broken, capture_output=True, text=True)
    assert down.returncode == 1 and "unhealthy: cannot connect to PostgreSQL" in down.stderr


def test_the_docs_service_command_serves_the_site_and_passes_its_health_check(
    stack: Stack, tmp_path: Path
) -> None:
    """The docs service's command, run here as compose runs it (on a free port, not 8080)."""
    command = [c if c != "0.0.0.0" else "127.0.0.1" for c in SERVICES["docs"]["command"]]  # noqa: S104
    port = _free_port()
    command[command.index("--port") + 1] = str(port)
    health = SERVICES["docs"]["healthcheck"]["test"][1:]  # ["python", "-c", code]
    probe = [sys.executable, health[1], health[2].replace("8080", str(port))]
    assert subprocess.run(probe, capture_output=True).returncode != 0  # nothing there yet
    server = subprocess.Popen(
        [sys.executable, "-m", "loader", *command, "--out", str(tmp_path / "site")],
        env=stack.env(),
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while subprocess.run(probe, capture_output=True).returncode != 0:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "the docs site never answered"
            time.sleep(1)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert (tmp_path / "site" / "catalog.json").exists()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_placeholder_passwords_are_refused(stack: Stack) -> None:
    env = {
        **stack.env(),
        "DATABASE_URL": "postgresql://marketbel:change-me@postgres:5432/marketbel",
    }
    result = subprocess.run(
        [sys.executable, "-m", "loader", "status"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1 and "placeholder password" in result.stderr


def test_env_example_is_complete_for_settings() -> None:
    example = (PROJECT_ROOT / ".env.example").read_text()
    for var in (
        "DATABASE_URL",
        "REDIS_URL",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "LOG_FORMAT",
        "LOG_LEVEL",
    ):
        assert var in example
    assert Path(PROJECT_ROOT / ".gitignore").read_text().count(".env\n") == 1
