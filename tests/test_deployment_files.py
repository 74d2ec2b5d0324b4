"""The deployment files in deploy/ agree with the code: the YAML parses, every HUBSTEAD_*
variable they set is one the hub reads, every hubstead command they run is one the CLI
accepts, probes ask for routes the app answers, and the pieces name each other right (nginx's
upstreams are the compose services, the Service selects the Deployment's pods, …).

No container runtime or cluster is started (none is installed here): what can be checked
without one is checked here; docs/deployment.md says how the files were meant to run."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
import yaml

from hubstead.cli import build_parser

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
K8S = DEPLOY / "k8s"


class _RecordingEnviron(dict):
    """os.environ that remembers every name read from it."""

    def __init__(self, base: dict[str, str]) -> None:
        super().__init__(base)
        self.read: set[str] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key) -> bool:
        self.read.add(key)
        return super().__contains__(key)


@pytest.fixture(scope="module")
def hub_variables(tmp_path_factory) -> set[str]:
    """Every HUBSTEAD_* variable the hub reads: settings.py is the only reader, so running its
    readers with an environment that records what they ask for lists them all."""
    from hubstead import settings

    base = {
        k: v for k, v in os.environ.items() if not k.startswith("HUBSTEAD_") and k != "HOME"
    } | {
        "HUBSTEAD_DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "HOME": str(tmp_path_factory.mktemp("home")),
    }
    recording = _RecordingEnviron(base)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "environ", recording)  # what settings.py reads from
        settings.Settings.from_env()
        settings.HookSettings.from_env()
        settings.math_settings_from_env()
        settings.metadata_limits_from_env()
        settings.log_format()
        parser = build_parser()  # the admin commands' option defaults (HUBSTEAD_EMAIL, …)
    names = {name for name in recording.read if name.startswith("HUBSTEAD_")}
    assert parser is not None and {"HUBSTEAD_DATABASE_URL", "HUBSTEAD_SECRET_KEY"} <= names
    return names


@pytest.fixture(scope="module")
def served_paths(tmp_path_factory):
    """Whether the app answers GET `path` with 200 (in-process, on a fresh SQLite hub)."""
    from hubstead.testing import InProcessHub

    hub = InProcessHub(tmp_path_factory.mktemp("hub"))
    client = hub.client()
    answers: dict[str, int] = {}

    def status(path: str) -> int:
        if path not in answers:
            answers[path] = client.get(path).status_code
        return answers[path]

    yield status
    hub.close()


def _yaml_documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def _check_command(args: list[str]) -> None:
    """The CLI accepts these arguments (argparse exits on anything it does not know)."""
    try:
        parsed = build_parser().parse_args(args)
    except SystemExit as error:
        raise AssertionError(f"`hubstead {' '.join(args)}` is not a hubstead command") from error
    assert callable(parsed.func)


def _hub_names(names) -> set[str]:
    return {name for name in names if name.startswith("HUBSTEAD_")}


# -- compose --------------------------------------------------------------------------------


def test_compose_sets_only_real_settings_and_runs_real_commands(hub_variables):
    services = _compose()["services"]
    hubs = {name: s for name, s in services.items() if s.get("image") == "hubstead:local"}
    assert {"migrate", "hubstead-1", "hubstead-2", "hubstead-3"} <= set(hubs)
    for name, service in hubs.items():
        environment = service["environment"]
        assert _hub_names(environment) - hub_variables == set(), name
        _check_command(service["command"])
        assert service["volumes"] == ["git-data:/data"]  # one git folder for every process
        assert environment["HUBSTEAD_DATA_DIR"] == "/data"
    assert hubs["migrate"]["command"] == ["db", "upgrade"]
    # the servers wait for the bucket and the migrations, nginx for healthy servers
    deps = hubs["hubstead-1"]["depends_on"]
    assert deps["minio-init"]["condition"] == deps["migrate"]["condition"]
    assert deps["migrate"]["condition"] == "service_completed_successfully"
    assert set(services["nginx"]["depends_on"]) == {"hubstead-1", "hubstead-2", "hubstead-3"}
    # one secret key for all (the servers share the anchor's environment)
    assert len({hubs[n]["environment"]["HUBSTEAD_SECRET_KEY"] for n in hubs}) == 1


def test_compose_probes_and_bucket_match_the_app(served_paths):
    services = _compose()["services"]
    probe = " ".join(services["hubstead-1"]["healthcheck"]["test"])
    paths = re.findall(r"http://127\.0\.0\.1:8000(/[^'\"\s]*)", probe)
    assert paths == ["/-/ready"]
    assert served_paths("/-/ready") == 200
    bucket = services["hubstead-1"]["environment"]["HUBSTEAD_STORAGE_URL"]
    assert bucket.startswith("s3://")
    made = " ".join(services["minio-init"]["command"])
    assert f"mc mb --ignore-existing hub/{bucket.removeprefix('s3://').split('/')[0]}" in made
    endpoint = services["hubstead-1"]["environment"]["HUBSTEAD_S3_ENDPOINT_URL"]
    assert endpoint == "http://minio:9000" and "minio" in services


def test_nginx_balances_over_the_compose_servers():
    conf = (DEPLOY / "nginx" / "compose.conf").read_text()
    upstream = re.search(r"upstream hubstead \{(.*?)\}", conf, re.S).group(1)
    servers = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", upstream, re.M)
    compose = _compose()["services"]
    assert {host for host, _ in servers} == {"hubstead-1", "hubstead-2", "hubstead-3"}
    for host, port in servers:
        assert compose[host]["environment"]["HUBSTEAD_PORT"] == port
    for directive in (
        "client_max_body_size 0;",
        "proxy_request_buffering off;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_pass http://hubstead;",
    ):
        assert directive in conf
    assert conf.count("{") == conf.count("}")


# -- systemd --------------------------------------------------------------------------------


def _unit(path: Path) -> dict[str, list[str]]:
    """A unit file's keys and their values (systemd allows a key more than once)."""
    values: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def test_systemd_units_run_real_commands_with_real_settings(hub_variables):
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert {u.name for u in units} == {
        "hubstead@.service",
        "hubstead-migrate.service",
        "hubstead-jobs.service",
    }
    commands = []
    for unit in units:
        values = _unit(unit)
        for line in values.get("ExecStart", []) + values.get("ExecStartPre", []):
            binary, *args = shlex.split(line.replace("%i", "8001"))
            assert binary.endswith("/bin/hubstead"), line
            _check_command(args)
            commands.append(args[:2])
        for assignment in values.get("Environment", []):
            name = assignment.split("=", 1)[0]
            assert not name.startswith("HUBSTEAD_") or name in hub_variables, (unit.name, name)
        assert values["EnvironmentFile"] == ["/etc/hubstead/hubstead.env"]
        assert values["User"] == ["hubstead"] and values["NoNewPrivileges"] == ["yes"]
    assert ["serve", "--host"] in commands and ["db", "upgrade"] in commands
    assert ["jobs", "work"] in commands
    template = _unit(DEPLOY / "systemd" / "hubstead@.service")
    assert template["ProtectSystem"] == ["strict"] and template["KillSignal"] == ["SIGTERM"]
    assert "HUBSTEAD_JOBS=0" in template["Environment"]  # the job runner is its own unit
    example = _unit(DEPLOY / "systemd" / "hubstead.env")
    assert _hub_names(example) - hub_variables == set()
    assert example["HUBSTEAD_DATA_DIR"] == template["ReadWritePaths"]


