"""Reading the deployment files the way Docker, Compose and kustomize read them."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
COMPOSE_GATEWAY_CONFIG = REPO_ROOT / "deploy" / "compose" / "gateway.yaml"
COMPOSE_LEAVER_CONFIG = REPO_ROOT / "deploy" / "compose" / "leaver.yaml"
K8S = REPO_ROOT / "deploy" / "k8s"
# Every service's image is built from this one file; the gateway has its own.
SERVICE_DOCKERFILE = REPO_ROOT / "deploy" / "service.Dockerfile"
SERVICES = ["svc-wipe", "svc-bulkuser", "svc-offboard", "svc-emm", "svc-agenda", "svc-leaver"]
IMAGES = ["gateway", *SERVICES]
# gateway route name -> service folder
ROUTES = {"wipe": "svc-wipe", "bulkuser": "svc-bulkuser", "offboard": "svc-offboard", "emm": "svc-emm", "agenda": "svc-agenda", "leaver": "svc-leaver"}  # fmt: skip
# svc-leaver's queue consumers: a second container of svc-leaver's image.
LEAVER_WORKER = "svc-leaver-worker"


@dataclass
class Component:
    """One deployable folder: its distribution name (for uv) and import package (for the server)."""

    folder: str
    distribution: str
    package: str

    @property
    def is_service(self) -> bool:
        return self.folder.startswith("svc-")

    @property
    def dockerfile(self) -> Path:
        return SERVICE_DOCKERFILE if self.is_service else REPO_ROOT / self.folder / "Dockerfile"

    @property
    def build_args(self) -> dict[str, str]:
        """The ``--build-arg`` values that make the image this component's."""
        return {"SERVICE": self.folder.removeprefix("svc-")} if self.is_service else {}


def component(folder: str) -> Component:
    project = tomllib.loads((REPO_ROOT / folder / "pyproject.toml").read_text())
    (package_dir,) = project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    return Component(folder, project["project"]["name"], Path(package_dir).name)


def workspace_members() -> list[str]:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]


# --- Dockerfiles ----------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    arguments: str

    @property
    def exec_form(self) -> list[str]:
        """The JSON (exec) form of CMD/ENTRYPOINT/HEALTHCHECK CMD."""
        return json.loads(self.arguments)


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def env(self) -> dict[str, str]:
        """The ENV of the stage (``KEY=value`` pairs; ``$PATH``-style references left as written)."""
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for pair in shlex.split(instruction.arguments):
                key, _, value = pair.partition("=")
                values[key] = value
        return values


def substitute(text: str, values: dict[str, str]) -> str:
    """``$NAME`` and ``${NAME}`` replaced for the names in ``values`` (others left as written)."""

    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        return values.get(name, match.group(0))

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, text)


def parse_dockerfile(
    path: Path, build_args: dict[str, str] | None = None
) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, with line continuations joined and comments dropped.

    A stage's ``ARG NAME`` makes the build argument ``NAME`` (from ``build_args``,
    else the ARG's default) visible to the stage's later instructions, as in
    Docker, and it is substituted there (in RUN, the shell would do the same).
    """
    build_args = build_args or {}
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    visible: dict[str, str] = {}
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        rest = rest.strip()
        if keyword == "FROM":
            words = rest.split()
            base = substitute(words[0], {**args, **build_args})
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base, name))
            visible = {}
        elif keyword == "ARG" and not stages:
            key, _, value = rest.partition("=")
            args[key] = value
        else:
            if keyword == "ARG":
                key, _, default = rest.partition("=")
                visible[key] = build_args.get(key, default or args.get(key, ""))
            stages[-1].instructions.append(Instruction(keyword, substitute(rest, visible)))
    return args, stages


def dockerignore_patterns() -> list[str]:
    lines = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored_by_docker(relative: str) -> bool:
    """Whether .dockerignore keeps ``relative`` (or a folder above it) out of the build context."""
    ignored = False
    parts = Path(relative).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in dockerignore_patterns():
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!")
        for candidate in prefixes:
            matched = fnmatch(candidate, pattern) or (
                pattern.startswith("**/") and fnmatch(candidate.split("/")[-1], pattern[3:])
            )
            if matched:
                ignored = not negate
    return ignored


# --- Compose ----------------------------------------------------------------------

VARIABLE = re.compile(r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\})")


class MissingVariable(KeyError):
    """A ``${NAME:?message}`` whose variable is unset or empty: compose refuses to start."""


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable interpolation of one value: ${NAME}, ${NAME:-default}, ${NAME:?error}, $$."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        current = env.get(name)
        unset = current is None or (op is not None and op.startswith(":") and current == "")
        if op in (":-", "-"):
            return arg if unset else current
        if op in (":?", "?"):
            if unset:
                raise MissingVariable(f"{name}: {arg}")
            return current
        return current or ""

    return VARIABLE.sub(substitute, value)


def variables_in(value: Any) -> dict[str, str | None]:
    """Every variable named in ``value``, with its operator (None for a plain ${NAME})."""
    found: dict[str, str | None] = {}
    if isinstance(value, dict):
        for item in value.values():
            found.update(variables_in(item))
    elif isinstance(value, list):
        for item in value:
            found.update(variables_in(item))
    elif isinstance(value, str):
        for match in VARIABLE.finditer(value):
            if match.group("name"):
                found[match.group("name")] = match.group("op")
    return found


def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def parse_env_file(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value
    return values


def environment(service: dict[str, Any]) -> dict[str, Any]:
    """A compose service's environment as a mapping (either spelling)."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return dict(item.partition("=")[::2] for item in raw)
    return dict(raw)


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in raw.items()}
