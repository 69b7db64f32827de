"""The deployment checks: docker-compose.yml, the Dockerfiles, deploy/k8s, production settings."""

import sys
from pathlib import Path

# The helper modules beside this file (deploy_helpers, kustomize_lite) are plain
# modules, not a package: pytest's importlib mode does not put this folder on the path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
