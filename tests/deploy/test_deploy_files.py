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
    problems = []
    values = "\n".join(_strings(doc))  # where Compose interpolates ${...} (not in comments)
    services = doc.get("services") or {}
    expected = {"rabbitmq", "postgres", "gateway", "mailcatcher", *SERVICES, *(f"{s}-migrate" for s in SERVICES)}
    for name in sorted(expected - set(services)):
        problems.append(f"service {name} missing")

    # Interpolated variables (${NAME:-default}) follow the same naming rule as environment entries.
    for name in sorted({m.group(1) for m in INTERPOLATION.finditer(values)}):
        if not known_env_name(name):
            problems.append(f"interpolation variable {name} is neither GUICHET_* nor a known name")
    defaults: dict[str, set[str]] = {}
    for m in INTERPOLATION.finditer(values):
        defaults.setdefault(m.group(1), set()).add(m.group(3) or "")
    for name, values in sorted(defaults.items()):
        if len(values) > 1:
            problems.append(f"${{{name}}} has different defaults: {sorted(values)}")

    postgres_env = _environment(services.get("postgres", {}))
    for name, service in services.items():
        env = _environment(service)
        for variable in env:
            if not known_env_name(variable):
                problems.append(f"{name}: variable {variable} is neither GUICHET_* nor a known name")
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

        if not _uses_guichet_image(service):
            continue
        # --- containers of the Guichet image ---
        for variable in env:
            if variable.startswith("GUICHET_") and not read_by_the_code(variable):
                problems.append(f"{name}: {variable} is read by no code (typo?)")
        command = _command(service)
        if not command:
            problems.append(f"{name}: the Guichet image needs a command")
        elif command[0] == "guichet" and (len(command) < 2 or command[1] not in GUICHET_COMMANDS):
            problems.append(f"{name}: unknown guichet command {command[1:2]}")
        elif command[0] not in ("guichet", "gunicorn"):
            problems.append(f"{name}: unexpected program {command[0]}")
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

        # Each container sees at most one database URL, its own, with its own role.
        urls = {k: v for k, v in env.items() if k.endswith("_DATABASE_URL")}
        owner = name.removesuffix("-migrate")
        if owner in SERVICES:
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
            dependency = "postgres" if name.endswith("-migrate") else f"{owner}-migrate"
            condition = "service_healthy" if name.endswith("-migrate") else "service_completed_successfully"
            if (service.get("depends_on") or {}).get(dependency, {}).get("condition") != condition:
                problems.append(f"{name}: should depend on {dependency} ({condition})")
            if name.endswith("-migrate"):
                if command != ["guichet", "migrate", owner] or service.get("restart") != "no":
                    problems.append(f"{name}: should be a one-shot `guichet migrate {owner}`")
            else:
                if command != ["guichet", "service", owner]:
                    problems.append(f"{name}: command should be guichet service {owner}")
                test = (service.get("healthcheck") or {}).get("test") or []
                if test[:4] != ["CMD", "guichet", "health", owner]:
                    problems.append(f"{name}: healthcheck should run guichet health {owner}")
                if (service.get("depends_on") or {}).get("rabbitmq", {}).get("condition") != "service_healthy":
                    problems.append(f"{name}: should wait for a healthy rabbitmq")
        elif urls:
            problems.append(f"{name}: has database URLs {sorted(urls)} but owns no database")

    # Infrastructure health checks, ports, gateway.
    rabbit_test = " ".join(str(x) for x in (services.get("rabbitmq", {}).get("healthcheck") or {}).get("test", []))
    if "rabbitmq-diagnostics -q ping" not in rabbit_test:
        problems.append("rabbitmq: healthcheck should be rabbitmq-diagnostics -q ping")
    if not str(services.get("rabbitmq", {}).get("image", "")).startswith("rabbitmq:3.13-management"):
        problems.append("rabbitmq: image rabbitmq:3.13-management expected")
    postgres = services.get("postgres", {})
    if "pg_isready" not in " ".join(str(x) for x in (postgres.get("healthcheck") or {}).get("test", [])):
        problems.append("postgres: healthcheck should use pg_isready")
    if str(postgres.get("image")) != "postgres:15":
        problems.append("postgres: image postgres:15 expected")
    init_mount = "./deploy/postgres/init-databases.sh:/docker-entrypoint-initdb.d/10-init-databases.sh:ro"
    if init_mount not in [str(v) for v in postgres.get("volumes") or []]:
        problems.append("postgres: init-databases.sh is not mounted in /docker-entrypoint-initdb.d")
    if not any(str(v).startswith("postgres-data:/var/lib/postgresql/data") for v in postgres.get("volumes") or []):
        problems.append("postgres: its data should live in the postgres-data volume")
    if "postgres-data" not in (doc.get("volumes") or {}):
        problems.append("volume postgres-data is not declared")
    gateway = services.get("gateway", {})
    if _command(gateway)[:1] != ["gunicorn"] or "guichet_gateway.wsgi:app" not in _command(gateway):
        problems.append("gateway: should run gunicorn guichet_gateway.wsgi:app")
    if _environment(gateway).get("GUICHET_GATEWAY_BIND") != "0.0.0.0:8000":
        problems.append("gateway: GUICHET_GATEWAY_BIND should be 0.0.0.0:8000")
    published = {name: [str(p) for p in service.get("ports") or []] for name, service in services.items()}
    for name, port in (("gateway", "8000"), ("mailcatcher", "1025"), ("mailcatcher", "8025")):
        if not any(p.endswith(f":{port}") for p in published.get(name, [])):
            problems.append(f"{name}: port {port} is not published")
    for name, ports in published.items():
        for port in ports:
            if not port.startswith("127.0.0.1:"):
                problems.append(f"{name}: port {port} is published on every interface (127.0.0.1 expected)")
    mailcatcher = _command(services.get("mailcatcher", {}))
    if mailcatcher[:2] != ["guichet", "mailcatcher"] or "0.0.0.0" not in mailcatcher:
        problems.append("mailcatcher: should run guichet mailcatcher --host 0.0.0.0")
    notifications = _environment(services.get("notifications", {}))
    if notifications.get("GUICHET_NOTIFICATIONS_SMTP_HOST") != "mailcatcher":
        problems.append("notifications: mails should go to the mailcatcher service")
    # The development SMS the notifications container writes are read by the mail catcher: both see
    # $GUICHET_SMS_FILE on one shared named volume (their data directories are separate).
    sms_dirs = {}
    for name in ("notifications", "mailcatcher"):
        sms_file = _environment(services.get(name, {})).get("GUICHET_SMS_FILE")
        directory = str(sms_file).rsplit("/", 1)[0] if sms_file else None
        named = [str(v).split(":") for v in services.get(name, {}).get("volumes") or []
                 if not str(v).startswith((".", "/"))]
        sms_dirs[name] = next((parts[0] for parts in named if len(parts) >= 2 and parts[1] == directory), None)
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

    # Bind-mounted files exist.
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source = str(volume).split(":", 1)[0]
            if source.startswith("."):
                if not (ROOT / source).exists():
                    problems.append(f"{name}: bind-mounted {source} does not exist")
    return problems


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
    problems = []
    deployments = {d["metadata"]["name"]: d for d in m.of_kind("Deployment")}
    config = m.named("ConfigMap", "guichet-config") or {"data": {}}
    for name in sorted(({f"guichet-{s}" for s in SERVICES} | {"guichet-gateway"}) - set(deployments)):
        problems.append(f"Deployment {name} missing")
    for name in config.get("data") or {}:
        if not known_env_name(name) or (name.startswith("GUICHET_") and not read_by_the_code(name)):
            problems.append(f"guichet-config: {name} is read by no code (typo?)")
    for key, value in (("GUICHET_METRICS_ADDR", "0.0.0.0"), ("GUICHET_GATEWAY_BIND", "0.0.0.0:8000"),
                       ("GUICHET_TOWN_SETTINGS", TOWN_PATH), ("GUICHET_DATA_DIR", DATA_DIR),
                       ("GUICHET_METRICS_PORT_BASE", str(METRICS_PORT_BASE))):
        if (config.get("data") or {}).get(key) != value:
            problems.append(f"guichet-config: {key} should be {value}")

    for name, deployment in deployments.items():
        pod = _pod(deployment)
        component = name.removeprefix("guichet-")
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
        volumes = {v["name"]: v for v in pod.get("volumes") or []}
        containers = [(c, False) for c in pod.get("containers") or []] + \
                     [(c, True) for c in pod.get("initContainers") or []]
        for container, is_init in containers:
            where = f"{name}/{container['name']}"
            resources = container.get("resources") or {}
            for part in ("requests", "limits"):
                for quantity in ("cpu", "memory"):
                    if quantity not in (resources.get(part) or {}):
                        problems.append(f"{where}: resources.{part}.{quantity} missing")
            sc = container.get("securityContext") or {}
            if sc.get("readOnlyRootFilesystem") is not True or sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: read-only root file system without privilege escalation expected")
            if (sc.get("capabilities") or {}).get("drop") != ["ALL"]:
                problems.append(f"{where}: capabilities should drop ALL")
            if "command" in container:
                problems.append(f"{where}: use args, not command (the image's entrypoint, tini, must stay)")
            if container.get("image") != "guichet":
                problems.append(f"{where}: image `guichet` expected (kustomization `images` sets the real one)")
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
            defined = set()
            for entry in container.get("env") or []:
                variable = entry["name"]
                if not known_env_name(variable) or (variable.startswith("GUICHET_") and not read_by_the_code(variable)):
                    problems.append(f"{where}: {variable} is read by no code (typo?)")
                for reference in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", entry.get("value", "")):
                    if reference not in defined:
                        problems.append(f"{where}: {variable} uses $({reference}) before it is defined")
                if ("PASSWORD" in variable or variable.endswith(("_DATABASE_URL", "_URI"))) and "value" in entry \
                        and not re.search(r"\$\(", entry["value"]):
                    problems.append(f"{where}: {variable} holds a secret and must come from a Secret")
                defined.add(variable)
            amqp = _env_value(container, "GUICHET_AMQP_URI")
            if not is_init and (amqp is None or "$(RABBITMQ_PASSWORD)" not in amqp.get("value", "")):
                problems.append(f"{where}: GUICHET_AMQP_URI should be built from the RabbitMQ secret")

        main = (pod.get("containers") or [{}])[0]
        if component in SERVICES:
            index = list(SERVICES).index(component)
            for probe in ("readinessProbe", "livenessProbe"):
                http = (main.get(probe) or {}).get("httpGet") or {}
                if http.get("path") != "/healthz" or http.get("port") != "metrics":
                    problems.append(f"{name}: {probe} should GET /healthz on port metrics (this replica's health)")
            if main.get("args") != ["guichet", "service", component]:
                problems.append(f"{name}: args should be guichet service {component}")
            inits = pod.get("initContainers") or []
            if [c.get("args") for c in inits] != [["guichet", "migrate", component]]:
                problems.append(f"{name}: one initContainer running guichet migrate {component} expected")
            url_variable = f"GUICHET_{component.upper()}_DATABASE_URL"
            for container in [main, *inits]:
                urls = [e for e in container.get("env") or [] if e["name"].endswith("_DATABASE_URL")]
                reference = ((urls[0].get("valueFrom") or {}).get("secretKeyRef") or {}) if urls else {}
                if [e["name"] for e in urls] != [url_variable] or \
                        reference != {"name": f"guichet-{component}-db", "key": "database-url"}:
                    problems.append(f"{name}/{container['name']}: {url_variable} should come from "
                                    f"secret guichet-{component}-db key database-url, and be its only URL")
            ports = {p.get("name"): p for p in main.get("ports") or []}
            if (ports.get("metrics") or {}).get("containerPort") != METRICS_PORT_BASE + index:
                problems.append(f"{name}: container port `metrics` should be {METRICS_PORT_BASE + index}")
        elif component == "gateway":
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

    # Services: only where something listens, selecting existing pods.
    services = {s["metadata"]["name"]: s for s in m.of_kind("Service")}
    for name, service in services.items():
        selector = service["spec"].get("selector") or {}
        targets = [d for d in deployments.values()
                   if selector and all((d["spec"]["template"]["metadata"].get("labels") or {}).get(k) == v
                                       for k, v in selector.items())]
        if len(targets) != 1:
            problems.append(f"Service {name}: selects {len(targets)} Deployments")
            continue
        container = _pod(targets[0])["containers"][0]
        container_ports = {p.get("name"): p.get("containerPort") for p in container.get("ports") or []}
        annotations = service["metadata"].get("annotations") or {}
        for port in service["spec"]["ports"]:
            if port.get("targetPort") not in container_ports:
                problems.append(f"Service {name}: targetPort {port.get('targetPort')} is no named container port")
            elif port["port"] != container_ports[port["targetPort"]]:
                problems.append(f"Service {name}: port {port['port']} differs from the container's")
        if annotations.get("prometheus.io/scrape") == "true":
            scraped = [p for p in service["spec"]["ports"] if str(p["port"]) == annotations.get("prometheus.io/port")]
            if not scraped or not annotations.get("prometheus.io/path", "").endswith("metrics"):
                problems.append(f"Service {name}: prometheus.io annotations do not match a port")
    for component in SERVICES:
        service = services.get(f"guichet-{component}-metrics")
        if service is None or [p.get("name") for p in service["spec"]["ports"]] != ["metrics"] or \
                (service["metadata"].get("annotations") or {}).get("prometheus.io/scrape") != "true":
            problems.append(f"Service guichet-{component}-metrics with one port `metrics`, "
                            f"annotated for Prometheus, expected")
    if [p.get("name") for p in (services.get("guichet-gateway") or {"spec": {"ports": []}})["spec"]["ports"]] \
            != ["http"]:
        problems.append("Service guichet-gateway with one port `http` expected")

    pdbs = [p for p in m.of_kind("PodDisruptionBudget")
            if (p["spec"].get("selector") or {}).get("matchLabels") ==
            (deployments.get("guichet-gateway") or {"spec": {"selector": {}}})["spec"]["selector"].get("matchLabels")]
    if not pdbs:
        problems.append("no PodDisruptionBudget for the gateway")
    return problems


