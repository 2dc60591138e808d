"""The deployment files are valid and say what the suite needs, checked offline.

- docker-compose.yml: the Compose Specification JSON schema (vendored next to
  this file, see compose-spec.json.NOTICE), then what the schema cannot know:
  dependencies, commands, variables, database roles, the town settings mount.
- deploy/k8s: built-in kinds against the Kubernetes OpenAPI schemas
  (kubernetes-validate, strict: unknown fields are errors), operator kinds
  (RabbitmqCluster, CloudNativePG Cluster and Database) and the kustomization
  against the small schemas below (only the fields we use), then probes,
  resources, security, and every ConfigMap/Secret reference.
- deploy/Dockerfile: known instructions, stages, pinned requirements, no build
  tools and a non-root user in the final stage.

Each family of checks is a function returning a list of problems: the tests
assert that the real files have none, and that a broken copy has some (so a
check that silently stopped checking fails too).
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from packaging.requirements import Requirement

from guichet_common.config import SERVICES

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE_SCHEMA = HERE / "compose-spec.json"
COMPOSE_SCHEMA_SHA256 = "0dc04bd346dcfee1b1419628fff79937bbf076925f298f272a2b490e2b112bac"
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
REQUIREMENTS = ROOT / "requirements.txt"
DEV_REQUIREMENTS = ROOT / "requirements-dev.txt"
DEVTOOLS_REQUIREMENTS = ROOT / "requirements-devtools.txt"
# The development tools: not in the production image (docker-compose's mail catcher has its own).
DEVTOOLS = ROOT / "services" / "devtools"
TEST_TOOLS = ("pytest", "pytest-timeout", "kubernetes-validate", "iniconfig", "pluggy")
TOWN_EXAMPLE = DEPLOY / "town.example.yaml"
INIT_DATABASES = DEPLOY / "postgres" / "init-databases.sh"

BASE_IMAGE = "python:3.11-slim-bookworm"
# The oldest Kubernetes release the manifests must suit, and the newest known.
K8S_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
DATA_DIR = "/var/lib/guichet"
TOWN_PATH = "/etc/guichet/town.yaml"
METRICS_PORT_BASE = 9300
KNOWN_ENV_PREFIXES = ("GUICHET_", "POSTGRES_", "RABBITMQ_")
KNOWN_ENV_NAMES = {"PROMETHEUS_MULTIPROC_DIR"}


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_yaml_documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def known_env_name(name: str) -> bool:
    return name.startswith(KNOWN_ENV_PREFIXES) or name in KNOWN_ENV_NAMES


def _source_guichet_variables() -> set[str]:
    """Every GUICHET_* name written in the suite's Python sources (tests excluded)."""
    names = set()
    for folder in [ROOT / "contracts", *sorted((ROOT / "services").iterdir())]:
        for path in folder.rglob("*.py"):
            if "tests" in path.relative_to(folder).parts:
                continue
            names.update(re.findall(r"\bGUICHET_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(encoding="utf-8")))
    return names


SOURCE_VARIABLES = _source_guichet_variables()
DATABASE_URL_VARIABLE = re.compile(r"^GUICHET_(%s)_DATABASE_URL$" % "|".join(s.upper() for s in SERVICES))


def read_by_the_code(name: str) -> bool:
    """A GUICHET_ variable some code reads (a typo in a deployment file would be silently ignored)."""
    return name in SOURCE_VARIABLES or bool(DATABASE_URL_VARIABLE.match(name))


# =============================================================================
# docker-compose.yml
# =============================================================================
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")
GUICHET_COMMANDS = {"service", "migrate", "health", "mailcatcher"}
# The stage of deploy/Dockerfile with the development tools (docker-compose's mail catcher only).
DEVTOOLS_STAGE = "devtools"


def compose_schema() -> dict:
    return json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))


def compose_schema_problems(doc: dict) -> list[str]:
    # The schema declares draft 2019-09 (with a "$schema" URI jsonschema does not know by that spelling).
    validator = jsonschema.Draft201909Validator(compose_schema())
    return [f"schema: {error.json_path}: {error.message}" for error in validator.iter_errors(doc)]


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _command(service: dict) -> list[str]:
    command = service.get("command")
    if isinstance(command, str):
        return shlex.split(command)
    return list(command or [])


def _uses_guichet_image(service: dict) -> bool:
    return "build" in service or "guichet" in str(service.get("image", "")).split("/")[-1].split(":")[0]


def _defaults_of(text: str) -> dict[str, str]:
    return {m.group(1): m.group(3) or "" for m in INTERPOLATION.finditer(text) if m.group(2) in (":-", "-")}


def _strings(node) -> list[str]:
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in _strings(key) + _strings(value)]
    if isinstance(node, list):
        return [text for item in node for text in _strings(item)]
    return [node] if isinstance(node, str) else []


def compose_semantic_problems(doc: dict) -> list[str]:
    services = doc.get("services") or {}
    problems = _missing_compose_services(services) + _interpolation_problems(doc)
    postgres_env = _environment(services.get("postgres", {}))
    for name, service in services.items():
        problems += _environment_name_problems(name, service) + _depends_on_problems(name, service, services)
        if _uses_guichet_image(service):
            problems += _guichet_container_problems(name, service, postgres_env)
    return (problems + _rabbitmq_problems(services) + _postgres_problems(doc, services)
            + _gateway_problems(services) + _published_port_problems(services) + _mail_catcher_problems(services)
            + _development_sms_problems(doc, services) + _bind_mount_problems(services))


def _missing_compose_services(services: dict) -> list[str]:
    expected = {"rabbitmq", "postgres", "gateway", "mailcatcher", *SERVICES, *(f"{s}-migrate" for s in SERVICES)}
    return [f"service {name} missing" for name in sorted(expected - set(services))]


def _interpolation_problems(doc: dict) -> list[str]:
    """Interpolated variables (${NAME:-default}) follow the same naming rule as environment entries."""
    values = "\n".join(_strings(doc))  # where Compose interpolates ${...} (not in comments)
    problems = [f"interpolation variable {name} is neither GUICHET_* nor a known name"
                for name in sorted({m.group(1) for m in INTERPOLATION.finditer(values)}) if not known_env_name(name)]
    defaults: dict[str, set[str]] = {}
    for m in INTERPOLATION.finditer(values):
        defaults.setdefault(m.group(1), set()).add(m.group(3) or "")
    return problems + [f"${{{name}}} has different defaults: {sorted(found)}"
                       for name, found in sorted(defaults.items()) if len(found) > 1]


def _environment_name_problems(name: str, service: dict) -> list[str]:
    return [f"{name}: variable {variable} is neither GUICHET_* nor a known name"
            for variable in _environment(service) if not known_env_name(variable)]


def _depends_on_problems(name: str, service: dict, services: dict) -> list[str]:
    problems = []
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):
        depends = {target: {"condition": "service_started"} for target in depends}
    for target, condition in depends.items():
        if target not in services:
            problems.append(f"{name}: depends on unknown service {target}")
            continue
        condition = (condition or {}).get("condition", "service_started")
        if condition == "service_healthy" and "healthcheck" not in services[target]:
            problems.append(f"{name}: waits for {target} to be healthy but it has no healthcheck")
        if condition == "service_completed_successfully" and services[target].get("restart", "no") != "no":
            problems.append(f"{name}: waits for {target} to complete but {target} restarts")
    return problems


def _guichet_container_problems(name: str, service: dict, postgres_env: dict) -> list[str]:
    """A container of the Guichet image: command, settings, mounts, and its one database if it owns one."""
    env = _environment(service)
    problems = [f"{name}: {variable} is read by no code (typo?)"
                for variable in env if variable.startswith("GUICHET_") and not read_by_the_code(variable)]
    problems += _guichet_command_problems(name, _command(service)) + _guichet_settings_problems(name, service, env)
    urls = {k: v for k, v in env.items() if k.endswith("_DATABASE_URL")}
    owner = name.removesuffix("-migrate")
    if owner in SERVICES:
        problems += _own_database_problems(name, owner, urls, postgres_env)
        problems += _service_container_problems(name, owner, service)
    elif urls:
        problems.append(f"{name}: has database URLs {sorted(urls)} but owns no database")
    return problems


def _guichet_command_problems(name: str, command: list[str]) -> list[str]:
    if not command:
        return [f"{name}: the Guichet image needs a command"]
    if command[0] == "guichet" and (len(command) < 2 or command[1] not in GUICHET_COMMANDS):
        return [f"{name}: unknown guichet command {command[1:2]}"]
    if command[0] not in ("guichet", "gunicorn"):
        return [f"{name}: unexpected program {command[0]}"]
    return []


