"""docker-compose.yml: valid Compose, and the platform the deployment contract asks for."""

import importlib
import ipaddress
import json
import os
import stat
import subprocess
import sys
import urllib.parse

import pytest
import yaml
from deploy_helpers import (
    COMPOSE_GATEWAY_CONFIG,
    COMPOSE_LEAVER_CONFIG,
    ENV_EXAMPLE,
    LEAVER_WORKER,
    REPO_ROOT,
    ROUTES,
    SERVICE_DOCKERFILE,
    SERVICES,
    MissingVariable,
    component,
    depends_on,
    environment,
    interpolate,
    load_compose,
    parse_env_file,
    variables_in,
)
from jsonschema import Draft7Validator

SCHEMA = REPO_ROOT / "deploy" / "schemas" / "compose-spec.json"
DATABASES = {name: "db-" + name.removeprefix("svc-") for name in SERVICES}
# Containers that use a service's database besides the service itself.
DATABASE_SHARERS = {"svc-leaver": {LEAVER_WORKER}}
NEW_ENV = REPO_ROOT / "deploy" / "compose" / "new-env.py"


@pytest.fixture(scope="module")
def compose():
    return load_compose()


@pytest.fixture(scope="module")
def example_env():
    return parse_env_file(ENV_EXAMPLE.read_text())


@pytest.fixture(scope="module")
def filled_env(example_env):
    """.env.example with every secret filled in, as deploy/compose/new-env.py writes it."""
    return {key: value or f"secret-{key.lower()}" for key, value in example_env.items()}


def test_the_compose_file_is_valid_against_the_compose_specification(compose):
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(Draft7Validator(schema).iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_the_compose_file_stays_valid_once_the_variables_are_filled_in(compose, filled_env):
    schema = json.loads(SCHEMA.read_text())
    assert not list(Draft7Validator(schema).iter_errors(interpolate(compose, filled_env)))


def test_the_vendored_schema_names_its_source_and_licence():
    note = (REPO_ROOT / "deploy" / "schemas" / "README.md").read_text()
    assert "compose-spec/compose-spec" in note
    assert "schema/compose-spec.json" in note
    assert "Apache License 2.0" in note


def test_every_part_of_the_platform_is_a_service(compose):
    expected = {"gateway", *SERVICES, LEAVER_WORKER, *DATABASES.values(), "redis", "mailpit"}
    assert set(compose["services"]) == expected


def test_every_service_has_a_healthcheck(compose):
    for name, service in compose["services"].items():
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), name
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_services_and_the_gateway_check_their_own_health_endpoints(compose):
    for name in SERVICES:
        assert "http://127.0.0.1:8000/readyz" in " ".join(compose["services"][name]["healthcheck"]["test"])
    assert "http://127.0.0.1:8080/_gateway/healthz" in " ".join(
        compose["services"]["gateway"]["healthcheck"]["test"]
    )


def test_each_service_has_its_own_postgresql_database_on_a_named_volume(compose, filled_env):
    services = interpolate(compose["services"], filled_env)
    for name, database in DATABASES.items():
        db = services[database]
        assert db["image"].startswith("postgres:")
        db_env = environment(db)
        url = urllib.parse.urlsplit(environment(services[name])["DATABASE_URL"])
        assert url.scheme == "postgresql"
        assert (url.hostname, url.port) == (database, 5432)
        assert url.path == "/" + db_env["POSTGRES_DB"]
        assert (url.username, url.password) == (db_env["POSTGRES_USER"], db_env["POSTGRES_PASSWORD"])
        (volume,) = db["volumes"]
        source, target = volume.split(":")
        assert target == "/var/lib/postgresql/data"
        assert source in compose["volumes"], f"{database} keeps its data in a named volume"
    # Each database is reachable only by its own service.
    for name, database in DATABASES.items():
        (network,) = compose["services"][database]["networks"]
        users = {s for s, spec in compose["services"].items() if network in (spec.get("networks") or [])}
        assert users == {name, database, *DATABASE_SHARERS.get(name, ())}
        assert compose["networks"][network]["internal"] is True
    assert len({environment(services[d])["POSTGRES_PASSWORD"] for d in DATABASES.values()}) == len(DATABASES)