def reference_problems(m: Manifests) -> list[str]:
    """Every ConfigMap and Secret a manifest names is defined, generated, or documented."""
    problems = []
    config_maps = {d["metadata"]["name"]: set((d.get("data") or {})) for d in m.of_kind("ConfigMap")}
    for generator in m.kustomization.get("configMapGenerator") or []:
        keys = {entry.split("=", 1)[0] for entry in generator.get("files") or []}
        keys |= {entry.split("=", 1)[0] for entry in generator.get("literals") or []}
        config_maps[generator["name"]] = keys
    secrets = {d["metadata"]["name"]: set(d.get("data") or {}) | set(d.get("stringData") or {})
               for d in m.of_kind("Secret") + m.example_secrets}
    for cluster in m.of_kind("RabbitmqCluster"):  # made by the RabbitMQ Cluster Operator
        secrets[f"{cluster['metadata']['name']}-default-user"] = {"username", "password", "host", "port"}

    def need(kind: str, name: str, key: str | None, where: str):
        known = config_maps if kind == "ConfigMap" else secrets
        if name not in known:
            problems.append(f"{where}: {kind} {name} is neither defined nor documented in secret.example.yaml")
        elif key is not None and key not in known[name]:
            problems.append(f"{where}: {kind} {name} has no key {key}")

    for doc in m.of_kind("Deployment"):
        pod = _pod(doc)
        where = f"Deployment {doc['metadata']['name']}"
        for container in (pod.get("containers") or []) + (pod.get("initContainers") or []):
            for source in container.get("envFrom") or []:
                if "configMapRef" in source:
                    need("ConfigMap", source["configMapRef"]["name"], None, where)
                if "secretRef" in source:
                    need("Secret", source["secretRef"]["name"], None, where)
            for entry in container.get("env") or []:
                value_from = entry.get("valueFrom") or {}
                if "configMapKeyRef" in value_from:
                    need("ConfigMap", value_from["configMapKeyRef"]["name"], value_from["configMapKeyRef"]["key"],
                         where)
                if "secretKeyRef" in value_from:
                    need("Secret", value_from["secretKeyRef"]["name"], value_from["secretKeyRef"]["key"], where)
        for volume in pod.get("volumes") or []:
            if "configMap" in volume:
                need("ConfigMap", volume["configMap"]["name"], None, where)
            if "secret" in volume:
                need("Secret", volume["secret"]["secretName"], None, where)
    for cluster in m.of_kind("Cluster"):
        for role in (cluster["spec"].get("managed") or {}).get("roles") or []:
            if "passwordSecret" in role:
                need("Secret", role["passwordSecret"]["name"], "password", f"Cluster role {role['name']}")
    return problems


