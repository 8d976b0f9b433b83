# mcp-oauth-clients over streamable HTTP, for a team. Build: docker build -t mcp-oauth-clients .
# It listens on 0.0.0.0:8000 and refuses to start unless MCP_OAUTH_CLIENTS_HTTP_TOKEN and
# MCP_OAUTH_CLIENTS_HTTP_ALLOWED_HOSTS are set (see "Run as a container" in README.md).
#
# Reproducible: the base is pinned by tag and by the digest of its multi-platform index, and every
# package comes from a lock with hashes (docker/*.lock, made by scripts/lock_image_deps.py).
# The digest is the one docker-library/repo-info records for python:3.12.14-slim-bookworm
# (repos/python/remote/3.12.14-slim-bookworm.md at commit 33a22f41ac7b, the 25 Aug 2026 build;
# linux/amd64 sha256:4427763a1ba3..., linux/arm64 sha256:457e0286fc13...). To move to a newer
# base: take the new tag's index digest from that file, change this line, then re-run the script.
FROM python:3.12.14-slim-bookworm@sha256:0f5b26b9518d002b6173fd61daad821fa340635ebfec5bba471013f9ca114579

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /app
# The dependencies first, alone: their layer is reused until the lock changes. Wheels only, since
# building an sdist would fetch its build backend unhashed; --no-deps, since the lock is the whole set.
COPY docker/requirements.lock docker/build-requirements.lock ./docker/
RUN pip install --require-hashes --no-deps --only-binary=:all: -r docker/requirements.lock

COPY pyproject.toml README.md LICENSE ./
COPY mcp_oauth_clients ./mcp_oauth_clients
# The project is built with the hashed setuptools of the build lock (not one fetched by build
# isolation), which is removed again; pip check fails the build if the lock missed a dependency.
RUN pip install --require-hashes --no-deps --only-binary=:all: -r docker/build-requirements.lock \
    && pip install --no-deps --no-build-isolation . \
    && pip uninstall --yes setuptools \
    && pip check \
    && rm -rf /app/build /app/*.egg-info \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin mcp

# Never root: the process holds a Cloudflare token and faces the network.
USER 10001:10001
EXPOSE 8000

# python, not curl: the slim image has no curl, and /healthz needs no token.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]

ENTRYPOINT ["mcp-oauth-clients", "--transport", "streamable-http", "--host", "0.0.0.0", "--port", "8000"]