def test_every_dependency_waits_until_healthy(compose):
    for name, service in compose["services"].items():
        for dependency, condition in depends_on(service).items():
            assert dependency in compose["services"], f"{name} -> {dependency}"
            assert condition == "service_healthy", f"{name} -> {dependency}"
    for name, database in DATABASES.items():
        assert database in depends_on(compose["services"][name])
    assert "mailpit" in depends_on(compose["services"]["svc-emm"])
    assert set(depends_on(compose["services"]["gateway"])) == {"redis", *SERVICES}


def test_the_gateway_service_gives_the_gateway_command_its_address_and_workers(compose, filled_env):
    gateway = interpolate(compose["services"], filled_env)["gateway"]
    arguments = [str(a) for a in gateway["command"]]
    assert arguments[arguments.index("--bind") + 1] == "0.0.0.0:8080"
    assert int(arguments[arguments.index("--workers") + 1]) >= 1
    (port,) = gateway["ports"]
    assert str(port).endswith(":8080")


def test_only_the_gateway_is_published(compose):
    published = {name for name, service in compose["services"].items() if service.get("ports")}
    assert published == {"gateway"}
    (port,) = compose["services"]["gateway"]["ports"]
    assert port.endswith(":8080")


def test_the_gateway_counts_in_the_password_protected_redis(compose, filled_env):
    services = interpolate(compose["services"], filled_env)
    url = urllib.parse.urlsplit(environment(services["gateway"])["RATELIMIT_STORAGE_URL"])
    assert (url.scheme, url.hostname, url.port) == ("redis", "redis", 6379)
    assert url.password == filled_env["REDIS_PASSWORD"]
    command = services["redis"]["command"]
    assert command[command.index("--requirepass") + 1] == filled_env["REDIS_PASSWORD"]
    assert set(compose["services"]["redis"]["networks"]) & set(compose["services"]["gateway"]["networks"])


def test_svc_emm_sends_its_mail_to_the_smtp_catcher(compose):
    emm = environment(compose["services"]["svc-emm"])
    assert emm["MAIL_HOST"] == "mailpit"
    assert emm["MAIL_PORT"] == "1025"
    assert compose["services"]["mailpit"]["image"].startswith("axllent/mailpit:")
    assert set(compose["services"]["mailpit"]["networks"]) <= set(compose["services"]["svc-emm"]["networks"])


def test_svc_emm_can_be_scaled(compose):
    emm = compose["services"]["svc-emm"]
    # A fixed name, host port or address would make a second replica collide.
    assert "container_name" not in emm and "ports" not in emm
    assert all(not isinstance(spec, dict) or "ipv4_address" not in spec for spec in emm["networks"])


def test_each_image_is_built_from_the_repository_root_and_its_dockerfile(compose):
    for name in ["gateway", *SERVICES]:
        unit = component(name)
        build = compose["services"][name]["build"]
        assert build["context"] == "."
        assert (REPO_ROOT / build["dockerfile"]).resolve() == unit.dockerfile
        assert build.get("args", {}) == unit.build_args
    assert component("svc-wipe").dockerfile == SERVICE_DOCKERFILE


