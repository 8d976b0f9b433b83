# mcp-oauth-clients over streamable HTTP, for a team. Build: docker build -t mcp-oauth-clients .
# It listens on 0.0.0.0:8000 and refuses to start unless MCP_OAUTH_CLIENTS_HTTP_TOKEN and
# MCP_OAUTH_CLIENTS_HTTP_ALLOWED_HOSTS are set (see "Run as a container" in README.md).
# Pinned to an exact Python and Debian release; pin the digest too once you have pulled it.
FROM python:3.12.8-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY mcp_oauth_clients ./mcp_oauth_clients
RUN pip install . \
    && rm -rf /app/build /app/*.egg-info \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin mcp

# Never root: the process holds a Cloudflare token and faces the network.
USER 10001:10001
EXPOSE 8000

# python, not curl: the slim image has no curl, and /healthz needs no token.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]

ENTRYPOINT ["mcp-oauth-clients", "--transport", "streamable-http", "--host", "0.0.0.0", "--port", "8000"]
