"""``connector init`` as an installer runs it: flags for automation, prompts on a terminal, secrets
in 0600 files, and nothing written when the result would not start."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

FLAGS = ["--pos-url", "https://pos.example.test/api/v1", "--pos-login", "lko", "--pos-password", "lko-secret",
         "--edms-type", "onec_dm", "--edms-url", "https://dm.example.test/base/ws/DMService",
         "--edms-login", "integration", "--edms-password", "edms-secret"]


def _init(*args: str, stdin: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "connector", "init", *args], capture_output=True, text=True,
                          timeout=60, stdin=stdin if stdin is not None else subprocess.DEVNULL)


def test_non_interactive_init_writes_a_config_that_starts(tmp_path: Path) -> None:
    out = tmp_path / "etc" / "connector.toml"
    result = _init("--non-interactive", "--out", str(out), *FLAGS)
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert "lko-secret" not in text and "edms-secret" not in text
    secrets = sorted(out.parent.glob("*.password"))
    assert [p.read_text().strip() for p in secrets] == ["edms-secret", "lko-secret"]
    assert {oct(p.stat().st_mode & 0o777) for p in secrets} == {"0o600"}
    assert oct(out.stat().st_mode & 0o777) == "0o640"
    upgraded = subprocess.run([sys.executable, "-m", "connector", "db", "upgrade", "--config", str(out)],
                              capture_output=True, text=True, timeout=60)
    assert upgraded.returncode == 0, upgraded.stderr
    assert (tmp_path / "etc" / "var" / "connector.db").is_file()
    again = _init("--non-interactive", "--out", str(out), *FLAGS)
    assert again.returncode == 2 and "already exists" in again.stderr and "--force" in again.stderr


@pytest.mark.parametrize(("drop", "named"), [("--pos-url", "--pos-url"), ("--edms-password", "--edms-password")])
def test_a_missing_value_names_its_flag(tmp_path: Path, drop: str, named: str) -> None:
    index = FLAGS.index(drop)
    flags = FLAGS[:index] + FLAGS[index + 2:]
    env_free = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_INIT_")}
    result = subprocess.run([sys.executable, "-m", "connector", "init", "--non-interactive", "--out",
                             str(tmp_path / "c.toml"), *flags], capture_output=True, text=True, timeout=60,
                            env=env_free, stdin=subprocess.DEVNULL)
    assert result.returncode == 2 and named in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir())


def test_a_result_that_would_not_load_writes_nothing(tmp_path: Path) -> None:
    flags = [("ftp://pos.example.test" if value == "https://pos.example.test/api/v1" else value) for value in FLAGS]
    result = _init("--non-interactive", "--out", str(tmp_path / "c.toml"), *flags)
    assert result.returncode == 2, result.stderr
    assert "pos_base_url" in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir())


def test_init_prompts_on_a_terminal_and_hides_passwords(tmp_path: Path) -> None:
    out = tmp_path / "connector.toml"
    main, secondary = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "connector", "init", "--out", str(out)], stdin=secondary,
                            stdout=subprocess.PIPE, stderr=secondary, text=True)
    os.close(secondary)
    answers = ["onec_dm", "https://dm.example.test/base/ws/DMService", "integration", "edms-secret",
               "https://pos.example.test/api/v1", "lko", "lko-secret"]
    seen, screen = b"", b""
    try:
        for answer in answers:
            deadline = time.monotonic() + 30
            while not seen.rstrip().endswith(b":"):
                assert time.monotonic() < deadline, seen.decode(errors="replace")
                seen += os.read(main, 4096)
            os.write(main, answer.encode() + b"\r")
            screen, seen = screen + seen, b""
        stdout, _ = proc.communicate(timeout=60)
    finally:
        os.close(main)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert b"integration" in screen  # what was typed is echoed, except the passwords
    assert b"lko-secret" not in screen and b"edms-secret" not in screen
    assert f"configuration written to {out}" in stdout
    assert (tmp_path / "main-lko.password").read_text().strip() == "lko-secret"
