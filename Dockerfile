# The loader image: worker, migrations and CLI. Configuration comes from the environment.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    DO_NOT_TRACK=1 \
    LOG_FORMAT=json \
    LOCAL_STATE_DIR=/app/state \
    PATH=/app/.venv/bin:$PATH

WORKDIR /app
RUN pip install --no-cache-dir uv==0.13.9 \
    && useradd --create-home --uid 10001 loader

# Dependencies first (cached layer), from the lock file only; no dev or local-server groups.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

COPY loader ./loader
COPY migrations ./migrations
COPY dbt_project ./dbt_project
COPY profiles.yml ./
COPY schemas ./schemas
RUN uv sync --frozen --no-dev \
    && mkdir -p /app/state /data \
    && chown -R loader /app/state

USER loader
ENTRYPOINT ["loader"]
CMD ["worker"]