def _guichet_settings_problems(name: str, service: dict, env: dict) -> list[str]:
    problems = []
    if env.get("GUICHET_TOWN_SETTINGS") != TOWN_PATH:
        problems.append(f"{name}: GUICHET_TOWN_SETTINGS should be {TOWN_PATH}")
    if env.get("GUICHET_DATA_DIR") != DATA_DIR:
        problems.append(f"{name}: GUICHET_DATA_DIR should be {DATA_DIR}")
    if "@rabbitmq:5672" not in env.get("GUICHET_AMQP_URI", ""):
        problems.append(f"{name}: GUICHET_AMQP_URI should point at the rabbitmq service")
    mounts = [str(v) for v in service.get("volumes") or []]
    if f"./deploy/town.example.yaml:{TOWN_PATH}:ro" not in mounts:
        problems.append(f"{name}: the town settings file is not mounted read-only at {TOWN_PATH}")
    if service.get("read_only") is not True or "/tmp" not in (service.get("tmpfs") or []):
        problems.append(f"{name}: read-only root file system with a /tmp tmpfs expected")
    return problems


def _own_database_problems(name: str, owner: str, urls: dict, postgres_env: dict) -> list[str]:
    """Each container sees at most one database URL, its own, with its own role."""
    problems = []
    expected_key = f"GUICHET_{owner.upper()}_DATABASE_URL"
    if set(urls) != {expected_key}:
        problems.append(f"{name}: database URLs {sorted(urls)} instead of exactly {expected_key}")
    password_variable = f"GUICHET_{owner.upper()}_DB_PASSWORD"
    pattern = (r"^postgresql\+psycopg://guichet_%s:\$\{%s:-[^}]+\}@postgres(:5432)?/guichet_%s$"
               % (owner, password_variable, owner))
    if not re.match(pattern, urls.get(expected_key, "")):
        problems.append(f"{name}: {expected_key} should use role and database guichet_{owner} "
                        f"and the password ${{{password_variable}:-...}}")
    if password_variable not in postgres_env:
        problems.append(f"postgres: {password_variable} missing (init-databases.sh needs it)")
    elif _defaults_of(postgres_env[password_variable]) != _defaults_of(urls.get(expected_key, "")):
        problems.append(f"{name}: password default differs from the postgres service's")
    return problems


def _service_container_problems(name: str, owner: str, service: dict) -> list[str]:
    """A service's migration one-shot, or the service itself: command, start order, health check."""
    problems = []
    depends = service.get("depends_on") or {}
    command = _command(service)
    dependency = "postgres" if name.endswith("-migrate") else f"{owner}-migrate"
    condition = "service_healthy" if name.endswith("-migrate") else "service_completed_successfully"
    if depends.get(dependency, {}).get("condition") != condition:
        problems.append(f"{name}: should depend on {dependency} ({condition})")
    if name.endswith("-migrate"):
        if command != ["guichet", "migrate", owner] or service.get("restart") != "no":
            problems.append(f"{name}: should be a one-shot `guichet migrate {owner}`")
        return problems
    if command != ["guichet", "service", owner]:
        problems.append(f"{name}: command should be guichet service {owner}")
    test = (service.get("healthcheck") or {}).get("test") or []
    if test[:4] != ["CMD", "guichet", "health", owner]:
        problems.append(f"{name}: healthcheck should run guichet health {owner}")
    if depends.get("rabbitmq", {}).get("condition") != "service_healthy":
        problems.append(f"{name}: should wait for a healthy rabbitmq")
    return problems


def _rabbitmq_problems(services: dict) -> list[str]:
    problems = []
    rabbit_test = " ".join(str(x) for x in (services.get("rabbitmq", {}).get("healthcheck") or {}).get("test", []))
    if "rabbitmq-diagnostics -q ping" not in rabbit_test:
        problems.append("rabbitmq: healthcheck should be rabbitmq-diagnostics -q ping")
    if not str(services.get("rabbitmq", {}).get("image", "")).startswith("rabbitmq:3.13-management"):
        problems.append("rabbitmq: image rabbitmq:3.13-management expected")
    return problems


def _postgres_problems(doc: dict, services: dict) -> list[str]:
    problems = []
    postgres = services.get("postgres", {})
    volumes = [str(v) for v in postgres.get("volumes") or []]
    if "pg_isready" not in " ".join(str(x) for x in (postgres.get("healthcheck") or {}).get("test", [])):
        problems.append("postgres: healthcheck should use pg_isready")
    if str(postgres.get("image")) != "postgres:15":
        problems.append("postgres: image postgres:15 expected")
    if "./deploy/postgres/init-databases.sh:/docker-entrypoint-initdb.d/10-init-databases.sh:ro" not in volumes:
        problems.append("postgres: init-databases.sh is not mounted in /docker-entrypoint-initdb.d")
    if not any(v.startswith("postgres-data:/var/lib/postgresql/data") for v in volumes):
        problems.append("postgres: its data should live in the postgres-data volume")
    if "postgres-data" not in (doc.get("volumes") or {}):
        problems.append("volume postgres-data is not declared")
    return problems


def _gateway_problems(services: dict) -> list[str]:
    problems = []
    gateway = services.get("gateway", {})
    if _command(gateway)[:1] != ["gunicorn"] or "guichet_gateway.wsgi:app" not in _command(gateway):
        problems.append("gateway: should run gunicorn guichet_gateway.wsgi:app")
    if _environment(gateway).get("GUICHET_GATEWAY_BIND") != "0.0.0.0:8000":
        problems.append("gateway: GUICHET_GATEWAY_BIND should be 0.0.0.0:8000")
    return problems


def _published_port_problems(services: dict) -> list[str]:
    published = {name: [str(p) for p in service.get("ports") or []] for name, service in services.items()}
    problems = [f"{name}: port {port} is not published"
                for name, port in (("gateway", "8000"), ("mailcatcher", "1025"), ("mailcatcher", "8025"))
                if not any(p.endswith(f":{port}") for p in published.get(name, []))]
    return problems + [f"{name}: port {port} is published on every interface (127.0.0.1 expected)"
                       for name, ports in published.items() for port in ports if not port.startswith("127.0.0.1:")]


def _mail_catcher_problems(services: dict) -> list[str]:
    """The mail catcher runs the development tools' image (the devtools stage), which no other container runs."""
    problems = []
    catcher = services.get("mailcatcher", {})
    command = _command(catcher)
    if command[:2] != ["guichet", "mailcatcher"] or "0.0.0.0" not in command:
        problems.append("mailcatcher: should run guichet mailcatcher --host 0.0.0.0")
    if _build_target(catcher) != DEVTOOLS_STAGE:
        problems.append(f"mailcatcher: should be built from the {DEVTOOLS_STAGE} stage of deploy/Dockerfile "
                        "(the production image has no development tools)")
    for name, service in services.items():
        if name == "mailcatcher" or not _uses_guichet_image(service):
            continue
        if _build_target(service) == DEVTOOLS_STAGE:
            problems.append(f"{name}: runs the development tools' image (only the mailcatcher may)")
        if str(service.get("image")) == str(catcher.get("image")):
            problems.append(f"{name}: same image name as the mailcatcher's: the development tools' build "
                            "would replace the production image")
    if _environment(services.get("notifications", {})).get("GUICHET_NOTIFICATIONS_SMTP_HOST") != "mailcatcher":
        problems.append("notifications: mails should go to the mailcatcher service")
    return problems


def _build_target(service: dict) -> str | None:
    build = service.get("build")
    return build.get("target") if isinstance(build, dict) else None


def _development_sms_problems(doc: dict, services: dict) -> list[str]:
    """The development SMS the notifications container writes are read by the mail catcher: both see
    $GUICHET_SMS_FILE on one shared named volume (their data directories are separate)."""
    problems = []
    sms_dirs = {}
    for name in ("notifications", "mailcatcher"):
        sms_file = _environment(services.get(name, {})).get("GUICHET_SMS_FILE")
        sms_dirs[name] = _named_volume_at(services.get(name, {}), str(sms_file).rsplit("/", 1)[0]) \
            if sms_file else None
        if not sms_file or sms_dirs[name] is None:
            problems.append(f"{name}: GUICHET_SMS_FILE should be on a named volume shared for the development SMS")
    shared = sms_dirs.get("notifications")
    if shared and shared != sms_dirs.get("mailcatcher"):
        problems.append("notifications and mailcatcher: the development SMS file is not on the same shared volume")
    if shared and shared not in (doc.get("volumes") or {}):
        problems.append(f"volume {shared} is not declared")
    if (_environment(services.get("notifications", {})).get("GUICHET_SMS_FILE")
            != _environment(services.get("mailcatcher", {})).get("GUICHET_SMS_FILE")):
        problems.append("notifications and mailcatcher: GUICHET_SMS_FILE differs")
    return problems