# -- Kubernetes -----------------------------------------------------------------------------


def _k8s() -> dict[tuple[str, str], dict]:
    found = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in _yaml_documents(path):
            found[(doc["kind"], doc["metadata"]["name"])] = doc
    return found


def test_kubernetes_manifests_parse_and_are_all_listed():
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(listed) == files
    kinds = {kind for kind, _ in _k8s()}
    assert kinds >= {
        "Deployment",
        "Service",
        "Ingress",
        "ConfigMap",
        "Secret",
        "PersistentVolumeClaim",
        "Job",
        "PodDisruptionBudget",
    }


def test_kubernetes_settings_commands_and_probes_are_real(hub_variables, served_paths):
    docs = _k8s()
    config = docs[("ConfigMap", "hubstead")]["data"]
    secret = docs[("Secret", "hubstead")]["stringData"]
    assert _hub_names(config) - hub_variables == set()
    assert _hub_names(secret) - hub_variables == set()
    assert "HUBSTEAD_SECRET_KEY" in secret and "HUBSTEAD_DATABASE_URL" in secret
    deployment = docs[("Deployment", "hubstead")]
    job = docs[("Job", "hubstead-migrate")]
    for workload in (deployment, job):
        pod = workload["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        _check_command(container["args"])
        assert {
            ref.get("configMapRef", ref.get("secretRef"))["name"] for ref in container["envFrom"]
        } == {"hubstead"}
        assert _hub_names(e["name"] for e in container.get("env", [])) <= hub_variables
        claims = {
            v["persistentVolumeClaim"]["claimName"]
            for v in pod["volumes"]
            if "persistentVolumeClaim" in v
        }
        assert claims == {"hubstead-git"}
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        git_volume = next(v["name"] for v in pod["volumes"] if "persistentVolumeClaim" in v)
        assert mounts[git_volume] == config["HUBSTEAD_DATA_DIR"]
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["db", "upgrade"]
    (server,) = deployment["spec"]["template"]["spec"]["containers"]
    probes = {kind: server[kind]["httpGet"] for kind in ("livenessProbe", "readinessProbe")}
    assert probes["livenessProbe"]["path"] == "/-/health"
    assert probes["readinessProbe"]["path"] == "/-/ready"
    for probe in [*probes.values(), server["startupProbe"]["httpGet"]]:
        assert served_paths(probe["path"]) == 200, probe["path"]
        assert probe["port"] == server["ports"][0]["name"]
    assert str(server["ports"][0]["containerPort"]) == config["HUBSTEAD_PORT"]
    assert deployment["spec"]["replicas"] >= 2
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 60


def test_kubernetes_objects_name_each_other():
    docs = _k8s()
    pods = docs[("Deployment", "hubstead")]["spec"]["template"]["metadata"]["labels"]
    service = docs[("Service", "hubstead")]["spec"]
    assert service["selector"].items() <= pods.items()
    assert (
        docs[("Deployment", "hubstead")]["spec"]["selector"]["matchLabels"].items() <= pods.items()
    )
    budget = docs[("PodDisruptionBudget", "hubstead")]["spec"]["selector"]["matchLabels"]
    assert budget.items() <= pods.items()
    (rule,) = docs[("Ingress", "hubstead")]["spec"]["rules"]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "hubstead"
    assert backend["port"]["name"] in {port["name"] for port in service["ports"]}
    annotations = docs[("Ingress", "hubstead")]["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "0"
    assert annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "off"
    claim = docs[("PersistentVolumeClaim", "hubstead-git")]["spec"]
    assert claim["accessModes"] == ["ReadWriteMany"]  # every pod mounts the git folder
