"""No secret of the configuration reaches an operator's screen, a log or /metrics.

The secrets come from everywhere the typed settings take them: a Directum password read from
``password_file``, a third-party adapter's ``api_key: SecretStr`` (found through its entry point),
and passwords embedded in URLs.  The real commands run as subprocesses at DEBUG against the
simulators, one target unreachable so that error texts (which name the URL) are printed too.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pos_connector_example_adapter.sim import ExampleDeskSimulator

from connector.config import settings_from_mapping
from connector.simulators.directum import DirectumSimulator
from connector.simulators.pos import PosSimulator
from connector.simulators.server import SimServer

import simctl

RX_PASSWORD = "rx-secret"                 # the simulator's default; given only through password_file
RX_URL_PASSWORD = "url-pass-4711"          # embedded in the Directum URL
DEAD_URL_PASSWORD = "dead-url-pass-0815"   # embedded in the URL of a target that is down
EXAMPLE_KEY = "example-key"               # the third-party adapter's SecretStr
POS_PASSWORD = "demo-secret"
SECRETS = (RX_PASSWORD, RX_URL_PASSWORD, DEAD_URL_PASSWORD, EXAMPLE_KEY, POS_PASSWORD, "dead-target-password")

CONFIG = """
[daemon]
data_dir = "{data}"
retry_delay_seconds = 0

[retry]
max_attempts = 2
initial_wait = 0
max_wait = 0

[http]
allow_insecure = true
timeout_seconds = 5

[logging]
level = "DEBUG"
format = "json"

[[accounts]]
name = "rx"
pos_base_url = "{pos}"
login = "lko-demo"
password = "{pos_password}"
edms = "rx"

[[accounts]]
name = "ex"
pos_base_url = "{pos}"
login = "lko-demo"
password = "{pos_password}"
edms = "ex"

[[accounts]]
name = "dead"
pos_base_url = "{pos}"
login = "lko-demo"
password = "{pos_password}"
edms = "dead"

[edms.rx]
type = "directum_rx"
url = "{rx_url}"
login = "integration"
password_file = "{rx_password_file}"
document_kind_id = 1
business_unit_id = 1
department_id = 1

[edms.ex]
type = "example_edms"
url = "{ex}"
api_key = "{example_key}"

[edms.dead]
type = "directum_rx"
url = "http://integration:{dead_url_password}@127.0.0.1:9/Integration/odata"
login = "integration"
password = "dead-target-password"
document_kind_id = 1
business_unit_id = 1
department_id = 1
"""


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    with SimServer(PosSimulator()) as pos, SimServer(DirectumSimulator()) as rx, \
            SimServer(ExampleDeskSimulator(api_key=EXAMPLE_KEY)) as ex:
        simctl.seed(pos, 3)
        secret = tmp_path / "rx.password"
        secret.write_text(RX_PASSWORD + "\n", encoding="utf-8")
        secret.chmod(0o600)
        rx_url = rx.url.replace("http://", f"http://integration:{RX_URL_PASSWORD}@") + "/Integration/odata"
        path = tmp_path / "connector.toml"
        path.write_text(CONFIG.format(data=tmp_path / "data", pos=pos.url, pos_password=POS_PASSWORD, rx_url=rx_url,
                                      rx_password_file=secret, ex=ex.url, example_key=EXAMPLE_KEY,
                                      dead_url_password=DEAD_URL_PASSWORD), encoding="utf-8")
        yield path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    return subprocess.run([sys.executable, "-m", "connector", *args], capture_output=True, text=True,
                          timeout=180, env=env)


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_every_kind_of_secret_is_known_to_the_redactor(config: Path) -> None:
    import tomllib

    settings = settings_from_mapping(tomllib.loads(config.read_text(encoding="utf-8")))
    assert set(SECRETS) <= set(settings.secret_values())


def test_edms_check_json_and_debug_logs_show_no_secret(config: Path) -> None:
    result = _run("edms", "check", "--json", "--config", str(config))
    assert result.returncode == 1, result.stderr[-3000:]       # the dead target fails, the others pass
    doc = json.loads(result.stdout)
    assert {r["target"]: r["ok"] for r in doc} == {"rx": True, "ex": True, "dead": False}
    dead = next(r for r in doc if r["target"] == "dead")
    assert "127.0.0.1:9" in dead["problem"]                    # still says which endpoint failed
    assert _leaks(result.stdout + result.stderr) == [], (result.stdout + result.stderr)[-3000:]


def test_a_daemon_pass_at_debug_logs_no_secret(config: Path) -> None:
    result = _run("run", "--once", "--config", str(config))
    out = result.stdout + result.stderr
    assert "Traceback" not in out
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert records, "the daemon logs JSON records on stdout"
    assert any("127.0.0.1:9" in line for line in out.splitlines()), "the dead target's failure must be logged"
    assert _leaks(out) == [], out[-3000:]


def test_metrics_labels_are_redacted() -> None:
    from connector.logs import configure_logging
    from connector.ops.metrics import Metrics

    configure_logging("INFO", "json", [EXAMPLE_KEY], stream=io.StringIO())
    metrics = Metrics()
    metrics.count_retry(f"HTTP 503 from https://svc:{DEAD_URL_PASSWORD}@host/x key={EXAMPLE_KEY}", job="pull")
    body = metrics.render()[0].decode()
    assert "connector_retries" in body or "_retries" in body
    assert _leaks(body) == [], body


def test_a_url_password_is_masked_even_when_nobody_configured_it() -> None:
    from connector.errors import TransientError
    from connector.logs import Redactor

    assert Redactor().mask_secrets("postgresql://app:pw@db:5432/x and https://h/p?a=b@c") == \
        "postgresql://app:***@db:5432/x and https://h/p?a=b@c"
    assert "s3cr" not in str(TransientError("cannot reach http://u:s3cr@127.0.0.1:9/x"))
