"""The Dockerfiles: what they copy exists, what they run is importable, and the builder stage works.

No Docker engine runs on the development machines, so the images are checked
statically here, and the builder stage's uv commands are replayed as processes
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
    component,
    ignored_by_docker,
    parse_dockerfile,
    workspace_members,
)

UV = shutil.which("uv") or str(REPO_ROOT / ".tools" / "bin" / "uv")


@pytest.fixture(params=IMAGES)
def image(request):
    unit = component(request.param)
    global_args, stages = parse_dockerfile(unit.dockerfile)
    return unit, global_args, stages


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


def test_cmd_runs_gunicorn_on_an_importable_create_app(image):
    unit, _, stages = image
    if unit.folder == "gateway":
        pytest.skip("the gateway image runs the gateway command (tested above)")
    (cmd,) = stages[-1].all("CMD")
    program, config_flag, config, app = cmd.exec_form
    assert (program, config_flag, config) == ("gunicorn", "-c", "python:vendorkit.gunicorn_conf")
    module, _, call = app.partition(":")
    assert call == "create_app()"
    assert module == unit.package
    assert callable(importlib.import_module(module).create_app)
    importlib.import_module("vendorkit.gunicorn_conf")


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
        port = runtime.env()["GUNICORN_BIND"].rpartition(":")[2]
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


def test_the_migration_lock_is_explained_where_the_command_is(image):
    unit, _, _ = image
    text = unit.dockerfile.read_text()
    if unit.folder != "gateway":
        assert "gunicorn_conf" in text
        assert "advisory lock" in text


@pytest.mark.e2e
@pytest.mark.skipif(not Path(UV).exists(), reason="uv is not installed (make install provides .tools/bin/uv)")
@pytest.mark.parametrize("folder", ["gateway", "svc-emm"])
def test_the_builder_stage_installs_the_package_from_the_lock(folder, tmp_path):
    """Replay the builder stage: its COPY instructions into a context, its uv commands with its ENV.

    Two images stand for all six: test_the_builder_installs_this_package_from_the_lock
    holds every Dockerfile to the same commands, each with its own package.
    """
    unit = component(folder)
    _, stages = parse_dockerfile(unit.dockerfile)
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
        "import importlib.util, vendorkit.gunicorn_conf; "
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
    assert (tmp_path / "venv" / "bin" / "gunicorn").exists()
