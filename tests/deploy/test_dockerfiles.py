"""The Dockerfiles: what they copy exists, what they run is importable, and the builder stage works.

Every service's image comes from deploy/service.Dockerfile with the build
argument SERVICE; the gateway's from gateway/Dockerfile. No Docker engine runs
on the development machines, so the images are checked statically here, with
the build arguments substituted as Docker would, and the builder stage's uv
commands are replayed as processes
(test_the_builder_stage_installs_the_package_from_the_lock).
"""

import importlib
import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from deploy_helpers import (
    IMAGES,
    REPO_ROOT,
    SERVICE_DOCKERFILE,
    SERVICES,
    component,
    ignored_by_docker,
    parse_dockerfile,
    workspace_members,
)

UV = shutil.which("uv") or str(REPO_ROOT / ".tools" / "bin" / "uv")


@pytest.fixture(params=IMAGES)
def image(request):
    unit = component(request.param)
    global_args, stages = parse_dockerfile(unit.dockerfile, unit.build_args)
    return unit, global_args, stages


def test_one_dockerfile_builds_every_service():
    # No per-service copies to drift apart: the build argument is the only difference.
    assert not list(REPO_ROOT.glob("svc-*/Dockerfile"))

    def sources(service: str) -> set[str]:
        _, stages = parse_dockerfile(SERVICE_DOCKERFILE, {"SERVICE": service})
        return {shlex.split(copy.arguments)[0] for copy in stages[0].all("COPY")}

    for name in SERVICES:
        others = {f"{other}/src" for other in SERVICES if other != name}
        copied = sources(name.removeprefix("svc-"))
        assert f"{name}/src" in copied and not copied & others, name


def test_the_build_refuses_to_start_without_the_service_argument():
    """The builder's first RUN, as the build's shell runs it with and without ``--build-arg SERVICE``."""

    def first_run(build_args: dict[str, str]) -> subprocess.CompletedProcess:
        _, stages = parse_dockerfile(SERVICE_DOCKERFILE, build_args)
        command = stages[0].all("RUN")[0].arguments
        return subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, check=False)

    refused = first_run({})
    assert refused.returncode != 0
    assert "--build-arg SERVICE=" in refused.stderr
    assert first_run({"SERVICE": "wipe"}).returncode == 0


def test_multi_stage_on_slim_python_3_11(image):
    _, global_args, stages = image
    assert global_args["PYTHON_IMAGE"] == "python:3.11-slim"
    builder, runtime = stages
    assert builder.name == "builder"
    assert builder.base == runtime.base == "python:3.11-slim"
    (copied_venv,) = runtime.all("COPY")
    assert copied_venv.arguments == "--from=builder /opt/venv /opt/venv"
    assert builder.env()["UV_PROJECT_ENVIRONMENT"] == "/opt/venv"


def test_the_image_runs_as_an_unprivileged_user(image):
    _, _, stages = image
    (user,) = stages[-1].all("USER")
    uid, gid = (int(part) for part in user.arguments.split(":"))
    assert uid >= 1000 and gid >= 1000
    assert stages[-1].instructions.index(user) > max(
        stages[-1].instructions.index(i) for i in stages[-1].all("RUN") + stages[-1].all("COPY")
    )