def _named_volume_at(service: dict, directory: str) -> str | None:
    named = [str(v).split(":") for v in service.get("volumes") or [] if not str(v).startswith((".", "/"))]
    return next((parts[0] for parts in named if len(parts) >= 2 and parts[1] == directory), None)


def _bind_mount_problems(services: dict) -> list[str]:
    """Bind-mounted files exist."""
    return [f"{name}: bind-mounted {source} does not exist"
            for name, service in services.items()
            for source in (str(volume).split(":", 1)[0] for volume in service.get("volumes") or [])
            if source.startswith(".") and not (ROOT / source).exists()]


@pytest.fixture(scope="module")
def compose_text() -> str:
    return COMPOSE_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def compose(compose_text) -> dict:
    return yaml.safe_load(compose_text)


def test_vendored_compose_schema_is_intact():
    assert hashlib.sha256(COMPOSE_SCHEMA.read_bytes()).hexdigest() == COMPOSE_SCHEMA_SHA256
    assert COMPOSE_SCHEMA_SHA256 in (HERE / "compose-spec.json.NOTICE").read_text(encoding="utf-8")
    jsonschema.Draft201909Validator.check_schema(compose_schema())


def test_compose_file_matches_the_compose_specification(compose):
    assert compose_schema_problems(compose) == []


def test_compose_file_is_consistent(compose):
    assert compose_semantic_problems(compose) == []


@pytest.mark.parametrize("mutation, expected", [
    (lambda d: d["services"]["gateway"].update(depend_on=["accounts"]), "schema"),
    (lambda d: d["services"]["billing"].update(restart=12), "schema"),
    (lambda d: d["services"]["accounts"]["depends_on"].update(nowhere={"condition": "service_started"}),
     "unknown service nowhere"),
    (lambda d: d["services"]["billing"].pop("command"), "needs a command"),
    (lambda d: d["services"]["demarches"]["environment"].update(DEBUG="1"), "neither GUICHET_"),
    (lambda d: d["services"]["demarches"]["environment"].update(GUICHET_METRIC_ADDR="0.0.0.0"), "read by no code"),
    (lambda d: d["services"].pop("mailcatcher"), "service mailcatcher missing"),
    (lambda d: d["services"]["activities"]["environment"].update(
        GUICHET_ACTIVITIES_DATABASE_URL="postgresql+psycopg://postgres:x@postgres/guichet_activities"),
     "role and database"),
    (lambda d: d["services"]["notifications"]["environment"].update(
        GUICHET_BILLING_DATABASE_URL="postgresql+psycopg://guichet_billing:x@postgres/guichet_billing"),
     "instead of exactly"),
    (lambda d: d["services"]["accounts-migrate"].update(restart="on-failure"), "restarts"),
    (lambda d: d["services"]["gateway"].update(ports=["8000:8000"]), "every interface"),
    (lambda d: d["services"]["billing"].update(volumes=[]), "town settings"),
    (lambda d: d["services"]["rabbitmq"].update(image="rabbitmq:${RABBIT_TAG:-3.13-management}"),
     "interpolation variable RABBIT_TAG"),
    (lambda d: d["services"]["postgres"]["environment"].update(
        GUICHET_BILLING_DB_PASSWORD="${GUICHET_BILLING_DB_PASSWORD:-other}"), "different defaults"),
    (lambda d: d["services"]["accounts"]["healthcheck"].update(test=["CMD", "true"]), "guichet health accounts"),
    (lambda d: d["services"]["mailcatcher"].update(volumes=d["services"]["mailcatcher"]["volumes"][:2]),
     "development SMS"),
    (lambda d: d["services"]["notifications"]["volumes"].__setitem__(-1, "other-sms:/var/lib/guichet-sms"),
     "same shared volume"),
    (lambda d: d["services"]["notifications"]["environment"].update(GUICHET_SMS_FILE="/var/lib/guichet/sms.jsonl"),
     "development SMS"),
    (lambda d: d["volumes"].pop("dev-sms"), "dev-sms is not declared"),
    (lambda d: d["services"]["mailcatcher"]["build"].pop("target"), "devtools stage"),
    (lambda d: d["services"]["mailcatcher"].update(image="${GUICHET_IMAGE:-guichet:dev}"), "same image name"),
    (lambda d: d["services"]["gateway"].update(build={**d["services"]["mailcatcher"]["build"]}),
     "gateway: runs the development tools' image"),
])
def test_compose_checks_catch_a_broken_file(compose, mutation, expected):
    broken = copy.deepcopy(compose)
    mutation(broken)
    problems = compose_schema_problems(broken) + compose_semantic_problems(broken)
    assert any(expected in problem for problem in problems), problems


def _compose_cli() -> list[str] | None:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


@pytest.mark.skipif(_compose_cli() is None, reason="no Compose CLI (docker compose or docker-compose) installed")
def test_compose_cli_accepts_the_file():
    """Interpolation, merge keys and references as Compose itself resolves them (no engine needed)."""
    result = subprocess.run([*_compose_cli(), "-f", str(COMPOSE_FILE), "-p", "guichet", "config", "--services"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    expected = {"rabbitmq", "postgres", "gateway", "mailcatcher", *SERVICES, *(f"{s}-migrate" for s in SERVICES)}
    assert set(result.stdout.split()) == expected


def test_postgres_init_script():
    text = INIT_DATABASES.read_text(encoding="utf-8")
    assert os.access(INIT_DATABASES, os.X_OK), "the postgres image sources non-executable scripts instead"
    assert text.startswith("#!/usr/bin/env bash\n")
    subprocess.run(["bash", "-n", str(INIT_DATABASES)], check=True)
    default = re.search(r'SERVICES="\$\{GUICHET_SERVICES:-([a-z ]+)\}"', text)
    assert default and default.group(1).split() == list(SERVICES)
    for statement in ("CREATE ROLE", "CREATE DATABASE", "REVOKE ALL ON DATABASE", "ON_ERROR_STOP=1"):
        assert statement in text


# =============================================================================
# deploy/k8s
# =============================================================================
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|Pi|Ei|M|G|T|P|E)?$"
_METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": DNS_LABEL, "maxLength": 63},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": False,  # no namespace: the manifests are namespace-agnostic
}
_RESOURCES = {
    "type": "object",
    "properties": {
        part: {"type": "object", "properties": {"cpu": {"type": "string", "pattern": QUANTITY},
                                                "memory": {"type": "string", "pattern": QUANTITY}},
               "additionalProperties": False, "required": ["cpu", "memory"]}
        for part in ("requests", "limits")
    },
    "required": ["requests", "limits"],
    "additionalProperties": False,
}


def _crd(api_version: str, kind: str, spec: dict) -> dict:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {"apiVersion": {"const": api_version}, "kind": {"const": kind},
                       "metadata": _METADATA, "spec": spec},
        "additionalProperties": False,
    }


