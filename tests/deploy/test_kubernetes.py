"""deploy/k8s: every overlay renders, validates against the Kubernetes schemas, and wires up."""

import base64
import json
import re
import shutil
import subprocess
import urllib.parse

import kubernetes_validate
import pytest
import yaml
from deploy_helpers import (
    COMPOSE_GATEWAY_CONFIG,
    COMPOSE_LEAVER_CONFIG,
    IMAGES,
    K8S,
    LEAVER_WORKER,
    ROUTES,
    SERVICES,
    component,
    parse_dockerfile,
)
from kustomize_lite import build

OVERLAYS = ["dev", "production"]
TARGETS = ["base", *(f"overlays/{name}" for name in OVERLAYS)]
# The oldest Kubernetes still commonly run, and the newest the validator knows.
KUBERNETES_VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]


@pytest.fixture(scope="module", params=TARGETS)
def rendered(request):
    return request.param, build(K8S / request.param)


def find(resources, kind, name):
    matches = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


def generated(resources, kind, name):
    """A generated ConfigMap/Secret, whatever its content-hash suffix."""
    matches = [r for r in resources if r["kind"] == kind and re.fullmatch(rf"{name}-[a-z0-9]{{10}}", r["metadata"]["name"])]  # fmt: skip
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


def pod_container(deployment):
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_manifest_validates_against_the_kubernetes_schema(overlay, version):
    # Each overlay renders the whole base, so the base is validated through them.
    for resource in build(K8S / "overlays" / overlay):
        kubernetes_validate.validate(resource, version, strict=True)


def test_the_validator_refuses_what_kubernetes_would():
    deployment = find(build(K8S / "base"), "Deployment", "svc-wipe")
    pod_container(deployment)["livenessProbe"]["httpGet"]["paht"] = "/healthz"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def test_every_service_has_a_deployment_a_headless_service_and_an_autoscaler(rendered):
    _, resources = rendered
    for name in SERVICES:
        deployment = find(resources, "Deployment", name)
        service = find(resources, "Service", name)
        assert service["spec"]["clusterIP"] == "None", "headless: the gateway balances over the pods itself"
        assert (
            service["spec"]["selector"].items()
            <= deployment["spec"]["template"]["metadata"]["labels"].items()
        )
        (port,) = service["spec"]["ports"]
        (container_port,) = pod_container(deployment)["ports"]
        assert (port["port"], port["targetPort"]) == (8000, container_port["name"])
        assert container_port["containerPort"] == 8000
    for name in ["gateway", *SERVICES]:
        hpa = find(resources, "HorizontalPodAutoscaler", name)
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        # The autoscaler owns the count; a replicas field would be reset by every apply.
        assert "replicas" not in find(resources, "Deployment", name)["spec"]
        assert find(resources, "PodDisruptionBudget", name)["spec"]["selector"]["matchLabels"] == {
            "app.kubernetes.io/name": name
        }


def test_probes_resources_and_an_unprivileged_user(rendered):
    _, resources = rendered
    for name in ["gateway", *SERVICES]:
        deployment = find(resources, "Deployment", name)
        pod = deployment["spec"]["template"]["spec"]
        container = pod_container(deployment)
        probes = {kind: container[kind]["httpGet"] for kind in ("readinessProbe", "livenessProbe")}
        if name == "gateway":
            assert probes["livenessProbe"]["path"] == "/_gateway/healthz"
        else:
            assert probes["readinessProbe"]["path"] == "/readyz"
            assert probes["livenessProbe"]["path"] == "/healthz"
            assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert all(probe["port"] == "http" for probe in probes.values())
        for bound in ("requests", "limits"):
            assert set(container["resources"][bound]) == {"cpu", "memory"}, f"{name} {bound}"
        # The same numeric user the image runs as (USER in the Dockerfile).
        _, stages = parse_dockerfile(component(name).dockerfile)
        (user,) = stages[-1].all("USER")
        uid, gid = (int(part) for part in user.arguments.split(":"))
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (uid, gid)
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_config_comes_from_configmaps_and_secrets(rendered):
    target, resources = rendered
    secrets = {r["metadata"]["name"] for r in resources if r["kind"] == "Secret"}
    config_maps = {r["metadata"]["name"]: r for r in resources if r["kind"] == "ConfigMap"}
    for name in ["gateway", *SERVICES]:
        sources = pod_container(find(resources, "Deployment", name))["envFrom"]
        (config_ref,) = [s["configMapRef"]["name"] for s in sources if "configMapRef" in s]
        (secret_ref,) = [s["secretRef"]["name"] for s in sources if "secretRef" in s]
        assert config_ref in config_maps
        if name != "gateway":
            data = config_maps[config_ref]["data"]
            assert data["DEMO_DATA"] == ("1" if target == "overlays/dev" else "0")
            assert "DATABASE_URL" not in data and "SECRET_KEY" not in data, "secrets belong in the Secret"
        if target == "overlays/dev":
            assert secret_ref in secrets
        else:
            # Production secrets are never in the repository: created out of band.
            assert secret_ref == f"{name}-secrets" and not secrets


