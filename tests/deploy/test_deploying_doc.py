"""The README's "Deploying" section names every setting an image or compose reads."""

import importlib
import re

import yaml
from deploy_helpers import (
    COMPOSE_LEAVER_CONFIG,
    ENV_EXAMPLE,
    K8S,
    REPO_ROOT,
    SERVICES,
    component,
    parse_env_file,
)

from vendorkit.config import common_defaults

README = (REPO_ROOT / "README.md").read_text()
# The section runs from its heading to the next second-level heading (or the end).
DOC = re.search(r"^## Deploying\n.*?(?=^## |\Z)", README, re.MULTILINE | re.DOTALL).group(0)
NAMED = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", DOC))


def test_every_setting_of_every_service_is_documented():
    for name in SERVICES:
        config = importlib.import_module(f"{component(name).package}.config")
        settings = {*common_defaults(name), *config.DEMO_SECRETS, *config.DEFAULTS}
        assert settings <= NAMED, f"{name}: {sorted(settings - NAMED)}"


def test_every_server_and_gateway_variable_is_documented():
    vendorkit = REPO_ROOT / "shared" / "src" / "vendorkit"
    serve = (vendorkit / "serve.py").read_text()
    served = set(re.findall(r"\"(SERVE_[A-Z_]+)\"", serve))
    assert {"SERVE_APP", "SERVE_BIND", "SERVE_THREADS"} <= served <= NAMED
    gunicorn = (vendorkit / "gunicorn_conf.py").read_text()
    assert set(re.findall(r"\"(GUNICORN_[A-Z_]+)\"", gunicorn)) <= NAMED
    assert {"GATEWAY_CONFIG", "RATELIMIT_STORAGE_URL"} <= NAMED


def test_every_secret_a_deployed_vendors_file_names_is_documented():
    for path in (COMPOSE_LEAVER_CONFIG, K8S / "base" / "leaver-targets.yaml"):
        targets = yaml.safe_load(path.read_text())["targets"]
        named = {
            value for target in targets.values() for key, value in target.items() if key.endswith("_env")
        }
        assert named <= NAMED, f"{path.name}: {sorted(named - NAMED)}"


def test_the_build_commands_build_every_service_from_the_one_dockerfile():
    (loop,) = re.findall(r"^for service in ([a-z ]+); do$", DOC, re.MULTILINE)
    assert loop.split() == [name.removeprefix("svc-") for name in SERVICES]
    assert (
        "docker build -f deploy/service.Dockerfile --build-arg SERVICE=$service -t usermgmt/svc-$service ."
        in DOC
    )


def test_every_compose_variable_is_documented():
    assert set(parse_env_file(ENV_EXAMPLE.read_text())) <= NAMED


def test_the_section_covers_compose_scaling_and_kubernetes():
    assert DOC.startswith("## Deploying\n")
    for heading in (
        "### Docker Compose",
        "### Scaling a service",
        "### Kubernetes",
        "### Environment variables of each image",
    ):
        assert heading in DOC
    assert "docker compose up -d --scale svc-emm=3" in DOC
    assert "kubectl apply -k deploy/k8s/overlays/production" in DOC