# Operator kinds: kubernetes-validate has no schema for them. These cover the
# fields the manifests use (from the operators' API references); a new field
# must be added here on purpose.
CRD_SCHEMAS = {
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"): _crd("rabbitmq.com/v1beta1", "RabbitmqCluster", {
        "type": "object",
        "required": ["replicas", "image", "resources", "persistence"],
        "properties": {
            "replicas": {"type": "integer", "minimum": 1},
            "image": {"type": "string", "pattern": r"^rabbitmq:3\.13"},
            "resources": _RESOURCES,
            "persistence": {"type": "object", "required": ["storage"], "additionalProperties": False,
                            "properties": {"storage": {"type": "string", "pattern": QUANTITY},
                                           "storageClassName": {"type": "string"}}},
            "rabbitmq": {"type": "object", "additionalProperties": False,
                         "properties": {"additionalConfig": {"type": "string"},
                                        "additionalPlugins": {"type": "array", "items": {"type": "string"}}}},
        },
        "additionalProperties": False,
    }),
    ("postgresql.cnpg.io/v1", "Cluster"): _crd("postgresql.cnpg.io/v1", "Cluster", {
        "type": "object",
        "required": ["instances", "imageName", "storage", "managed"],
        "properties": {
            "instances": {"type": "integer", "minimum": 1},
            "imageName": {"type": "string", "pattern": r"^ghcr\.io/cloudnative-pg/postgresql:15(\.|$|-)"},
            "storage": {"type": "object", "required": ["size"], "additionalProperties": False,
                        "properties": {"size": {"type": "string", "pattern": QUANTITY},
                                       "storageClass": {"type": "string"}}},
            "resources": _RESOURCES,
            "postgresql": {"type": "object", "additionalProperties": False, "properties": {
                # CloudNativePG takes parameters as strings only.
                "parameters": {"type": "object", "additionalProperties": {"type": "string"}}}},
            "managed": {"type": "object", "required": ["roles"], "additionalProperties": False, "properties": {
                "roles": {"type": "array", "minItems": 1, "items": {
                    "type": "object",
                    "required": ["name", "ensure", "login", "passwordSecret"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string", "pattern": r"^[a-z_][a-z0-9_]*$"},
                        "ensure": {"enum": ["present", "absent"]},
                        "login": {"type": "boolean"},
                        "passwordSecret": {"type": "object", "required": ["name"], "additionalProperties": False,
                                           "properties": {"name": {"type": "string", "pattern": DNS_LABEL}}},
                    }}}}},
        },
        "additionalProperties": False,
    }),
    ("postgresql.cnpg.io/v1", "Database"): _crd("postgresql.cnpg.io/v1", "Database", {
        "type": "object",
        "required": ["name", "owner", "cluster"],
        "properties": {
            "name": {"type": "string", "pattern": r"^[a-z_][a-z0-9_]*$"},
            "owner": {"type": "string", "pattern": r"^[a-z_][a-z0-9_]*$"},
            "cluster": {"type": "object", "required": ["name"], "additionalProperties": False,
                        "properties": {"name": {"type": "string", "pattern": DNS_LABEL}}},
            "ensure": {"enum": ["present", "absent"]},
            "databaseReclaimPolicy": {"enum": ["retain", "delete"]},
        },
        "additionalProperties": False,
    }),
}
KUSTOMIZATION_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["apiVersion", "kind", "resources"],
    "properties": {
        "apiVersion": {"const": "kustomize.config.k8s.io/v1beta1"},
        "kind": {"const": "Kustomization"},
        "resources": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "configMapGenerator": {"type": "array", "items": {
            "type": "object", "required": ["name"], "additionalProperties": False,
            "properties": {"name": {"type": "string", "pattern": DNS_LABEL},
                           "behavior": {"enum": ["create", "replace", "merge"]},
                           "files": {"type": "array", "items": {"type": "string"}},
                           "literals": {"type": "array", "items": {"type": "string"}}}}},
        "images": {"type": "array", "items": {
            "type": "object", "required": ["name"], "additionalProperties": False,
            "properties": {"name": {"type": "string"}, "newName": {"type": "string"},
                           "newTag": {"type": "string"}, "digest": {"type": "string"}}}},
    },
    "additionalProperties": False,
}
NOT_RESOURCES = {"kustomization.yaml"}  # in deploy/k8s but not a resource list entry


class Manifests:
    def __init__(self, directory: Path):
        self.directory = directory
        self.kustomization = load_yaml(directory / "kustomization.yaml")
        self.files = {name: load_yaml_documents(directory / name)
                      for name in self.kustomization.get("resources") or [] if (directory / name).is_file()}
        self.docs = [doc for docs in self.files.values() for doc in docs]
        example = directory / "secret.example.yaml"
        self.example_secrets = load_yaml_documents(example) if example.exists() else []

    def of_kind(self, kind: str) -> list[dict]:
        return [doc for doc in self.docs if doc.get("kind") == kind]

    def named(self, kind: str, name: str) -> dict | None:
        return next((doc for doc in self.of_kind(kind) if doc["metadata"]["name"] == name), None)

    def generator_files(self) -> set[str]:
        return {entry.split("=", 1)[-1] for gen in self.kustomization.get("configMapGenerator") or []
                for entry in gen.get("files") or []}


def kustomization_problems(m: Manifests) -> list[str]:
    problems = [f"kustomization: {e.json_path}: {e.message}"
                for e in jsonschema.Draft202012Validator(KUSTOMIZATION_SCHEMA).iter_errors(m.kustomization)]
    listed = list(m.kustomization.get("resources") or [])
    for name in listed:
        if not (m.directory / name).is_file():
            problems.append(f"kustomization lists {name}, which does not exist")
    for name in m.generator_files():
        if not (m.directory / name).is_file():
            problems.append(f"configMapGenerator file {name} does not exist")
    for path in sorted(m.directory.iterdir()):
        if path.suffix not in (".yaml", ".yml") or path.name in NOT_RESOURCES:
            continue
        if path.name.endswith(".example.yaml"):
            if path.name in listed:
                problems.append(f"{path.name} is an example and must not be applied")
            continue
        if path.name not in listed and path.name not in m.generator_files():
            problems.append(f"{path.name} is not listed in kustomization.yaml")
    return problems


def schema_problems(m: Manifests, versions=K8S_VERSIONS) -> list[str]:
    problems = []
    for doc in m.docs + m.example_secrets:
        where = f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"
        if "namespace" in (doc.get("metadata") or {}):
            problems.append(f"{where}: sets a namespace (the manifests are namespace-agnostic)")
        crd = CRD_SCHEMAS.get((doc.get("apiVersion"), doc.get("kind")))
        if crd is not None:
            problems += [f"{where}: {e.json_path}: {e.message}"
                         for e in jsonschema.Draft202012Validator(crd).iter_errors(doc)]
            continue
        for version in versions:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                path = ".".join(str(p) for p in error.path)
                problems.append(f"{where} (Kubernetes {version}): {path}: {error.message}")
            except kubernetes_validate.SchemaNotFoundError as error:
                problems.append(f"{where}: no schema, unknown kind ({error.message})")
    return problems


def _pod(deployment: dict) -> dict:
    return deployment["spec"]["template"]["spec"]


def _env_value(container: dict, name: str):
    return next((e for e in container.get("env") or [] if e["name"] == name), None)


def workload_problems(m: Manifests) -> list[str]:
    deployments = {d["metadata"]["name"]: d for d in m.of_kind("Deployment")}
    problems = [f"Deployment {name} missing"
                for name in sorted(({f"guichet-{s}" for s in SERVICES} | {"guichet-gateway"}) - set(deployments))]
    problems += _config_map_problems(m.named("ConfigMap", "guichet-config") or {"data": {}})
    for name, deployment in deployments.items():
        problems += _deployment_problems(name, deployment)
        for container, is_init in _containers(_pod(deployment)):
            problems += _container_problems(f"{name}/{container['name']}", container, is_init, _pod(deployment))
        component = name.removeprefix("guichet-")
        if component in SERVICES:
            problems += _service_deployment_problems(name, component, _pod(deployment))
        elif component == "gateway":
            problems += _gateway_deployment_problems(name, _pod(deployment))
    return problems + _kubernetes_service_problems(m, deployments) + _disruption_budget_problems(m, deployments)


def _config_map_problems(config: dict) -> list[str]:
    data = config.get("data") or {}
    problems = [f"guichet-config: {name} is read by no code (typo?)" for name in data
                if not known_env_name(name) or (name.startswith("GUICHET_") and not read_by_the_code(name))]
    for key, value in (("GUICHET_METRICS_ADDR", "0.0.0.0"), ("GUICHET_GATEWAY_BIND", "0.0.0.0:8000"),
                       ("GUICHET_TOWN_SETTINGS", TOWN_PATH), ("GUICHET_DATA_DIR", DATA_DIR),
                       ("GUICHET_METRICS_PORT_BASE", str(METRICS_PORT_BASE))):
        if data.get(key) != value:
            problems.append(f"guichet-config: {key} should be {value}")
    return problems


def _deployment_problems(name: str, deployment: dict) -> list[str]:
    problems = []
    pod = _pod(deployment)
    labels = deployment["spec"]["template"]["metadata"].get("labels") or {}
    selector = deployment["spec"]["selector"].get("matchLabels") or {}
    if not selector or any(labels.get(k) != v for k, v in selector.items()):
        problems.append(f"{name}: selector does not match the pod labels")
    if deployment["spec"].get("replicas") != 2:
        problems.append(f"{name}: replicas 2 expected")
    security = pod.get("securityContext") or {}
    if security.get("runAsNonRoot") is not True or not security.get("runAsUser"):
        problems.append(f"{name}: pod must run as a non-root user")
    if pod.get("enableServiceLinks") is not False:
        problems.append(f"{name}: enableServiceLinks: false expected (service links add GUICHET_* variables)")
    return problems


def _containers(pod: dict) -> list[tuple[dict, bool]]:
    """(container, is an init container) of a pod."""
    return [(c, False) for c in pod.get("containers") or []] + [(c, True) for c in pod.get("initContainers") or []]


def _container_problems(where: str, container: dict, is_init: bool, pod: dict) -> list[str]:
    problems = _resource_problems(where, container) + _container_security_problems(where, container)
    problems += _container_volume_problems(where, container, pod) + _container_env_problems(where, container)
    amqp = _env_value(container, "GUICHET_AMQP_URI")
    if not is_init and (amqp is None or "$(RABBITMQ_PASSWORD)" not in amqp.get("value", "")):
        problems.append(f"{where}: GUICHET_AMQP_URI should be built from the RabbitMQ secret")
    return problems


def _resource_problems(where: str, container: dict) -> list[str]:
    resources = container.get("resources") or {}
    return [f"{where}: resources.{part}.{quantity} missing"
            for part in ("requests", "limits") for quantity in ("cpu", "memory")
            if quantity not in (resources.get(part) or {})]