def test_svc_leaver_queues_on_redis_and_its_workers_execute(compose, filled_env):
    services = interpolate(compose["services"], filled_env)
    api, worker = services["svc-leaver"], services[LEAVER_WORKER]
    env = environment(api)
    # The API only queues; the workers, the same image with the same settings, execute.
    assert env["LEAVER_CONSUMER"] == "none"
    assert (worker["image"], worker["build"]) == (api["image"], api["build"])
    assert worker["command"] == ["leaver", "worker"]
    assert environment(worker) == env
    assert worker["configs"] == api["configs"]
    assert "ports" not in worker and "container_name" not in worker, "workers scale with --scale"
    # Its queue: the password-protected Redis, in a database of its own (the gateway counts in 0).
    queue = urllib.parse.urlsplit(env["LEAVER_QUEUE_URL"])
    counters = urllib.parse.urlsplit(environment(services["gateway"])["RATELIMIT_STORAGE_URL"])
    assert (queue.scheme, queue.hostname, queue.port, queue.password) == (
        "redis",
        "redis",
        6379,
        filled_env["REDIS_PASSWORD"],
    )
    assert queue.path != counters.path
    for name in ("svc-leaver", LEAVER_WORKER):
        assert set(compose["services"]["redis"]["networks"]) & set(compose["services"][name]["networks"])
        assert "redis" in depends_on(compose["services"][name])
        # It reaches the vendors through the gateway, on the services network.
        assert "services" in compose["services"][name]["networks"]
    # The worker has no port: it is healthy while it can reach its queue.
    check = " ".join(compose["services"][LEAVER_WORKER]["healthcheck"]["test"])
    assert "LEAVER_QUEUE_URL" in check and "ping()" in check


def test_svc_leavers_vendors_are_reached_through_the_gateway(compose, filled_env):
    from svc_leaver.config import SECRET_FIELD, parse_leaver_config

    api = compose["services"]["svc-leaver"]
    env = interpolate(environment(api), filled_env)
    (mount,) = api["configs"]
    assert mount["target"] == env["LEAVER_CONFIG"]
    assert (REPO_ROOT / compose["configs"][mount["source"]]["file"]).resolve() == COMPOSE_LEAVER_CONFIG
    raw = yaml.safe_load(COMPOSE_LEAVER_CONFIG.read_text())
    # The service accepts the file with the secrets compose gives it.
    config = parse_leaver_config(raw, env)
    assert set(config.targets) == set(SECRET_FIELD)
    gateway_routes = yaml.safe_load(COMPOSE_GATEWAY_CONFIG.read_text())["routes"]
    prefixes = [prefix for route in gateway_routes for prefix in route["prefixes"]]
    for name, target in config.targets.items():
        url = urllib.parse.urlsplit(target.base_url)
        assert (url.hostname, url.port) == ("gateway", 8080), name
        # The target's paths lie under one of the gateway's routes (wso2's are /mdm-admin/ and /oauth2/).
        assert url.path == "" or any(f"{url.path}/".startswith(prefix) for prefix in prefixes), name
        # Each secret is a required variable of .env, never a value in the file.
        assert set(variables_in(environment(api)[target.secret_env]).values()) == {":?"}, name


def test_the_services_trust_the_gateways_fixed_address_and_nothing_else(compose, filled_env):
    services = interpolate(compose["services"], filled_env)
    networks = interpolate(compose["networks"], filled_env)
    gateway_ip = ipaddress.ip_address(services["gateway"]["networks"]["services"]["ipv4_address"])
    (pool,) = networks["services"]["ipam"]["config"]
    assert gateway_ip in ipaddress.ip_network(pool["subnet"])
    assert gateway_ip not in ipaddress.ip_network(pool["ip_range"]), "replicas could be given its address"
    for name in SERVICES:
        env = environment(services[name])
        assert env["TRUSTED_PROXIES"] == f"{gateway_ip}/32", name
        assert set(services[name]["networks"]) & {"edge"} == set(), f"{name} is reachable from outside"
    assert environment(services["svc-agenda"])["AGENDA_TRUSTED_PROXIES"] == f"{gateway_ip}/32"


