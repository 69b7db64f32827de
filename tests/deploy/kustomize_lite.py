"""Enough of kustomize to render this project's overlays where no kustomize binary is installed.

It understands the fields deploy/k8s uses and refuses any other, so a
kustomization can never lean on a feature this renderer silently skips:
resources (files and directories), namespace, images, replicas, patches
(strategic merge files, and JSON 6902 patches with a target), and
configMapGenerator / secretGenerator (files and literals) with kustomize's
content-hash name suffix and the rewriting of references to generated names.
Where kubectl is installed, the tests compare this output with
``kubectl kustomize``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

SUPPORTED_FIELDS = {
    "apiVersion", "kind", "resources", "namespace", "images", "replicas",
    "patches", "configMapGenerator", "secretGenerator", "generatorOptions",
}  # fmt: skip
GENERATED = "__generated_name__"


class UnsupportedKustomization(ValueError):
    """The kustomization uses a field this renderer does not implement."""


def build(directory: Path) -> list[dict[str, Any]]:
    """The rendered resources of the kustomization in ``directory``."""
    resources = _build(Path(directory))
    _apply_name_suffixes(resources)
    return resources


def _build(directory: Path) -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = sorted(set(kustomization) - SUPPORTED_FIELDS)
    if unknown:
        raise UnsupportedKustomization(f"{directory}: {', '.join(unknown)}")

    resources: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        if path.is_dir():
            resources.extend(_build(path))
        else:
            resources.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)

    hashed = not (kustomization.get("generatorOptions") or {}).get("disableNameSuffixHash", False)
    for spec in kustomization.get("configMapGenerator", []):
        resources.append(_generate("ConfigMap", spec, directory, hashed))
    for spec in kustomization.get("secretGenerator", []):
        resources.append(_generate("Secret", spec, directory, hashed))

    for patch in kustomization.get("patches", []):
        _apply_patch(resources, patch, directory)

    namespace = kustomization.get("namespace")
    if namespace:
        for resource in resources:
            resource["metadata"]["namespace"] = namespace
    for image in kustomization.get("images", []):
        _set_image(resources, image)
    for replica in kustomization.get("replicas", []):
        for resource in _select(resources, "Deployment", replica["name"]):
            resource["spec"]["replicas"] = replica["count"]
    return resources


def _generate(kind: str, spec: dict[str, Any], directory: Path, hashed: bool) -> dict[str, Any]:
    unknown = sorted(set(spec) - {"name", "files", "literals", "type"})
    if unknown:
        raise UnsupportedKustomization(f"{kind} generator {spec.get('name')}: {', '.join(unknown)}")
    data: dict[str, str] = {}
    for entry in spec.get("files", []):
        key, _, path = entry.rpartition("=") if "=" in entry else ("", "", entry)
        data[key or Path(path).name] = (directory / path).read_text()
    for literal in spec.get("literals", []):
        key, _, value = literal.partition("=")
        data[key] = value
    resource: dict[str, Any] = {"apiVersion": "v1", "kind": kind, "metadata": {"name": spec["name"]}}
    if kind == "Secret":
        resource["type"] = spec.get("type", "Opaque")
        resource["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    else:
        resource["data"] = data
    if hashed:
        resource[GENERATED] = spec["name"]
    return resource


def _select(resources: list[dict[str, Any]], kind: str | None, name: str | None) -> list[dict[str, Any]]:
    return [
        r
        for r in resources
        if (kind is None or r["kind"] == kind) and (name is None or r["metadata"]["name"] == name)
    ]


def _apply_patch(resources: list[dict[str, Any]], patch: dict[str, Any], directory: Path) -> None:
    unknown = sorted(set(patch) - {"path", "patch", "target"})
    if unknown:
        raise UnsupportedKustomization(f"patch: {', '.join(unknown)}")
    text = (directory / patch["path"]).read_text() if "path" in patch else patch["patch"]
    documents = [doc for doc in yaml.safe_load_all(text) if doc]
    if len(documents) == 1 and isinstance(documents[0], list):
        target = patch.get("target") or {}
        if set(target) - {"kind", "name"}:
            raise UnsupportedKustomization(f"patch target: {target}")
        matched = _select(resources, target.get("kind"), target.get("name"))
        if not matched:
            raise ValueError(f"JSON patch target {target} matches nothing")
        for resource in matched:
            for operation in documents[0]:
                _json_patch(resource, operation)
        return
    for document in documents:
        matched = _select(resources, document["kind"], document["metadata"]["name"])
        if len(matched) != 1:
            raise ValueError(
                f"patch for {document['kind']}/{document['metadata']['name']} matches {len(matched)}"
            )
        _merge(matched[0], document)


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """A strategic merge: mappings merge, lists of named items merge by name, anything else replaces."""
    for key, value in patch.items():
        if key in ("apiVersion", "kind"):
            continue
        current = target.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            _merge(current, value)
        elif _named_list(value) and _named_list(current):
            by_name = {item["name"]: item for item in current}
            for item in value:
                if item["name"] in by_name:
                    _merge(by_name[item["name"]], item)
                else:
                    current.append(copy.deepcopy(item))
        else:
            target[key] = copy.deepcopy(value)


def _named_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(i, dict) and "name" in i for i in value)


def _json_patch(resource: dict[str, Any], operation: dict[str, Any]) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in operation["path"].split("/")[1:]]
    parent = resource
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    last = parts[-1]
    op = operation["op"]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if op == "add":
            parent.insert(index, operation["value"])
        elif op == "replace":
            parent[index] = operation["value"]
        elif op == "remove":
            del parent[index]
        else:
            raise UnsupportedKustomization(f"JSON patch op {op}")
    elif op in ("add", "replace"):
        if op == "replace" and last not in parent:
            raise ValueError(f"JSON patch replace of missing {operation['path']}")
        parent[last] = operation["value"]
    elif op == "remove":
        del parent[last]
    else:
        raise UnsupportedKustomization(f"JSON patch op {op}")


def _set_image(resources: list[dict[str, Any]], image: dict[str, Any]) -> None:
    for resource in _select(resources, "Deployment", None):
        for container in resource["spec"]["template"]["spec"]["containers"]:
            name, _, _tag = container["image"].partition(":")
            if name == image["name"]:
                new_name = image.get("newName", name)
                container["image"] = f"{new_name}:{image['newTag']}" if "newTag" in image else new_name


def content_hash(resource: dict[str, Any]) -> str:
    """Ten characters from the resource's content, spelt the way kustomize spells its suffixes."""
    canonical = json.dumps(
        {"kind": resource["kind"], "name": resource[GENERATED], "data": resource.get("data", {})},
        sort_keys=True,
        separators=(",", ":"),
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:10]
    return digest.translate(str.maketrans({"0": "g", "1": "h", "3": "k", "a": "m", "e": "t"}))


def _apply_name_suffixes(resources: list[dict[str, Any]]) -> None:
    renamed: dict[tuple[str, str], str] = {}
    for resource in resources:
        original = resource.pop(GENERATED, None)
        if original is not None:
            resource["metadata"]["name"] = f"{original}-{content_hash({**resource, GENERATED: original})}"
            renamed[(resource["kind"], original)] = resource["metadata"]["name"]
    for resource in _select(resources, "Deployment", None):
        pod = resource["spec"]["template"]["spec"]
        for container in pod.get("containers", []):
            for source in container.get("envFrom", []):
                for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                    if key in source:
                        ref = source[key]
                        ref["name"] = renamed.get((kind, ref["name"]), ref["name"])
            for variable in container.get("env", []):
                for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                    ref = (variable.get("valueFrom") or {}).get(key)
                    if ref:
                        ref["name"] = renamed.get((kind, ref["name"]), ref["name"])
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                ref = volume["configMap"]
                ref["name"] = renamed.get(("ConfigMap", ref["name"]), ref["name"])
            if "secret" in volume:
                ref = volume["secret"]
                ref["secretName"] = renamed.get(("Secret", ref["secretName"]), ref["secretName"])
