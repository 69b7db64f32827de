# syntax=docker/dockerfile:1
# Every service's image from one file; the build argument SERVICE names it
# (wipe, bulkuser, offboard, emm, agenda or leaver: the folder svc-<SERVICE>,
# the package svc_<SERVICE>). Build from the repository root, so that uv.lock and
# the shared library are in the context:
#   docker build -f deploy/service.Dockerfile --build-arg SERVICE=wipe -t usermgmt/svc-wipe .
# The gateway has its own image (gateway/Dockerfile).

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: a virtual environment holding exactly the locked dependencies ---
FROM ${PYTHON_IMAGE} AS builder
ARG SERVICE
ARG UV_VERSION=0.13.8
RUN test -n "$SERVICE" || { echo "--build-arg SERVICE=<wipe|bulkuser|offboard|emm|agenda|leaver> is required" >&2; exit 1; }
RUN pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /src
# uv reads the whole workspace to use uv.lock, so every member's pyproject.toml is
# copied (a test holds this list to the workspace's members); the sources come
# later so that this layer survives code changes.
# --locked: the build fails if uv.lock is out of date with a pyproject.toml.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY gateway/pyproject.toml gateway/
COPY svc-wipe/pyproject.toml svc-wipe/
COPY svc-bulkuser/pyproject.toml svc-bulkuser/
COPY svc-offboard/pyproject.toml svc-offboard/
COPY svc-emm/pyproject.toml svc-emm/
COPY svc-agenda/pyproject.toml svc-agenda/
COPY svc-leaver/pyproject.toml svc-leaver/
RUN uv sync --locked --no-dev --no-install-workspace --package svc-${SERVICE}
COPY shared/src shared/src
COPY svc-${SERVICE}/src svc-${SERVICE}/src
# --no-editable: the packages are installed into the venv, which is all the runtime stage copies.
RUN uv sync --locked --no-dev --no-editable --package svc-${SERVICE}

# --- runtime: the venv on a clean base, run by an unprivileged user ---
FROM ${PYTHON_IMAGE}
ARG SERVICE
# A numeric id, so that Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
# /app/var: where a demo run without DATABASE_URL keeps its SQLite file (the default URL).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /app/var && chown app:app /app/var
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
# SERVE_APP is the app vendorkit.serve runs; SERVE_BIND where it listens.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SERVE_APP="svc_${SERVICE}:create_app()" \
    SERVE_BIND=0.0.0.0:8000
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=3)"]
# waitress (vendorkit/serve.py), one process with SERVE_THREADS threads: its I/O
# thread reads each request whole before a worker thread sees it, so slow clients
# hold a socket, never a thread, and what it refuses at the HTTP layer is answered
# in the service's own JSON envelope. A container scales by replicas, not by
# processes. create_app() migrates the database to head before serving: it holds a
# PostgreSQL advisory lock while it does, so any number of replicas starting at
# once migrate one at a time, and the later ones find the schema already current.
# gunicorn is installed too: `gunicorn -c python:vendorkit.gunicorn_conf "$SERVE_APP"`
# (settings from GUNICORN_*) runs the same app under it.
# svc-leaver's image also runs its queue workers: the command `leaver worker`.
CMD ["python", "-m", "vendorkit.serve"]
