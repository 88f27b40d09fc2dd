"""``make dist`` as an operator of a closed segment meets it: the bundle installs with no network,
the installed copy runs the demo, re-installing keeps configuration and data, and the .deb and
.rpm carry the same files with the scripts that call install.sh."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, str(REPO / "packaging" / "build_dist.py"), "--out", str(out)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return out


def _one(dist: Path, pattern: str) -> Path:
    found = sorted(dist.glob(pattern))
    assert len(found) == 1, f"{pattern}: {found}"
    return found[0]


def _offline(script: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a network namespace that has only loopback: any download would fail."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "CONNECTOR_", "VIRTUAL_ENV"))}
    return subprocess.run(["unshare", "-n", "sh", "-ec", f"ip link set lo up\n{script}"],
                          capture_output=True, text=True, timeout=timeout, env=env)


def test_wheel_carries_the_example_config_the_unit_samples_and_migrations(dist: Path) -> None:
    names = zipfile.ZipFile(_one(dist, "pos_connector-*.whl")).namelist()
    for expected in ("connector/resources/connector.example.toml", "connector/resources/pos-connector.service",
                     "connector/rubric_mapping/samples/SAMPLE_sstu_classifier.json",
                     "connector/store/migrations/versions/0001_initial_schema.py",
                     "connector/store/migrations/env.py", "connector/locale/ru/LC_MESSAGES/connector.mo"):
        assert expected in names
    assert not [n for n in names if "__pycache__" in n or n.startswith("tests/")]


def test_offline_bundle_installs_without_network_and_runs_the_demo(dist: Path, tmp_path: Path) -> None:
    with tarfile.open(_one(dist, "pos-connector-*-offline.tar.gz")) as tar:
        tar.extractall(tmp_path, filter="data")
    bundle = next(tmp_path.glob("pos-connector-*"))
    wheels = {p.name for p in (bundle / "wheels").iterdir()}
    for python in ("cp311", "cp312", "cp313"):
        assert any(n.startswith("psycopg_binary-") and f"-{python}-" in n for n in wheels), python
        assert any(n.startswith("lxml-") and f"-{python}-" in n for n in wheels), python
    prefix = tmp_path / "opt"
    install = f"sh {bundle}/install.sh --prefix {prefix} --no-system"
    connector = prefix / "venv" / "bin" / "connector"

    first = _offline(f"{install}\n{connector} --version\n{connector} --help\nLANG=en_US.UTF-8 {connector} --help\n"
                     f"cd {tmp_path} && {connector} demo --data-dir {tmp_path / 'demo'} --messages 20 --json")
    assert first.returncode == 0, first.stderr[-3000:] + first.stdout[-3000:]
    # the installed copy speaks Russian by default (the catalog is in the wheel), English when asked
    assert "connector, версия" in first.stdout
    assert "Использование: connector [OPTIONS] COMMAND" in first.stdout and "Очередь сбоев" in first.stdout
    assert "Usage: connector [OPTIONS] COMMAND" in first.stdout and "The dead-letter queue" in first.stdout
    assert '"ok": true' in first.stdout
    assert (prefix / "etc" / "connector.example.toml").is_file()
    assert oct((prefix / "var").stat().st_mode & 0o777) == "0o700"

    # The installed copy writes its own configuration and checks it against simulators it runs itself,
    # all inside the namespace: no network, only loopback.
    made = tmp_path / "init" / "connector.toml"
    doctor = _offline(f"""
{connector} sim pos --port 18080 2>/dev/null & POS=$!
{connector} sim edms --kind onec --port 18081 2>/dev/null & ONEC=$!
trap 'kill $POS $ONEC' EXIT
for i in $(seq 100); do
  {prefix}/venv/bin/python -c "import socket; [socket.create_connection(('127.0.0.1', p), 1) for p in (18080, 18081)]" \
    2>/dev/null && break
  sleep 0.1