def test_the_gateway_image_runs_the_gateway_command_on_every_interface():
    _, stages = parse_dockerfile(component("gateway").dockerfile)
    (entrypoint,) = stages[-1].all("ENTRYPOINT")
    (cmd,) = stages[-1].all("CMD")
    assert entrypoint.exec_form == ["gateway"]
    arguments = cmd.exec_form
    assert arguments[arguments.index("--bind") + 1] == "0.0.0.0:8080"
    assert int(arguments[arguments.index("--workers") + 1]) >= 1
    # The command the image names is the one the gateway package installs.
    scripts = tomllib.loads((REPO_ROOT / "gateway" / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["gateway"] == "gateway.cli:main"
    assert callable(importlib.import_module("gateway.cli").main)


def test_cmd_serves_this_services_create_app_under_waitress(image):
    unit, _, stages = image
    if unit.folder == "gateway":
        pytest.skip("the gateway image runs the gateway command (tested above)")
    runtime = stages[-1]
    (cmd,) = runtime.all("CMD")
    assert cmd.exec_form == ["python", "-m", "vendorkit.serve"]
    # vendorkit.serve takes the app from SERVE_APP and the address from SERVE_BIND.
    env = runtime.env()
    module, _, call = env["SERVE_APP"].partition(":")
    assert (module, call) == (unit.package, "create_app()")
    assert env["SERVE_BIND"] == "0.0.0.0:8000"
    assert callable(importlib.import_module(module).create_app)
    serve = importlib.import_module("vendorkit.serve")
    target = serve.Target.parse(env["SERVE_APP"], env["SERVE_BIND"])
    assert (target.app, target.host, target.port) == (f"{unit.package}:create_app()", "0.0.0.0", 8000)


def test_the_serve_command_reads_its_app_from_serve_app(monkeypatch):
    """What the image's CMD relies on: no argument, the app and address from the environment."""
    serve = importlib.import_module("vendorkit.serve")
    served = []
    monkeypatch.setattr(serve, "serve", served.append)
    monkeypatch.setenv("SERVE_APP", "svc_emm:create_app()")
    monkeypatch.setenv("SERVE_BIND", "0.0.0.0:8000")
    assert serve.main([]) == 0
    assert served == [serve.Target("svc_emm:create_app()", "0.0.0.0", 8000)]
    monkeypatch.delenv("SERVE_APP")
    with pytest.raises(SystemExit) as refused:
        serve.main([])
    assert refused.value.code == 2


def test_the_leaver_image_also_runs_its_queue_workers():
    scripts = tomllib.loads((REPO_ROOT / "svc-leaver" / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["leaver"] == "svc_leaver.cli:main"
    cli = importlib.import_module("svc_leaver.cli")
    assert cli.build_parser().parse_args(["worker"]).command == "worker"


def test_the_gunicorn_config_reads_its_settings_from_the_environment(monkeypatch):
    settings = {
        "GUNICORN_BIND": "0.0.0.0:9999",
        "GUNICORN_WORKERS": "3",
        "GUNICORN_THREADS": "4",
        "GUNICORN_TIMEOUT": "15",
        "GUNICORN_ACCESSLOG": "-",
    }
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    conf = importlib.reload(importlib.import_module("vendorkit.gunicorn_conf"))
    assert (conf.bind, conf.workers, conf.threads, conf.timeout, conf.accesslog) == (
        "0.0.0.0:9999",
        3,
        4,
        15,
        "-",
    )
    assert conf.access_log_format.startswith("{") and '"status": %(s)s' in conf.access_log_format
    monkeypatch.undo()
    importlib.reload(conf)


def test_gunicorn_writes_nothing_under_the_read_only_home():
    # The root filesystem is read-only in compose and on Kubernetes; gunicorn's
    # control socket would go under $HOME, so the shared configuration turns it off.
    from vendorkit import gunicorn_conf

    assert gunicorn_conf.control_socket_disable is True


def test_the_listening_port_is_exposed_and_health_checked(image):
    unit, _, stages = image
    runtime = stages[-1]
    if unit.folder == "gateway":
        (cmd,) = runtime.all("CMD")
        port = cmd.exec_form[cmd.exec_form.index("--bind") + 1].rpartition(":")[2]
    else:
        port = runtime.env()["SERVE_BIND"].rpartition(":")[2]
    (expose,) = runtime.all("EXPOSE")
    assert expose.arguments == port
    (healthcheck,) = runtime.all("HEALTHCHECK")
    path = "/_gateway/healthz" if unit.folder == "gateway" else "/readyz"
    assert f"http://127.0.0.1:{port}{path}" in healthcheck.arguments


def test_every_copy_source_exists_and_is_in_the_build_context(image):
    _, _, stages = image
    for stage in stages:
        for copy in stage.all("COPY"):
            words = [w for w in shlex.split(copy.arguments) if not w.startswith("--")]
            if copy.arguments.startswith("--from="):
                continue
            for source in words[:-1]:
                assert (REPO_ROOT / source).exists(), f"COPY {source}: no such path"
                assert not ignored_by_docker(source), f"COPY {source}: excluded by .dockerignore"


def test_the_builder_installs_this_package_from_the_lock(image):
    unit, _, stages = image
    builder = stages[0]
    copied = {shlex.split(c.arguments)[0] for c in builder.all("COPY")}
    # uv needs every workspace member's pyproject.toml to read uv.lock.
    assert {"pyproject.toml", *(f"{m}/pyproject.toml" for m in workspace_members())} <= copied
    assert {"shared/src", f"{unit.folder}/src"} <= copied
    syncs = [r.arguments for r in builder.all("RUN") if r.arguments.startswith("uv sync")]
    assert syncs == [
        f"uv sync --locked --no-dev --no-install-workspace --package {unit.distribution}",
        f"uv sync --locked --no-dev --no-editable --package {unit.distribution}",
    ]


def test_the_migration_lock_is_explained_where_the_command_is():
    text = SERVICE_DOCKERFILE.read_text()
    assert "vendorkit/serve.py" in text
    assert "advisory lock" in text


@pytest.mark.e2e
@pytest.mark.skipif(not Path(UV).exists(), reason="uv is not installed (make install provides .tools/bin/uv)")
@pytest.mark.parametrize("folder", ["gateway", "svc-leaver"])
def test_the_builder_stage_installs_the_package_from_the_lock(folder, tmp_path):
    """Replay the builder stage: its COPY instructions into a context, its uv commands with its ENV.

    Two images stand for all seven: test_the_builder_installs_this_package_from_the_lock
    holds every image to the same commands, each with its own package.
    """
    unit = component(folder)
    _, stages = parse_dockerfile(unit.dockerfile, unit.build_args)
    builder = stages[0]
    context = tmp_path / "src"
    for copy in builder.all("COPY"):
        *sources, destination = shlex.split(copy.arguments)
        for source in sources:
            target = (
                context / destination / Path(source).name
                if destination.endswith("/")
                else context / destination
            )
            if destination == "./":
                target = context / source
            target.parent.mkdir(parents=True, exist_ok=True)
            if (REPO_ROOT / source).is_dir():
                shutil.copytree(REPO_ROOT / source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(REPO_ROOT / source, target)
    env = {
        **os.environ,
        **builder.env(),
        # This machine's Python 3.11 instead of the image's /usr/local/bin/python3.11, and no
        # bytecode compilation, which only costs time here.
        "UV_PYTHON": sys.executable,
        "UV_PROJECT_ENVIRONMENT": str(tmp_path / "venv"),
        "UV_COMPILE_BYTECODE": "0",
    }
    env.pop("VIRTUAL_ENV", None)
    for run in builder.all("RUN"):
        if not run.arguments.startswith("uv sync"):
            continue
        result = subprocess.run(
            [UV, *shlex.split(run.arguments)[1:]],
            cwd=context,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    python = tmp_path / "venv" / "bin" / "python"
    # find_spec, not import: the import itself is checked in-process above, and
    # importing Flask and SQLAlchemy again here would only cost time.
    probe = (
        "import importlib.util, vendorkit.serve, waitress; "
        f"spec = importlib.util.find_spec({unit.package!r}); "
        "assert importlib.util.find_spec('pytest') is None, 'dev dependencies in the image'; "
        "print(spec.origin)"
    )
    result = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    # Installed into the venv (the runtime stage copies only the venv), not linked to the sources.
    assert result.stdout.startswith(str(tmp_path / "venv" / "lib"))
    assert "def create_app" in Path(result.stdout.strip()).read_text()
    # The console scripts the images' commands name.
    scripts = {"gateway": ["gateway"], "svc-leaver": ["leaver"]}.get(folder, [])
    assert all((tmp_path / "venv" / "bin" / script).exists() for script in scripts)