def _container_security_problems(where: str, container: dict) -> list[str]:
    problems = []
    sc = container.get("securityContext") or {}
    if sc.get("readOnlyRootFilesystem") is not True or sc.get("allowPrivilegeEscalation") is not False:
        problems.append(f"{where}: read-only root file system without privilege escalation expected")
    if (sc.get("capabilities") or {}).get("drop") != ["ALL"]:
        problems.append(f"{where}: capabilities should drop ALL")
    if "command" in container:
        problems.append(f"{where}: use args, not command (the image's entrypoint, tini, must stay)")
    if container.get("image") != "guichet":
        problems.append(f"{where}: image `guichet` expected (kustomization `images` sets the real one)")
    return problems


def _container_volume_problems(where: str, container: dict, pod: dict) -> list[str]:
    problems = []
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    mounts = {vm["mountPath"]: vm for vm in container.get("volumeMounts") or []}
    for path in ("/tmp", DATA_DIR):
        volume = volumes.get((mounts.get(path) or {}).get("name"))
        if not volume or "emptyDir" not in volume:
            problems.append(f"{where}: {path} should be an emptyDir")
    town = volumes.get((mounts.get("/etc/guichet") or {}).get("name"))
    if not town or "configMap" not in town or not mounts["/etc/guichet"].get("readOnly"):
        problems.append(f"{where}: the town settings ConfigMap should be mounted read-only at /etc/guichet")
    if {"configMapRef": {"name": "guichet-config"}} not in (container.get("envFrom") or []):
        problems.append(f"{where}: envFrom guichet-config missing")
    return problems


def _container_env_problems(where: str, container: dict) -> list[str]:
    problems = []
    defined: set[str] = set()
    for entry in container.get("env") or []:
        variable = entry["name"]
        if not known_env_name(variable) or (variable.startswith("GUICHET_") and not read_by_the_code(variable)):
            problems.append(f"{where}: {variable} is read by no code (typo?)")
        problems += [f"{where}: {variable} uses $({reference}) before it is defined"
                     for reference in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", entry.get("value", ""))
                     if reference not in defined]
        if ("PASSWORD" in variable or variable.endswith(("_DATABASE_URL", "_URI"))) and "value" in entry \
                and not re.search(r"\$\(", entry["value"]):
            problems.append(f"{where}: {variable} holds a secret and must come from a Secret")
        defined.add(variable)
    return problems


def _service_deployment_problems(name: str, component: str, pod: dict) -> list[str]:
    """A service's Deployment: this replica's health probes, its command, its migration, its database URL."""
    problems = []
    main = (pod.get("containers") or [{}])[0]
    for probe in ("readinessProbe", "livenessProbe"):
        http = (main.get(probe) or {}).get("httpGet") or {}
        if http.get("path") != "/healthz" or http.get("port") != "metrics":
            problems.append(f"{name}: {probe} should GET /healthz on port metrics (this replica's health)")
    if main.get("args") != ["guichet", "service", component]:
        problems.append(f"{name}: args should be guichet service {component}")
    inits = pod.get("initContainers") or []
    if [c.get("args") for c in inits] != [["guichet", "migrate", component]]:
        problems.append(f"{name}: one initContainer running guichet migrate {component} expected")
    for container in [main, *inits]:
        problems += _database_url_problems(name, component, container)
    ports = {p.get("name"): p for p in main.get("ports") or []}
    port = METRICS_PORT_BASE + list(SERVICES).index(component)
    if (ports.get("metrics") or {}).get("containerPort") != port:
        problems.append(f"{name}: container port `metrics` should be {port}")
    return problems


def _database_url_problems(name: str, component: str, container: dict) -> list[str]:
    url_variable = f"GUICHET_{component.upper()}_DATABASE_URL"
    urls = [e for e in container.get("env") or [] if e["name"].endswith("_DATABASE_URL")]
    reference = ((urls[0].get("valueFrom") or {}).get("secretKeyRef") or {}) if urls else {}
    if [e["name"] for e in urls] != [url_variable] or \
            reference != {"name": f"guichet-{component}-db", "key": "database-url"}:
        return [f"{name}/{container['name']}: {url_variable} should come from "
                f"secret guichet-{component}-db key database-url, and be its only URL"]
    return []


def _gateway_deployment_problems(name: str, pod: dict) -> list[str]:
    problems = []
    main = (pod.get("containers") or [{}])[0]
    # Not /api/ready for readiness: one service down would take every gateway pod out of
    # the load balancer, and with it the routes of the services that work.
    for probe, path in (("livenessProbe", "/api/health"), ("readinessProbe", "/api/health")):
        http = (main.get(probe) or {}).get("httpGet") or {}
        if http.get("path") != path or http.get("port") != "http":
            problems.append(f"{name}: {probe} should GET {path} on port http")
    if (main.get("args") or [None])[0] != "gunicorn" or "guichet_gateway.wsgi:app" not in main.get("args"):
        problems.append(f"{name}: should run gunicorn guichet_gateway.wsgi:app")
    if [p.get("containerPort") for p in main.get("ports") or [] if p.get("name") == "http"] != [8000]:
        problems.append(f"{name}: container port `http` should be 8000")
    if any("_DATABASE_URL" in e["name"] for e in main.get("env") or []):
        problems.append(f"{name}: the gateway owns no database")
    return problems


def _kubernetes_service_problems(m: Manifests, deployments: dict) -> list[str]:
    """Services: only where something listens, selecting existing pods."""
    services = {s["metadata"]["name"]: s for s in m.of_kind("Service")}
    problems = [problem for name, service in services.items()
                for problem in _one_service_problems(name, service, deployments)]
    for component in SERVICES:
        service = services.get(f"guichet-{component}-metrics")
        if service is None or [p.get("name") for p in service["spec"]["ports"]] != ["metrics"] or \
                (service["metadata"].get("annotations") or {}).get("prometheus.io/scrape") != "true":
            problems.append(f"Service guichet-{component}-metrics with one port `metrics`, "
                            f"annotated for Prometheus, expected")
    if [p.get("name") for p in (services.get("guichet-gateway") or {"spec": {"ports": []}})["spec"]["ports"]] \
            != ["http"]:
        problems.append("Service guichet-gateway with one port `http` expected")
    return problems


def _one_service_problems(name: str, service: dict, deployments: dict) -> list[str]:
    selector = service["spec"].get("selector") or {}
    targets = [d for d in deployments.values()
               if selector and all((d["spec"]["template"]["metadata"].get("labels") or {}).get(k) == v
                                   for k, v in selector.items())]
    if len(targets) != 1:
        return [f"Service {name}: selects {len(targets)} Deployments"]
    problems = []
    container = _pod(targets[0])["containers"][0]
    container_ports = {p.get("name"): p.get("containerPort") for p in container.get("ports") or []}
    for port in service["spec"]["ports"]:
        if port.get("targetPort") not in container_ports:
            problems.append(f"Service {name}: targetPort {port.get('targetPort')} is no named container port")
        elif port["port"] != container_ports[port["targetPort"]]:
            problems.append(f"Service {name}: port {port['port']} differs from the container's")
    annotations = service["metadata"].get("annotations") or {}
    if annotations.get("prometheus.io/scrape") == "true":
        scraped = [p for p in service["spec"]["ports"] if str(p["port"]) == annotations.get("prometheus.io/port")]
        if not scraped or not annotations.get("prometheus.io/path", "").endswith("metrics"):
            problems.append(f"Service {name}: prometheus.io annotations do not match a port")
    return problems


def _disruption_budget_problems(m: Manifests, deployments: dict) -> list[str]:
    gateway_labels = (deployments.get("guichet-gateway") or {"spec": {"selector": {}}})["spec"]["selector"] \
        .get("matchLabels")
    if not any((p["spec"].get("selector") or {}).get("matchLabels") == gateway_labels
               for p in m.of_kind("PodDisruptionBudget")):
        return ["no PodDisruptionBudget for the gateway"]
    return []


def reference_problems(m: Manifests) -> list[str]:
    """Every ConfigMap and Secret a manifest names is defined, generated, or documented."""
    defined = {"ConfigMap": _defined_config_maps(m), "Secret": _defined_secrets(m)}
    problems = []
    for kind, name, key, where in _references(m):
        known = defined[kind]
        if name not in known:
            problems.append(f"{where}: {kind} {name} is neither defined nor documented in secret.example.yaml")
        elif key is not None and key not in known[name]:
            problems.append(f"{where}: {kind} {name} has no key {key}")
    return problems


