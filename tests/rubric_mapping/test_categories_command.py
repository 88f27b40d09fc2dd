"""`connector mapping categories`: the stored POS category list comes from the POS API or a file."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from connector.cli import main
from connector.simulators.server import SimServer

SAMPLES = Path(__file__).resolve().parents[2] / "connector" / "rubric_mapping" / "samples"


def _config(tmp_path: Path, pos_url: str) -> Path:
    path = tmp_path / "connector.toml"
    path.write_text(f"""
[daemon]
data_dir = "{tmp_path / 'data'}"
[http]
allow_insecure = true
[[accounts]]
name = "city"
pos_base_url = "{pos_url}"
login = "lko-demo"
password = "demo-secret"
edms = "onec"
[edms.onec]
type = "onec_dm"
url = "http://127.0.0.1:9/ws/DMService"
login = "x"
password = "y"
""", encoding="utf-8")
    return path


def test_categories_from_the_pos_api_feed_the_template(tmp_path: Path, pos_sim: SimServer) -> None:
    config = _config(tmp_path, pos_sim.url)
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade", "--config", str(config)]).exit_code == 0
    fetched = runner.invoke(main, ["mapping", "categories", "--from-pos", "city", "--json", "--config", str(config)])
    assert fetched.exit_code == 0, fetched.output
    count = json.loads(fetched.stdout)["categories"]
    assert count > 50
    imported = runner.invoke(main, ["classifier", "import", str(SAMPLES / "SAMPLE_sstu_classifier.json"),
                                    "--config", str(config)])
    assert imported.exit_code == 0, imported.output
    template = runner.invoke(main, ["mapping", "template", str(tmp_path / "map.xlsx"), "--json",
                                    "--config", str(config)])
    assert template.exit_code == 0, template.output
    assert json.loads(template.stdout)["rows"] == count


def test_categories_needs_exactly_one_source(tmp_path: Path) -> None:
    config = _config(tmp_path, "http://127.0.0.1:9")
    result = CliRunner().invoke(main, ["mapping", "categories", "--config", str(config)])
    assert result.exit_code == 2 and "--from-pos ACCOUNT or --file FILE" in result.output
    unknown = CliRunner().invoke(main, ["mapping", "categories", "--from-pos", "nope", "--config", str(config)])
    assert unknown.exit_code == 2 and "no account named 'nope'" in unknown.output
