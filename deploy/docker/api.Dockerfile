# syntax=docker/dockerfile:1.7
#
# Signifier API image: `signifier serve` (FastAPI + uvicorn) with the CPU build
# of torch, which the API needs to encode query text.
#
#   docker build -f deploy/docker/api.Dockerfile -t signifier/api:0.1.0 .
#   docker build -f deploy/docker/api.Dockerfile \
#       --build-arg PRELOAD_MODEL=openai/clip-vit-base-patch32 -t signifier/api:0.1.0 .
#
# Build context: the repository root (see .dockerignore, an allow-list).
# Keep this file in step with worker-cpu.Dockerfile: the builder stage is the same,
# so the two images share their cached layers.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# ---------------------------------------------------------------- builder ----
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    HF_HOME=/opt/hf-cache

RUN python -m venv /opt/venv

# torch first, in its own layer, from the PyTorch CPU index: the PyPI wheel of the
# same version is the CUDA build (several GB this image never uses).
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

# The project's other dependencies, read from pyproject.toml, so that a change to
# the sources does not reinstall them. torch==2.13.0 is already satisfied above.
COPY pyproject.toml /src/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/pip \
    python -c "import tomllib; d = tomllib.load(open('/src/pyproject.toml', 'rb')); print('\n'.join(d['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

# Optionally bake model weights into the image's Hugging Face cache, so a pod or
# container starts without reaching the Hub. Empty (default): nothing is fetched
# and the runtime downloads into HF_HOME on first use. Only the files a PyTorch
# load needs are fetched (no TF/Flax/ONNX duplicates).
ARG PRELOAD_MODEL=""
RUN mkdir -p /opt/hf-cache \
    && if [ -n "$PRELOAD_MODEL" ] && [ "$PRELOAD_MODEL" != "shapes-clip" ]; then \
        python -c "import sys; from huggingface_hub import snapshot_download; snapshot_download(sys.argv[1], allow_patterns=['*.json', '*.txt', '*.safetensors', '*.model'])" "$PRELOAD_MODEL"; \
    fi

# The project itself. Its dependencies are in place, so this layer is small.
COPY README.md /src/README.md
COPY services /src/services
COPY workers /src/workers
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install /src

# ---------------------------------------------------------------- runtime ----
FROM ${PYTHON_IMAGE} AS runtime

# tini: PID 1 that forwards signals and reaps children. libpq5: PostgreSQL client
# library, in case psycopg runs without its bundled binary build.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini libpq5 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 signifier \
    && useradd --system --uid 10001 --gid signifier --home-dir /home/signifier \
        --create-home --shell /usr/sbin/nologin signifier \
    && mkdir -p /data \
    && chown signifier:signifier /data

# The venv stays root-owned: the service user can run it but not change it.
COPY --from=builder /opt/venv /opt/venv
# The HF cache is owned by the service user so further models can be downloaded.
# A named volume mounted here starts as a copy of this content.
COPY --from=builder --chown=10001:10001 /opt/hf-cache /opt/hf-cache

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HOME=/opt/hf-cache \
    SIGNIFIER_DATA_DIR=/data \
    SIGNIFIER_HOST=0.0.0.0 \
    SIGNIFIER_PORT=8000

USER 10001:10001
WORKDIR /home/signifier
EXPOSE 8000

# No curl in a slim image: the standard library does the probe. Non-2xx raises.
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["signifier", "serve", "--host", "0.0.0.0", "--port", "8000"]