def _defined_config_maps(m: Manifests) -> dict[str, set[str]]:
    """Name -> keys, of the ConfigMaps in the manifests and those kustomize generates."""
    config_maps = {d["metadata"]["name"]: set((d.get("data") or {})) for d in m.of_kind("ConfigMap")}
    for generator in m.kustomization.get("configMapGenerator") or []:
        keys = {entry.split("=", 1)[0] for entry in generator.get("files") or []}
        keys |= {entry.split("=", 1)[0] for entry in generator.get("literals") or []}
        config_maps[generator["name"]] = keys
    return config_maps


def _defined_secrets(m: Manifests) -> dict[str, set[str]]:
    """Name -> keys, of the Secrets documented in secret.example.yaml and those the RabbitMQ operator makes."""
    secrets = {d["metadata"]["name"]: set(d.get("data") or {}) | set(d.get("stringData") or {})
               for d in m.of_kind("Secret") + m.example_secrets}
    for cluster in m.of_kind("RabbitmqCluster"):  # made by the RabbitMQ Cluster Operator
        secrets[f"{cluster['metadata']['name']}-default-user"] = {"username", "password", "host", "port"}
    return secrets


def _references(m: Manifests):
    """(kind, name, key or None, where) of every ConfigMap and Secret the manifests use."""
    for doc in m.of_kind("Deployment"):
        pod = _pod(doc)
        where = f"Deployment {doc['metadata']['name']}"
        for container, _ in _containers(pod):
            yield from _container_references(container, where)
        for volume in pod.get("volumes") or []:
            if "configMap" in volume:
                yield "ConfigMap", volume["configMap"]["name"], None, where
            if "secret" in volume:
                yield "Secret", volume["secret"]["secretName"], None, where
    for cluster in m.of_kind("Cluster"):
        for role in (cluster["spec"].get("managed") or {}).get("roles") or []:
            if "passwordSecret" in role:
                yield "Secret", role["passwordSecret"]["name"], "password", f"Cluster role {role['name']}"


def _container_references(container: dict, where: str):
    for source in container.get("envFrom") or []:
        if "configMapRef" in source:
            yield "ConfigMap", source["configMapRef"]["name"], None, where
        if "secretRef" in source:
            yield "Secret", source["secretRef"]["name"], None, where
    for entry in container.get("env") or []:
        value_from = entry.get("valueFrom") or {}
        if "configMapKeyRef" in value_from:
            yield "ConfigMap", value_from["configMapKeyRef"]["name"], value_from["configMapKeyRef"]["key"], where
        if "secretKeyRef" in value_from:
            yield "Secret", value_from["secretKeyRef"]["name"], value_from["secretKeyRef"]["key"], where


def data_store_problems(m: Manifests) -> list[str]:
    """One role and one database per service, and URLs and secrets that agree with them."""
    clusters = m.of_kind("Cluster")
    if len(clusters) != 1:
        return [f"one CloudNativePG Cluster expected, found {len(clusters)}"]
    cluster = clusters[0]
    roles = {r["name"]: r for r in (cluster["spec"].get("managed") or {}).get("roles") or []}
    databases = {d["spec"]["name"]: d for d in m.of_kind("Database")}
    examples = {s["metadata"]["name"]: s for s in m.example_secrets}
    problems = []
    for service in SERVICES:
        problems += _service_data_store_problems(service, cluster["metadata"]["name"], roles, databases, examples)
    extra = set(databases) - {f"guichet_{s}" for s in SERVICES}
    if extra:
        problems.append(f"Databases for no service: {sorted(extra)}")
    return problems + _amqp_host_problems(m)


def _service_data_store_problems(service: str, cluster_name: str, roles: dict, databases: dict,
                                 examples: dict) -> list[str]:
    problems = []
    role = f"guichet_{service}"
    secret = f"guichet-{service}-db"
    if (roles.get(role) or {}).get("passwordSecret", {}).get("name") != secret or \
            roles[role].get("login") is not True:
        problems.append(f"Cluster: managed role {role} with login and passwordSecret {secret} expected")
    database = databases.get(role)
    if database is None or database["spec"].get("owner") != role or \
            database["spec"]["cluster"]["name"] != cluster_name:
        problems.append(f"Database {role} owned by {role} in cluster {cluster_name} expected")
    example = examples.get(secret)
    if example is None:
        return problems + [f"secret.example.yaml: Secret {secret} missing"]
    return problems + _example_database_secret_problems(secret, role, example, cluster_name)


def _example_database_secret_problems(secret: str, role: str, example: dict, cluster_name: str) -> list[str]:
    problems = []
    data = example.get("stringData") or {}
    if example.get("type") != "kubernetes.io/basic-auth" or data.get("username") != role:
        problems.append(f"secret.example.yaml: {secret} should be basic-auth with username {role}")
    url = re.match(r"^postgresql\+psycopg://([^:]+):([^@]+)@([^/:]+)(:5432)?/([^?]+)(\?.*)?$",
                   data.get("database-url", ""))
    if not url or url.group(1) != role or url.group(5) != role or url.group(3) != f"{cluster_name}-rw" \
            or url.group(2) != data.get("password"):
        problems.append(f"secret.example.yaml: {secret} database-url should be "
                        f"postgresql+psycopg://{role}:<password>@{cluster_name}-rw/{role}")
    return problems


def _amqp_host_problems(m: Manifests) -> list[str]:
    rabbits = m.of_kind("RabbitmqCluster")
    if len(rabbits) != 1:
        return [f"one RabbitmqCluster expected, found {len(rabbits)}"]
    host = rabbits[0]["metadata"]["name"]
    return [f"{deployment['metadata']['name']}: GUICHET_AMQP_URI should point at {host}"
            for deployment in m.of_kind("Deployment") for container in _pod(deployment)["containers"]
            if f"@{host}:5672/" not in (_env_value(container, "GUICHET_AMQP_URI") or {}).get("value", "")]


@pytest.fixture(scope="module")
def manifests() -> Manifests:
    return Manifests(K8S)


def test_kustomization_lists_every_manifest(manifests):
    assert kustomization_problems(manifests) == []


def test_manifests_match_their_schemas(manifests):
    assert manifests.docs, "no manifest found"
    assert schema_problems(manifests) == []


def test_secret_example_holds_only_placeholders(manifests):
    assert manifests.example_secrets and all(s["kind"] == "Secret" for s in manifests.example_secrets)
    for secret in manifests.example_secrets:
        assert secret["stringData"].get("password", "CHANGE-ME") == "CHANGE-ME"
    for doc in manifests.docs:
        assert doc["kind"] != "Secret", "secret values do not belong in the repository"


def test_workloads_have_probes_resources_and_security(manifests):
    assert workload_problems(manifests) == []


def test_every_configmap_and_secret_reference_resolves(manifests):
    assert reference_problems(manifests) == []


def test_one_role_and_one_database_per_service(manifests):
    assert data_store_problems(manifests) == []


def _deployment(m: Manifests, name: str) -> dict:
    return m.named("Deployment", name)


def _break_probe(m):
    _pod(_deployment(m, "guichet-billing"))["containers"][0].pop("livenessProbe")


def _break_resources(m):
    _pod(_deployment(m, "guichet-accounts"))["initContainers"][0]["resources"].pop("limits")


def _break_secret_name(m):
    _pod(_deployment(m, "guichet-demarches"))["containers"][0]["env"][-1]["valueFrom"]["secretKeyRef"]["name"] = \
        "guichet-demarches-database"


def _break_configmap_name(m):
    _pod(_deployment(m, "guichet-gateway"))["volumes"][-1]["configMap"]["name"] = "town"


def _break_unknown_field(m):
    _pod(_deployment(m, "guichet-activities"))["containers"][0]["readinesProbe"] = {}


def _break_crd(m):
    m.of_kind("Cluster")[0]["spec"]["postgresql"]["parameters"]["max_connections"] = 200


def _break_database(m):
    m.named("Database", "guichet-billing")["spec"]["owner"] = "guichet_accounts"


def _break_namespace(m):
    m.of_kind("RabbitmqCluster")[0]["metadata"]["namespace"] = "guichet"


def _break_secret_value(m):
    container = _pod(_deployment(m, "guichet-notifications"))["containers"][0]
    container["env"][-1] = {"name": "GUICHET_NOTIFICATIONS_DATABASE_URL", "value": "postgresql+psycopg://u:p@h/d"}


def _break_kustomization(m):
    m.kustomization["resources"].remove("billing.yaml")


@pytest.mark.parametrize("mutation, expected", [
    (_break_probe, "livenessProbe should GET /healthz"),
    (_break_resources, "resources.limits.cpu missing"),
    (_break_secret_name, "neither defined nor documented"),
    (_break_configmap_name, "ConfigMap town is neither defined"),
    (_break_unknown_field, "readinesProbe"),
    (_break_crd, "max_connections"),
    (_break_database, "owned by guichet_billing"),
    (_break_namespace, "namespace"),
    (_break_secret_value, "must come from a Secret"),
    (_break_kustomization, "billing.yaml is not listed"),
])
def test_manifest_checks_catch_a_broken_manifest(mutation, expected):
    broken = Manifests(K8S)
    mutation(broken)
    problems = (kustomization_problems(broken) + schema_problems(broken, versions=K8S_VERSIONS[-1:])
                + workload_problems(broken) + reference_problems(broken) + data_store_problems(broken))
    assert any(expected in problem for problem in problems), problems