def data_store_problems(m: Manifests) -> list[str]:
    """One role and one database per service, and URLs and secrets that agree with them."""
    problems = []
    clusters = m.of_kind("Cluster")
    if len(clusters) != 1:
        return [f"one CloudNativePG Cluster expected, found {len(clusters)}"]
    cluster = clusters[0]
    cluster_name = cluster["metadata"]["name"]
    roles = {r["name"]: r for r in (cluster["spec"].get("managed") or {}).get("roles") or []}
    databases = {d["spec"]["name"]: d for d in m.of_kind("Database")}
    examples = {s["metadata"]["name"]: s for s in m.example_secrets}
    for service in SERVICES:
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
            problems.append(f"secret.example.yaml: Secret {secret} missing")
            continue
        data = example.get("stringData") or {}
        if example.get("type") != "kubernetes.io/basic-auth" or data.get("username") != role:
            problems.append(f"secret.example.yaml: {secret} should be basic-auth with username {role}")
        url = re.match(r"^postgresql\+psycopg://([^:]+):([^@]+)@([^/:]+)(:5432)?/([^?]+)(\?.*)?$",
                       data.get("database-url", ""))
        if not url or url.group(1) != role or url.group(5) != role or url.group(3) != f"{cluster_name}-rw" \
                or url.group(2) != data.get("password"):
            problems.append(f"secret.example.yaml: {secret} database-url should be "
                            f"postgresql+psycopg://{role}:<password>@{cluster_name}-rw/{role}")
    extra = set(databases) - {f"guichet_{s}" for s in SERVICES}
    if extra:
        problems.append(f"Databases for no service: {sorted(extra)}")

    rabbits = m.of_kind("RabbitmqCluster")
    if len(rabbits) != 1:
        return problems + [f"one RabbitmqCluster expected, found {len(rabbits)}"]
    host = rabbits[0]["metadata"]["name"]
    for deployment in m.of_kind("Deployment"):
        for container in _pod(deployment)["containers"]:
            amqp = (_env_value(container, "GUICHET_AMQP_URI") or {}).get("value", "")
            if f"@{host}:5672/" not in amqp:
                problems.append(f"{deployment['metadata']['name']}: GUICHET_AMQP_URI should point at {host}")
    return problems


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