def test_the_dev_secrets_name_the_external_databases_and_redis():
    resources = build(K8S / "overlays/dev")

    def secret(name):
        data = generated(resources, "Secret", name)["data"]
        return {key: base64.b64decode(value).decode() for key, value in data.items()}

    urls = {name: urllib.parse.urlsplit(secret(f"{name}-secrets")["DATABASE_URL"]) for name in SERVICES}
    assert {url.scheme for url in urls.values()} == {"postgresql"}
    assert len({url.path for url in urls.values()}) == len(SERVICES), "one database per service"
    assert secret("gateway-secrets")["RATELIMIT_STORAGE_URL"].startswith("redis://")


def test_the_gateway_mounts_its_routes_which_name_the_headless_services(rendered):
    _, resources = rendered
    deployment = find(resources, "Deployment", "gateway")
    pod = deployment["spec"]["template"]["spec"]
    container = pod_container(deployment)
    (config_volume,) = [v for v in pod["volumes"] if "configMap" in v]
    config_map = find(resources, "ConfigMap", config_volume["configMap"]["name"])
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == config_volume["name"]]
    env = find(resources, "ConfigMap", "gateway-env")["data"]
    assert env["GATEWAY_CONFIG"] == f"{mount['mountPath']}/gateway.yaml"
    routes = yaml.safe_load(config_map["data"]["gateway.yaml"])["routes"]
    for route in routes:
        (upstream,) = route["upstreams"]
        url = urllib.parse.urlsplit(upstream)
        service = find(resources, "Service", url.hostname)
        assert service["spec"]["ports"][0]["port"] == url.port
        assert url.hostname == ROUTES[route["name"]]
    assert generated(resources, "ConfigMap", "gateway-config") is config_map


def test_the_gateway_container_runs_the_gateway_command_on_its_port(rendered):
    _, resources = rendered
    deployment = find(resources, "Deployment", "gateway")
    container = pod_container(deployment)
    # The image's entrypoint is the gateway command; the Deployment gives its arguments.
    arguments = container["args"]
    host, _, port = arguments[arguments.index("--bind") + 1].rpartition(":")
    assert host == "0.0.0.0"
    (http_port,) = [p for p in container["ports"] if p["name"] == "http"]
    assert int(port) == http_port["containerPort"]
    workers = int(arguments[arguments.index("--workers") + 1])
    # One worker per CPU the container may use.
    assert workers == int(container["resources"]["limits"]["cpu"])


def test_kubernetes_and_compose_route_alike():
    k8s = yaml.safe_load((K8S / "base" / "gateway-routes.yaml").read_text())
    compose = yaml.safe_load(COMPOSE_GATEWAY_CONFIG.read_text())
    assert k8s == compose


def test_only_the_gateway_reaches_the_services(rendered):
    _, resources = rendered
    for name in SERVICES:
        policy = find(resources, "NetworkPolicy", name)
        assert policy["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": name}
        (rule,) = policy["spec"]["ingress"]
        assert rule["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}}]
        assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]


def test_production_pins_every_image_and_keeps_the_client_address():
    resources = build(K8S / "overlays/production")
    for name in [*IMAGES, LEAVER_WORKER]:
        image = pod_container(find(resources, "Deployment", name))["image"]
        image_name = name.removesuffix("-worker")  # the workers run svc-leaver's image
        assert re.fullmatch(rf"[\w.-]+/usermgmt/{image_name}:\d+\.\d+\.\d+", image), image
        assert find(resources, "HorizontalPodAutoscaler", name)["spec"]["minReplicas"] >= 3
    gateway = find(resources, "Service", "gateway")["spec"]
    assert (gateway["type"], gateway["externalTrafficPolicy"]) == ("LoadBalancer", "Local")
    assert {r["metadata"]["namespace"] for r in resources} == {"usermgmt"}


def normalized(resources):
    """Resources in a fixed order, without generated-name suffixes, Secret data decoded."""
    result = []
    for resource in resources:
        resource = json.loads(json.dumps(resource))
        if resource["kind"] == "Secret":
            resource["data"] = {k: base64.b64decode(v).decode() for k, v in resource["data"].items()}
        result.append(resource)
    text = json.dumps(sorted(result, key=lambda r: (r["kind"], r["metadata"]["name"])), sort_keys=True)
    return re.sub(r"(gateway-config|svc-leaver-targets|-secrets)-[a-z0-9]{10}\b", r"\1", text)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("target", TARGETS)