def test_town_configmap_is_the_demo_town_file():
    """kustomize may not read ../town.example.yaml, so deploy/k8s/town.yaml is a copy: keep them equal."""
    from guichet_common.town import load_town

    assert (K8S / "town.yaml").read_bytes() == TOWN_EXAMPLE.read_bytes(), \
        "copy deploy/town.example.yaml to deploy/k8s/town.yaml"
    load_town(K8S / "town.yaml")


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with its built-in kustomize) is not installed")
def test_kustomize_renders_the_manifests():
    rendered = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=120)
    assert rendered.returncode == 0, rendered.stderr
    docs = [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]
    kinds = sorted({doc["kind"] for doc in docs})
    assert kinds == sorted({"ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "RabbitmqCluster",
                            "Cluster", "Database"})
    town = [d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"
            and d["metadata"]["name"].startswith("guichet-town-")]
    assert len(town) == 1, "the town ConfigMap should be generated with a hash suffix"
    images = set()
    for deployment in (d for d in docs if d["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        images |= {c["image"] for c in pod["containers"] + pod.get("initContainers", [])}
        assert [v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v] == town
    assert len(images) == 1 and images != {"guichet"}, images


# =============================================================================
# deploy/Dockerfile
# =============================================================================
INSTRUCTIONS = {"FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
                "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
BUILD_TOOLS = re.compile(r"\b(build-essential|gcc|g\+\+|clang|make|cmake|cargo|rustc|[a-z0-9.+-]+-dev)\b")


def parse_dockerfile(text: str) -> list[tuple[str, str, int]]:
    """(INSTRUCTION, arguments, line number): comments dropped, continuation lines joined."""
    instructions, buffer, start = [], "", 0
    directives_allowed = True
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("#"):
            if directives_allowed and re.match(r"#\s*(syntax|escape|check)\s*=", stripped):
                if "escape" in stripped:
                    raise ValueError("the escape directive is not supported by this parser")
            continue  # comments, also between continuation lines
        directives_allowed = False
        if not stripped and not buffer:
            continue
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        buffer += stripped
        keyword, _, arguments = buffer.partition(" ")
        instructions.append((keyword.upper(), arguments.strip(), start))
        buffer = ""
    if buffer:
        raise ValueError(f"line {start}: continuation never ends")
    return instructions


INCLUDED_REQUIREMENTS = ("-r requirements.txt", f"-r {DEVTOOLS_REQUIREMENTS.name}")


def requirements_problems(text: str) -> list[str]:
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if line in INCLUDED_REQUIREMENTS:
            continue
        if line and not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!-]+$", line):
            problems.append(f"requirements.txt:{number}: `{line}` is not pinned with ==")
    return problems


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_requirements(path: Path = REQUIREMENTS) -> dict[str, str]:
    return {_normalise(line.split("==")[0]): line.split("==")[1].strip()
            for line in path.read_text(encoding="utf-8").splitlines()
            if "==" in line and not line.lstrip().startswith("#")}


def dockerfile_problems(text: str) -> list[str]:
    try:
        instructions = parse_dockerfile(text)
    except ValueError as error:
        return [str(error)]
    problems = _instruction_problems(instructions)
    stages, stage_problems = _dockerfile_stages(instructions)
    problems += stage_problems
    if len(stages) < 2:
        problems.append("a multi-stage build is expected (build, then runtime)")
        return problems
    # The production image: the last stage and the stages it is built FROM; the stages it copies from build it.
    production = _stage_chain(stages, stages[-1])
    builders = _copied_stages(stages, production)
    return (problems + _build_stage_problems(builders) + _devtools_stage_problems(stages, production, builders)
            + _final_stage_problems(production))


def _instruction_problems(instructions: list[tuple[str, str, int]]) -> list[str]:
    problems = [f"line {number}: unknown instruction {keyword}"
                for keyword, _, number in instructions if keyword not in INSTRUCTIONS]
    if not instructions or instructions[0][0] not in ("FROM", "ARG"):
        problems.append("the Dockerfile must start with FROM (or ARG)")
    if any(keyword == "HEALTHCHECK" for keyword, _, _ in instructions):
        problems.append("no HEALTHCHECK: the orchestrators probe")
    return problems


def _global_args(instructions: list[tuple[str, str, int]]) -> dict[str, str]:
    """The ARGs before the first FROM (those FROM lines may use)."""
    global_args = {}
    for keyword, arguments, _ in instructions:
        if keyword == "FROM":
            break
        if keyword == "ARG":
            name, _, default = arguments.partition("=")
            global_args[name] = default.strip('"')
    return global_args


def _dockerfile_stages(instructions: list[tuple[str, str, int]]) -> tuple[list[dict], list[str]]:
    """The stages, each {"name", "parent" (an earlier stage's name, or None), "instructions"}, and the problems
    of their FROM and COPY --from lines."""
    global_args = _global_args(instructions)
    stages: list[dict] = []
    problems = []
    for keyword, arguments, number in instructions:
        names = [s["name"] for s in stages]
        if keyword == "FROM":
            parts = arguments.split()
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), m.group(0)), parts[0])
            if image != BASE_IMAGE and image not in names:
                problems.append(f"line {number}: base image {image} instead of {BASE_IMAGE}")
            stages.append({"name": parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None,
                           "parent": image if image in names else None, "instructions": []})
        elif stages:
            stages[-1]["instructions"].append((keyword, arguments, number))
            source = re.search(r"--from=(\S+)", arguments) if keyword in ("COPY", "ADD") else None
            if source and source.group(1) not in names[:-1]:
                problems.append(f"line {number}: COPY --from={source.group(1)} names no earlier stage")
    return stages, problems


def _stage_chain(stages: list[dict], stage: dict) -> list[dict]:
    """This stage and the stages it is built FROM, first ancestor first."""
    by_name = {s["name"]: s for s in stages if s["name"]}
    chain = [stage]
    while chain[0]["parent"] in by_name:
        chain.insert(0, by_name[chain[0]["parent"]])
    return chain


def _copied_stages(stages: list[dict], chain: list[dict]) -> list[dict]:
    """The stages (with their ancestors) the chain copies files from with COPY --from."""
    by_name = {s["name"]: s for s in stages if s["name"]}
    copied = {source for stage in chain for keyword, arguments, _ in stage["instructions"] if keyword == "COPY"
              for source in re.findall(r"--from=(\S+)", arguments)}
    chains = [_stage_chain(stages, by_name[name]) for name in copied if name in by_name]
    return [s for s in stages if any(s is member for chain in chains for member in chain)]


def _runs(stages: list[dict], keyword: str = "RUN") -> str:
    return " ".join(a for s in stages for k, a, _ in s["instructions"] if k == keyword)


def _production_packages() -> list[str]:
    return sorted(str(p.parent.relative_to(ROOT)) for p in
                  [ROOT / "contracts" / "pyproject.toml", *(ROOT / "services").glob("*/pyproject.toml")]
                  if p.parent != DEVTOOLS)


def _build_stage_problems(builders: list[dict]) -> list[str]:
    """What the stages that build the production image's environment install."""
    problems = []
    build_runs = _runs(builders)
    if not re.search(r"pip install (\S+ )*-r requirements\.txt", build_runs) or \
            "requirements.txt" not in _runs(builders, "COPY"):
        problems.append("requirements.txt is not copied and installed with pip install -r")
    problems += [f"package {package} is not built in the image"
                 for package in _production_packages() if f"./{package} " not in build_runs + " "]
    if "--no-deps" not in build_runs or build_runs.count("--no-deps") < 2:
        problems.append("our packages must be built and installed with --no-deps")
    if "requirements-dev.txt" in build_runs:
        problems.append("the image must not install requirements-dev.txt (test tools)")
    return problems


def _devtools_stage_problems(stages: list[dict], production: list[dict], builders: list[dict]) -> list[str]:
    """The development tools are built in the devtools stage's chain (docker-compose's mail catcher), never in
    the production image's."""
    package = f"./{DEVTOOLS.relative_to(ROOT)}"
    problems = []
    if package in _runs(production + builders) or DEVTOOLS_REQUIREMENTS.name in _runs(production + builders):
        problems.append(f"the development tools ({package}, {DEVTOOLS_REQUIREMENTS.name}) must not be in the "
                        "production image")
    devtools = [s for s in stages if s["name"] == DEVTOOLS_STAGE]
    if not devtools:
        return problems + [f"no {DEVTOOLS_STAGE} stage (docker-compose's mail catcher is built from it)"]
    chain = _stage_chain(stages, devtools[0])
    if package not in _runs(chain + _copied_stages(stages, chain)):
        problems.append(f"the {DEVTOOLS_STAGE} stage does not install {package}")
    return problems