def requirements_problems(text: str) -> list[str]:
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if line == "-r requirements.txt":
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
    problems = []
    try:
        instructions = parse_dockerfile(text)
    except ValueError as error:
        return [str(error)]
    for keyword, _, number in instructions:
        if keyword not in INSTRUCTIONS:
            problems.append(f"line {number}: unknown instruction {keyword}")
    if not instructions or instructions[0][0] not in ("FROM", "ARG"):
        problems.append("the Dockerfile must start with FROM (or ARG)")
    if any(keyword == "HEALTHCHECK" for keyword, _, _ in instructions):
        problems.append("no HEALTHCHECK: the orchestrators probe")

    global_args = {}
    for keyword, arguments, _ in instructions:
        if keyword == "FROM":
            break
        if keyword == "ARG":
            name, _, default = arguments.partition("=")
            global_args[name] = default.strip('"')
    stages: list[dict] = []
    for keyword, arguments, number in instructions:
        if keyword == "FROM":
            parts = arguments.split()
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), m.group(0)), parts[0])
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            if image != BASE_IMAGE and image not in [s["name"] for s in stages]:
                problems.append(f"line {number}: base image {image} instead of {BASE_IMAGE}")
            stages.append({"name": name, "instructions": []})
        elif stages:
            stages[-1]["instructions"].append((keyword, arguments, number))
            if keyword in ("COPY", "ADD"):
                source = re.search(r"--from=(\S+)", arguments)
                if source and source.group(1) not in [s["name"] for s in stages[:-1]]:
                    problems.append(f"line {number}: COPY --from={source.group(1)} names no earlier stage")
    if len(stages) < 2:
        problems.append("a multi-stage build is expected (build, then runtime)")
        return problems

    build_runs = " ".join(a for s in stages[:-1] for k, a, _ in s["instructions"] if k == "RUN")
    build_copies = " ".join(a for s in stages[:-1] for k, a, _ in s["instructions"] if k == "COPY")
    if not re.search(r"pip install (\S+ )*-r requirements\.txt", build_runs) or \
            "requirements.txt" not in build_copies:
        problems.append("requirements.txt is not copied and installed with pip install -r")
    packages = sorted(str(p.parent.relative_to(ROOT)) for p in
                      [ROOT / "contracts" / "pyproject.toml", *(ROOT / "services").glob("*/pyproject.toml")])
    for package in packages:
        if f"./{package} " not in build_runs + " ":
            problems.append(f"package {package} is not built in the image")
    if "--no-deps" not in build_runs or build_runs.count("--no-deps") < 2:
        problems.append("our packages must be built and installed with --no-deps")
    if "requirements-dev.txt" in build_runs:
        problems.append("the image must not install requirements-dev.txt (test tools)")

    final = stages[-1]["instructions"]
    users = [a for k, a, _ in final if k == "USER"]
    if not users or not re.match(r"^[1-9][0-9]*(:[1-9][0-9]*)?$", users[-1]):
        problems.append("the final stage must end as a numeric non-root USER (runAsNonRoot can check it)")
    for keyword, arguments, number in final:
        if keyword == "RUN":
            for install in re.findall(r"apt-get install ([^&;]+)", arguments):
                if BUILD_TOOLS.search(install):
                    problems.append(f"line {number}: build tools in the final stage: {install.strip()}")
            if re.search(r"\bpip3? install\b", arguments):
                problems.append(f"line {number}: the final stage installs nothing with pip (copy the venv)")
        if keyword in ("CMD", "ENTRYPOINT"):
            try:
                if not isinstance(json.loads(arguments), list):
                    raise ValueError
            except ValueError:
                problems.append(f"line {number}: {keyword} should be a JSON array (exec form)")
    labels = " ".join(a for k, a, _ in final if k == "LABEL")
    for label in ("title", "description", "licenses", "version", "revision"):
        if f"org.opencontainers.image.{label}=" not in labels:
            problems.append(f"OCI label org.opencontainers.image.{label} missing")
    if 'org.opencontainers.image.licenses="AGPL-3.0-or-later"' not in labels:
        problems.append("the licence label should be AGPL-3.0-or-later")
    return problems


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