def test_the_renderer_agrees_with_kubectl_kustomize(target):
    output = subprocess.run(
        ["kubectl", "kustomize", str(K8S / target)], capture_output=True, text=True, check=True
    ).stdout
    assert normalized(build(K8S / target)) == normalized([d for d in yaml.safe_load_all(output) if d])


def test_svc_leavers_workers_run_its_image_with_its_settings(rendered):
    _, resources = rendered
    api = pod_container(find(resources, "Deployment", "svc-leaver"))
    worker_deployment = find(resources, "Deployment", LEAVER_WORKER)
    worker = pod_container(worker_deployment)
    assert worker["image"] == api["image"]
    assert worker["command"] == ["leaver", "worker"]
    assert worker["envFrom"] == api["envFrom"]
    assert "ports" not in worker, "a worker accepts no connections"
    (config_ref,) = [s["configMapRef"]["name"] for s in api["envFrom"] if "configMapRef" in s]
    settings = find(resources, "ConfigMap", config_ref)["data"]
    # The API only queues; the workers execute.
    assert settings["LEAVER_CONSUMER"] == "none"
    # Both mount the vendors' file where LEAVER_CONFIG names it.
    directory, _, filename = settings["LEAVER_CONFIG"].rpartition("/")
    for deployment in (find(resources, "Deployment", "svc-leaver"), worker_deployment):
        pod = deployment["spec"]["template"]["spec"]
        (mount,) = [m for m in pod_container(deployment)["volumeMounts"] if m["mountPath"] == directory]
        (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
        targets = find(resources, "ConfigMap", volume["configMap"]["name"])
        assert generated(resources, "ConfigMap", "svc-leaver-targets") is targets
        assert filename in targets["data"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod_container(deployment)["securityContext"]["readOnlyRootFilesystem"] is True
    hpa = find(resources, "HorizontalPodAutoscaler", LEAVER_WORKER)
    assert hpa["spec"]["scaleTargetRef"]["name"] == LEAVER_WORKER
    assert "replicas" not in worker_deployment["spec"]


def test_svc_leaver_reaches_the_vendors_through_the_gateway_service(rendered):
    from svc_leaver.config import parse_leaver_config

    _, resources = rendered
    targets = yaml.safe_load(generated(resources, "ConfigMap", "svc-leaver-targets")["data"]["leaver.yaml"])
    gateway = find(resources, "Service", "gateway")
    (port,) = gateway["spec"]["ports"]
    secrets = {"LEAVER_GROMMUNIO_PASSWORD", "LEAVER_DNL_PASSWORD", "LEAVER_COMMVAULT_PASSWORD",
               "LEAVER_WSO2_PASSWORD", "LEAVER_AKTION_API_KEY"}  # fmt: skip
    config = parse_leaver_config(targets, dict.fromkeys(secrets, "secret"))
    for name, target in config.targets.items():
        url = urllib.parse.urlsplit(target.base_url)
        assert (url.hostname, url.port or 80) == ("gateway", port["port"]), name
    # The same vendors, accounts and paths as compose, where the gateway is gateway:8080.
    compose = yaml.safe_load(COMPOSE_LEAVER_CONFIG.read_text())
    for target in compose["targets"].values():
        target["base_url"] = target["base_url"].replace("http://gateway:8080", "http://gateway")
    assert targets == compose


def test_svc_leavers_traffic_is_limited_to_what_it_needs(rendered):
    _, resources = rendered
    gateway_pods = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}}
    for name in ("svc-leaver", LEAVER_WORKER):
        policy = find(resources, "NetworkPolicy", name)["spec"]
        assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
        assert policy["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": name}
        egress = policy["egress"]
        # The gateway's pods on their container port, DNS, and the external PostgreSQL and Redis.
        (to_gateway,) = [rule for rule in egress if rule.get("to") == [gateway_pods]]
        assert to_gateway["ports"] == [{"protocol": "TCP", "port": 8080}]
        ports = {(p["protocol"], p["port"]) for rule in egress for p in rule["ports"]}
        assert {("UDP", 53), ("TCP", 5432), ("TCP", 6379)} <= ports
    assert find(resources, "NetworkPolicy", LEAVER_WORKER)["spec"]["ingress"] == []
    gateway_container = pod_container(find(resources, "Deployment", "gateway"))
    assert {p["containerPort"] for p in gateway_container["ports"]} == {8080}