def _final_stage_problems(production: list[dict]) -> list[str]:
    """The production image: a numeric non-root user, no build tools, no pip, exec-form commands, OCI labels."""
    final = [instruction for stage in production for instruction in stage["instructions"]]
    users = [a for k, a, _ in final if k == "USER"]
    problems = []
    if not users or not re.match(r"^[1-9][0-9]*(:[1-9][0-9]*)?$", users[-1]):
        problems.append("the final stage must end as a numeric non-root USER (runAsNonRoot can check it)")
    for keyword, arguments, number in final:
        if keyword == "RUN":
            problems += _final_run_problems(arguments, number)
        if keyword in ("CMD", "ENTRYPOINT") and not _exec_form(arguments):
            problems.append(f"line {number}: {keyword} should be a JSON array (exec form)")
    labels = " ".join(a for k, a, _ in final if k == "LABEL")
    problems += [f"OCI label org.opencontainers.image.{label} missing"
                 for label in ("title", "description", "licenses", "version", "revision")
                 if f"org.opencontainers.image.{label}=" not in labels]
    if 'org.opencontainers.image.licenses="AGPL-3.0-or-later"' not in labels:
        problems.append("the licence label should be AGPL-3.0-or-later")
    return problems


def _final_run_problems(arguments: str, number: int) -> list[str]:
    problems = [f"line {number}: build tools in the final stage: {install.strip()}"
                for install in re.findall(r"apt-get install ([^&;]+)", arguments) if BUILD_TOOLS.search(install)]
    if re.search(r"\bpip3? install\b", arguments):
        problems.append(f"line {number}: the final stage installs nothing with pip (copy the venv)")
    return problems


def _exec_form(arguments: str) -> bool:
    try:
        return isinstance(json.loads(arguments), list)
    except ValueError:
        return False


def dockerignore_excludes(path: str, patterns: list[str]) -> bool:
    """.dockerignore semantics, enough for these files: the last matching pattern wins, ! re-includes."""
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*") \
            .replace(r"\?", "[^/]")
        # A pattern matching a folder covers everything below it.
        if re.fullmatch(regex + "(/.*)?", path):
            excluded = not negate
    return excluded


@pytest.fixture(scope="module")
def dockerfile_text() -> str:
    return DOCKERFILE.read_text(encoding="utf-8")


def test_dockerfile_is_sound(dockerfile_text):
    assert dockerfile_problems(dockerfile_text) == []


def test_requirements_are_pinned():
    assert requirements_problems(REQUIREMENTS.read_text(encoding="utf-8")) == []


def test_dev_requirements_add_only_test_tools_to_the_runtime_and_devtools_pins():
    text = DEV_REQUIREMENTS.read_text(encoding="utf-8")
    assert requirements_problems(text) == []
    assert requirements_problems(DEVTOOLS_REQUIREMENTS.read_text(encoding="utf-8")) == []
    assert set(INCLUDED_REQUIREMENTS) <= set(text.splitlines())
    runtime, devtools = pinned_requirements(), pinned_requirements(DEVTOOLS_REQUIREMENTS)
    dev = pinned_requirements(DEV_REQUIREMENTS)
    assert not set(runtime) & set(dev), "a package is pinned in both files"
    assert not set(devtools) & (set(runtime) | set(dev)), "a development tools' pin is pinned twice"
    assert not (set(runtime) | set(devtools)) & set(TEST_TOOLS), "test tools belong in requirements-dev.txt"


OUR_PRODUCTION_PACKAGES = {"guichet-contracts", "guichet-common", "guichet-gateway",
                           *(f"guichet-{s}" for s in SERVICES)}


def _unpinned_requirements(names: set[str], pinned: set[str]) -> list[str]:
    """"<distribution> needs <requirement>" for every requirement of these installed distributions not in pinned."""
    missing = []
    for distribution in metadata.distributions():
        name = _normalise(distribution.metadata["Name"])
        if name not in names:
            continue
        for requirement in distribution.requires or []:
            if "extra ==" in requirement:
                continue
            if ";" in requirement and not Requirement(requirement).marker.evaluate():
                continue
            required = _normalise(re.match(r"[A-Za-z0-9._-]+", requirement).group(0))
            if required not in pinned:
                missing.append(f"{name} needs {required}")
    return missing


def test_runtime_requirements_are_complete():
    """Every dependency of a runtime pin (and of our packages) is pinned in requirements.txt itself, so the
    image's `pip install -r requirements.txt` resolves nothing on its own and ships no test tool."""
    runtime = set(pinned_requirements())
    assert _unpinned_requirements(runtime | OUR_PRODUCTION_PACKAGES, runtime | OUR_PRODUCTION_PACKAGES) == []


def test_devtools_requirements_are_complete():
    """The devtools stage adds requirements-devtools.txt to the runtime pins: together they hold every
    dependency of the development tools."""
    devtools = set(pinned_requirements(DEVTOOLS_REQUIREMENTS))
    pinned = set(pinned_requirements()) | devtools | OUR_PRODUCTION_PACKAGES | {"guichet-devtools"}
    assert _unpinned_requirements(devtools | {"guichet-devtools"}, pinned) == []


@pytest.mark.parametrize("mutation, expected", [
    (lambda t: t.replace("USER 10001:10001", "USER guichet"), "numeric non-root USER"),
    (lambda t: t.replace("USER 10001:10001", ""), "numeric non-root USER"),
    (lambda t: t + "\nHEALTHCHECK CMD guichet health accounts\n", "no HEALTHCHECK"),
    (lambda t: t + "\nRUNN echo\n", "unknown instruction RUNN"),
    (lambda t: t.replace("--no-install-recommends tini", "--no-install-recommends tini build-essential"),
     "build tools"),
    (lambda t: t.replace("-r requirements.txt", "flask"), "pip install -r"),
    (lambda t: t.replace("./services/billing \\", "\\"), "services/billing is not built"),
    (lambda t: t.replace("COPY --from=build", "COPY --from=builder"), "names no earlier stage"),
    (lambda t: t.replace('CMD ["guichet", "--help"]', "CMD guichet --help"), "JSON array"),
    (lambda t: t.replace("AGPL-3.0-or-later", "MIT"), "AGPL-3.0-or-later"),
    (lambda t: t.replace("python:3.11-slim-bookworm", "python:3.12", 1), "base image"),
    (lambda t: t.replace("-r requirements.txt", "-r requirements-dev.txt"), "must not install requirements-dev"),
    (lambda t: t.replace("./services/gateway \\", "./services/gateway ./services/devtools \\"),
     "development tools (./services/devtools, requirements-devtools.txt) must not be in the production image"),
    (lambda t: t.replace("COPY --from=build /opt", "COPY --from=build-devtools /opt"), "must not be in the production"),
    (lambda t: t.replace("FROM base AS devtools", "FROM base AS tools"), "no devtools stage"),
    (lambda t: t.replace(" ./services/devtools ", " ./services/gateway "), "devtools stage does not install"),
    (lambda t: t.replace("FROM base AS runtime", "FROM devtools AS runtime"), "must not be in the production"),
])
def test_dockerfile_checks_catch_a_broken_dockerfile(dockerfile_text, mutation, expected):
    broken = mutation(dockerfile_text)
    assert broken != dockerfile_text
    assert any(expected in problem for problem in dockerfile_problems(broken)), dockerfile_problems(broken)


def test_requirement_checks_catch_a_range():
    assert requirements_problems("Flask>=3\n") and requirements_problems("pika\n")
    assert not requirements_problems("# comment\npika==1.4.4\n")


def test_dockerignore_keeps_the_build_inputs():
    patterns = [line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    needed = ["requirements.txt", DEVTOOLS_REQUIREMENTS.name, "contracts/pyproject.toml", "contracts/guichet_contracts/__init__.py",
              *(str(p.relative_to(ROOT)) for p in (ROOT / "services").glob("*/pyproject.toml"))]
    needed += [str(p.relative_to(ROOT)) for p in (ROOT / "services").glob("*/guichet_*/migrations/env.py")]
    for path in needed:
        assert not dockerignore_excludes(path, patterns), f".dockerignore drops {path}"
    for path in [".git/config", ".venv/bin/python", "var/accounts.sqlite3", "tests/deploy/compose-spec.json",
                 "services/accounts/tests/unit/test_x.py", "services/common/guichet_common/__pycache__/cli.pyc",
                 "docker-compose.yml"]:
        assert dockerignore_excludes(path, patterns), f".dockerignore lets {path} into the build context"