def test_dev_requirements_add_only_test_tools_to_the_runtime_pins():
    text = DEV_REQUIREMENTS.read_text(encoding="utf-8")
    assert requirements_problems(text) == []
    assert "-r requirements.txt" in text.splitlines()
    runtime, dev = pinned_requirements(), pinned_requirements(DEV_REQUIREMENTS)
    assert not set(runtime) & set(dev), "a package is pinned in both files"
    assert not set(runtime) & set(TEST_TOOLS), "test tools belong in requirements-dev.txt"


def test_runtime_requirements_are_complete():
    """Every dependency of a runtime pin (and of our packages) is pinned in requirements.txt itself, so the
    image's `pip install -r requirements.txt` resolves nothing on its own and ships no test tool."""
    runtime = set(pinned_requirements())
    ours = {"guichet-contracts", "guichet-common", "guichet-gateway", *(f"guichet-{s}" for s in SERVICES)}
    for distribution in metadata.distributions():
        name = _normalise(distribution.metadata["Name"])
        if name not in runtime | ours:
            continue
        for requirement in distribution.requires or []:
            if "extra ==" in requirement:
                continue
            if ";" in requirement and not Requirement(requirement).marker.evaluate():
                continue
            required = _normalise(re.match(r"[A-Za-z0-9._-]+", requirement).group(0))
            assert required in runtime, f"{name} needs {required}, which requirements.txt does not pin"


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
    needed = ["requirements.txt", "contracts/pyproject.toml", "contracts/guichet_contracts/__init__.py",
              *(str(p.relative_to(ROOT)) for p in (ROOT / "services").glob("*/pyproject.toml"))]
    needed += [str(p.relative_to(ROOT)) for p in (ROOT / "services").glob("*/guichet_*/migrations/env.py")]
    for path in needed:
        assert not dockerignore_excludes(path, patterns), f".dockerignore drops {path}"
    for path in [".git/config", ".venv/bin/python", "var/accounts.sqlite3", "tests/deploy/compose-spec.json",
                 "services/accounts/tests/unit/test_x.py", "services/common/guichet_common/__pycache__/cli.pyc",
                 "docker-compose.yml"]:
        assert dockerignore_excludes(path, patterns), f".dockerignore lets {path} into the build context"