done
CONNECTOR_INIT_POS_PASSWORD=demo-secret CONNECTOR_INIT_EDMS_PASSWORD=1c-secret {connector} init --non-interactive \
  --out {made} --pos-url http://127.0.0.1:18080 --pos-login lko-demo --edms-type onec_dm \
  --edms-url http://127.0.0.1:18081/base/ws/DMService --edms-login integration --allow-insecure
{connector} db upgrade --config {made}
chmod 700 {made.parent / "var"}
{connector} doctor --config {made}
""")
    assert doctor.returncode == 0, doctor.stderr[-3000:] + doctor.stdout[-3000:]
    assert "НОРМА     ПОС main" in doctor.stdout and "НОРМА     СЭД main" in doctor.stdout, doctor.stdout
    assert doctor.stdout.rstrip().endswith("готово к работе")
    assert "конфигурация записана в" in doctor.stdout

    # An upgrade in place keeps what the operator wrote and what the service stored.
    config = prefix / "etc" / "connector.toml"
    example = (prefix / "etc" / "connector.example.toml").read_text(encoding="utf-8")
    config.write_text(example.replace("/etc/pos-connector/", f"{prefix}/etc/"), encoding="utf-8")
    secrets = [prefix / "etc" / name for name in ("lko-main.password", "1c.password", "rx.password")]
    for secret in secrets:
        secret.write_text("s3cret\n")
        secret.chmod(0o644)
    kept = prefix / "var" / "keep.me"
    kept.write_text("stored data")
    again = _offline(install)
    assert again.returncode == 0, again.stderr + again.stdout
    assert config.is_file() and kept.read_text() == "stored data"
    assert "migrating the database schema" in again.stdout
    assert [oct(secret.stat().st_mode & 0o777) for secret in secrets] == ["0o600"] * 3

    removed = _offline(f"{install} --uninstall")
    assert removed.returncode == 0, removed.stderr
    assert not (prefix / "venv").exists() and config.is_file() and kept.is_file()
    purged = _offline(f"{install} --uninstall --purge")
    assert purged.returncode == 0, purged.stderr
    assert not (prefix / "etc").exists() and not (prefix / "var").exists()


def test_deb_holds_the_bundle_and_runs_install_sh_from_its_scripts(dist: Path, tmp_path: Path) -> None:
    deb = _one(dist, "pos-connector_*_amd64.deb")
    info = subprocess.run(["dpkg-deb", "--info", str(deb)], capture_output=True, text=True, check=True).stdout
    assert "Package: pos-connector" in info and "Depends: python3 (>= 3.11), python3-venv" in info
    assert "fonts-dejavu-core" in info  # the МЭДО PDF main document needs a Cyrillic TrueType font
    for script in ("postinst", "prerm", "postrm"):
        assert script in info
    contents = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True,
                              check=True).stdout
    assert "-rwxr-xr-x root/root" in next(line for line in contents.splitlines()
                                          if line.endswith("./opt/pos-connector/dist/install.sh"))
    assert "./opt/pos-connector/dist/wheels/pos_connector-" in contents
    control = tmp_path / "control"
    subprocess.run(["dpkg-deb", "--control", str(deb), str(control)], check=True)
    assert "/opt/pos-connector/dist/install.sh" in (control / "postinst").read_text()
    assert "--uninstall" in (control / "prerm").read_text()
    assert "rm -rf /etc/pos-connector /var/lib/pos-connector" in (control / "postrm").read_text()


def test_rpm_holds_the_bundle_and_runs_install_sh_from_its_scriptlets(dist: Path) -> None:
    rpm = _one(dist, "pos-connector-*.x86_64.rpm")
    info = subprocess.run(["rpm", "-qip", str(rpm)], capture_output=True, text=True, check=True).stdout
    assert "Name        : pos-connector" in info
    requires = subprocess.run(["rpm", "-qpR", str(rpm)], capture_output=True, text=True, check=True).stdout
    # RED OS names the font package as Fedora does, ALT as its own; either satisfies the МЭДО PDF.
    assert "(dejavu-sans-fonts or fonts-ttf-dejavu)" in requires
    files = subprocess.run(["rpm", "-qlvp", str(rpm)], capture_output=True, text=True, check=True).stdout
    install_line = next(line for line in files.splitlines() if line.endswith("/opt/pos-connector/dist/install.sh"))
    assert install_line.startswith("-rwxr-xr-x") and " root " in install_line
    assert "/opt/pos-connector/dist/wheels/pos_connector-" in files
    scripts = subprocess.run(["rpm", "-qp", "--scripts", str(rpm)], capture_output=True, text=True,
                             check=True).stdout
    assert "postinstall scriptlet" in scripts and "/opt/pos-connector/dist/install.sh" in scripts
    assert "--uninstall" in scripts