def test_the_gateway_config_is_mounted_and_routes_to_the_compose_services(compose):
    gateway = compose["services"]["gateway"]
    (mount,) = gateway["configs"]
    assert mount["target"] == environment(gateway)["GATEWAY_CONFIG"]
    assert (REPO_ROOT / compose["configs"][mount["source"]]["file"]).resolve() == COMPOSE_GATEWAY_CONFIG
    config = yaml.safe_load(COMPOSE_GATEWAY_CONFIG.read_text())
    assert {route["name"]: route["upstreams"] for route in config["routes"]} == {
        route: [f"http://{folder}:8000"] for route, folder in ROUTES.items()
    }
    assert all(route["resolve_interval"] <= 10 for route in config["routes"])


def test_the_compose_gateway_config_is_accepted_by_the_gateway():
    gateway_config = importlib.import_module("gateway.config")
    raw = yaml.safe_load(COMPOSE_GATEWAY_CONFIG.read_text())
    config = gateway_config.parse_config(raw, {"RATELIMIT_STORAGE_URL": "redis://:pw@redis:6379/0"})
    assert [route.name for route in config.routes] == list(ROUTES)


def test_every_variable_the_compose_file_reads_is_in_env_example(compose, example_env):
    used = variables_in(compose)
    assert set(used) <= set(example_env), sorted(set(used) - set(example_env))
    required = {name for name, op in used.items() if op in (":?", "?")}
    # The secrets are exactly the variables compose insists on, and none is pre-filled.
    assert required == {name for name, value in example_env.items() if value == ""}
    assert {"REDIS_PASSWORD", "WIPE_SECRET_KEY", "BULKUSER_SECRET_KEY"} <= required
    assert {f"{d.removeprefix('db-').upper()}_DB_PASSWORD" for d in DATABASES.values()} <= required


def test_compose_refuses_to_start_while_a_secret_is_missing(compose, filled_env):
    for name in ["REDIS_PASSWORD", "WIPE_SECRET_KEY", "EMM_DB_PASSWORD"]:
        with pytest.raises(MissingVariable, match=name):
            interpolate(compose, {**filled_env, name: ""})


def test_every_demo_secret_of_a_service_comes_from_env(compose):
    """A service's demo secrets (its config.DEMO_SECRETS) are all set, each from a required variable."""
    for name in SERVICES:
        package = component(name).package
        demo_secrets = importlib.import_module(f"{package}.config").DEMO_SECRETS
        env = environment(compose["services"][name])
        for secret in demo_secrets:
            assert secret in env, f"{name} needs {secret} in docker-compose.yml"
            assert set(variables_in(env[secret]).values()) == {":?"}, f"{name}.{secret} must be required"


def test_demo_data_is_off_unless_asked_for(compose, example_env):
    assert example_env["DEMO_DATA"] == "0"
    for name in SERVICES:
        assert interpolate(environment(compose["services"][name])["DEMO_DATA"], {}) == "0"


def test_the_real_env_file_stays_out_of_git_and_out_of_images():
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".env"], cwd=REPO_ROOT, check=False, capture_output=True
    )
    assert ignored.returncode == 0
    assert ".env" in (REPO_ROOT / ".dockerignore").read_text().splitlines()


def test_new_env_fills_every_secret_with_a_fresh_value(tmp_path, example_env):
    target = tmp_path / ".env"
    result = subprocess.run(
        [sys.executable, str(NEW_ENV), "--output", str(target)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    written = parse_env_file(target.read_text())
    assert set(written) == set(example_env)
    secrets = [written[key] for key, value in example_env.items() if value == ""]
    assert all(len(value) == 64 for value in secrets)
    assert len(set(secrets)) == len(secrets)
    assert {k: v for k, v in written.items() if example_env[k]} == {k: v for k, v in example_env.items() if v}
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    again = subprocess.run(
        [sys.executable, str(NEW_ENV), "--output", str(target)], capture_output=True, text=True, check=False
    )
    assert again.returncode == 1
    assert "not overwriting" in again.stderr
    assert parse_env_file(target.read_text()) == written
