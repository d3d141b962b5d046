# syntax=docker/dockerfile:1.7
#
# Signifier GPU worker image: `signifier worker` with SIGNIFIER_DEVICE=cuda and
# the CUDA build of torch. Needs an NVIDIA driver on the host and the NVIDIA
# Container Toolkit (compose: `--profile gpu`; Kubernetes: the NVIDIA device plugin).
#
#   docker build -f deploy/docker/worker-cuda.Dockerfile -t signifier/worker-cuda:0.1.0 .
#
# Build context: the repository root (see .dockerignore, an allow-list).
#
# Why this shape:
# - nvidia/cuda images are Ubuntu, whose 24.04 release ships Python 3.12, not
#   3.11. uv installs a relocatable CPython 3.11 (python-build-standalone) under
#   /opt/python, and the runtime stage copies it together with the venv.
# - torch's CUDA wheels carry their own CUDA libraries (cuBLAS, cuDNN, NCCL as
#   nvidia-* wheels), so the `-base-` variant is enough: it provides the CUDA
#   compat layer and the NVIDIA_* settings the container toolkit reads, without
#   the ~3 GB of `-runtime-` libraries that torch would not use.
# - TORCH_INDEX picks the cu12x wheel index; its CUDA minor version should not be
#   newer than the base image's (the driver requirement comes from the base).

ARG CUDA_IMAGE=nvidia/cuda:12.8.1-base-ubuntu24.04
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.8

FROM ${UV_IMAGE} AS uv

# ---------------------------------------------------------------- builder ----
FROM ${CUDA_IMAGE} AS builder

COPY --from=uv /uv /usr/local/bin/uv

# uv resolves 3.11 to the newest 3.11.x that its pinned release knows, so the
# interpreter is as reproducible as UV_IMAGE.
ARG PYTHON_VERSION=3.11
ARG TORCH_INDEX=https://download.pytorch.org/whl/cu128

ENV UV_PYTHON_INSTALL_DIR=/opt/python \
    UV_PYTHON_PREFERENCE=only-managed \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    HF_HOME=/opt/hf-cache

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN uv python install "${PYTHON_VERSION}" \
    && uv venv --python "${PYTHON_VERSION}" /opt/venv

# torch first, in its own layer, from the CUDA 12 wheel index.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv pip install --python /opt/venv/bin/python --index-url "${TORCH_INDEX}" torch==2.13.0

# The project's other dependencies, from pyproject.toml; torch==2.13.0 (+cu12x)
# is already satisfied and stays.
COPY pyproject.toml /src/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/uv \
    python -c "import tomllib; d = tomllib.load(open('/src/pyproject.toml', 'rb')); print('\n'.join(d['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && uv pip install --python /opt/venv/bin/python -r /tmp/requirements.txt

# Optional weights baked into the HF cache (see api.Dockerfile).
ARG PRELOAD_MODEL=""
RUN mkdir -p /opt/hf-cache \
    && if [ -n "$PRELOAD_MODEL" ] && [ "$PRELOAD_MODEL" != "shapes-clip" ]; then \
        python -c "import sys; from huggingface_hub import snapshot_download; snapshot_download(sys.argv[1], allow_patterns=['*.json', '*.txt', '*.safetensors', '*.model'])" "$PRELOAD_MODEL"; \
    fi

COPY README.md /src/README.md
COPY services /src/services
COPY workers /src/workers
RUN --mount=type=cache,target=/root/.cache/uv \
    uv pip install --python /opt/venv/bin/python /src

# ---------------------------------------------------------------- runtime ----
FROM ${CUDA_IMAGE} AS runtime

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 signifier \
    && useradd --system --uid 10001 --gid signifier --home-dir /home/signifier \
        --create-home --shell /usr/sbin/nologin signifier \
    && mkdir -p /data \
    && chown signifier:signifier /data

# The interpreter and the venv (whose python links to it) keep their paths.
COPY --from=builder /opt/python /opt/python
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder --chown=10001:10001 /opt/hf-cache /opt/hf-cache

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HOME=/opt/hf-cache \
    SIGNIFIER_DATA_DIR=/data \
    SIGNIFIER_DEVICE=cuda \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility

USER 10001:10001
WORKDIR /home/signifier

# No HEALTHCHECK: a Celery worker serves no port (see worker-cpu.Dockerfile).
# One model copy per process and GPU; more than one process per GPU only to
# overlap decoding with inference, and only with the GPU memory for each copy.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["signifier", "worker", "--concurrency", "1"]
