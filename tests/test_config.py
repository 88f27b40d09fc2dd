from __future__ import annotations

import os
from pathlib import Path

import pytest

from connector.config import apply_env_overrides, load_settings
from connector.errors import ConfigError

GOOD = """
[daemon]
data_dir = "{data}"

[[accounts]]
name = "city"
pos_base_url = "https://pos.example/api"
login = "tech"
password_file = "{secret}"
edms = "onec"

[[accounts]]
name = "district"
pos_base_url = "https://pos.example/api"
login = "tech2"
password = "district-password"
edms = "onec"

[edms.onec]
type = "onec_dm"
url = "https://docflow.example/base/ws/DMService"
login = "svc"
password = "1c-password"
"""


def _write(tmp_path: Path, text: str) -> Path:
    secret = tmp_path / "lko.password"
    secret.write_text("s3cret-from-file\n")
    os.chmod(secret, 0o600)
    path = tmp_path / "connector.toml"
    path.write_text(text.format(data=tmp_path / "data", secret=secret))
    return path


def test_secret_file_env_override_and_several_accounts(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, GOOD), environ={"CONNECTOR_DAEMON__BATCH_SIZE": "7",
                                                               "CONNECTOR_ACCOUNTS__1__LOGIN": "other"})
    assert [a.name for a in settings.accounts] == ["city", "district"]
    assert settings.accounts[0].password.get_secret_value() == "s3cret-from-file"
    assert settings.accounts[1].login == "other"
    assert settings.daemon.batch_size == 7
    assert {"s3cret-from-file", "district-password", "1c-password"} <= set(settings.secret_values())


def test_example_config_documents_a_valid_configuration(tmp_path: Path) -> None:
    example = (Path(__file__).parent.parent / "connector" / "resources" / "connector.example.toml").read_text()
    secret = tmp_path / "pw"
    secret.write_text("x" * 8)
    os.chmod(secret, 0o600)
    text = example.replace("/etc/pos-connector/lko-main.password", str(secret)) \
        .replace("/etc/pos-connector/1c.password", str(secret)).replace("/etc/pos-connector/rx.password", str(secret))
    path = tmp_path / "example.toml"
    path.write_text(text)
    settings = load_settings(path, environ={})
    assert settings.accounts[0].name == "main"


@pytest.mark.parametrize("mutate,expected", [
    (lambda t: t.replace('batch_size', 'batch_size'), None),
    (lambda t: t.replace('login = "tech"', 'login = "tech"\nlogn = "typo"'), r"accounts\.0\.logn: Extra inputs"),
    (lambda t: t.replace('edms = "onec"', 'edms = "nowhere"', 1), r"accounts\.0\.edms: no \[edms\.nowhere\]"),
    (lambda t: t.replace('type = "onec_dm"', 'type = "tessa"'), r"edms\.onec\.type: no EDMS adapter named 'tessa'"),
    (lambda t: t.replace('url = "https://docflow.example/base/ws/DMService"\n', ''), r"edms\.onec\.url: Field required"),
    (lambda t: t.replace('pos_base_url = "https://pos.example/api"', 'pos_base_url = "ftp://x"', 1),
     r"accounts\.0\.pos_base_url"),
    (lambda t: t.replace('name = "district"', 'name = "city"'), r"name 'city' is used twice"),
])
def test_bad_configuration_names_the_key(tmp_path: Path, mutate, expected: str | None) -> None:
    text = mutate(GOOD)
    if expected is None:
        load_settings(_write(tmp_path, text), environ={})
        return
    with pytest.raises(ConfigError, match=expected):
        load_settings(_write(tmp_path, text), environ={})


def test_unknown_env_override_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"daemon\.batchsize: Extra inputs"):
        load_settings(_write(tmp_path, GOOD), environ={"CONNECTOR_DAEMON__BATCHSIZE": "3"})


def test_missing_secret_file_is_reported(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    (tmp_path / "lko.password").unlink()
    with pytest.raises(ConfigError, match=r"password_file: cannot read secret file"):
        load_settings(path, environ={})


def test_env_override_of_list_item_creates_nested_keys() -> None:
    data = apply_env_overrides({"accounts": [{"name": "a"}]}, {"CONNECTOR_ACCOUNTS__0__PAGE_SIZE": "5",
                                                               "CONNECTOR_EDMS__ONEC__URL": "https://x"})
    assert data == {"accounts": [{"name": "a", "page_size": "5"}], "edms": {"onec": {"url": "https://x"}}}


def test_plain_http_is_refused_unless_allowed(tmp_path: Path) -> None:
    text = GOOD.replace("https://docflow.example", "http://docflow.example")
    with pytest.raises(ConfigError, match=r"edms\.onec\.url: plain http:// is refused"):
        load_settings(_write(tmp_path, text), environ={})
    settings = load_settings(_write(tmp_path, text), environ={"CONNECTOR_HTTP__ALLOW_INSECURE": "true"})
    assert settings.http.allow_insecure and settings.http.verify_tls


def test_relative_paths_resolve_against_the_config_files_directory(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "lko.password").write_text("from-file\n", encoding="utf-8")
    (etc / "lko.password").chmod(0o600)
    (etc / "connector.toml").write_text("""
[daemon]
data_dir = "state"
[sstu]
department_id = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
archive_dir = "archives"
[[accounts]]
name = "a"
pos_base_url = "https://pos.example"
login = "l"
password_file = "lko.password"
edms = "medo"
[edms.medo]
type = "medo"
outbox_dir = "medo/out"
inbox_dir = "/srv/medo/in"
sender_uid = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
sender_organization = "Администрация"
addressee_organization = "Ведомство"
addressee_address = "MEDO-1"
""", encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # the shell is elsewhere: nothing may resolve against it
    settings = load_settings(Path("etc/connector.toml"), environ={})
    assert settings.daemon.data_dir == etc / "state"
    assert settings.daemon.resolved_database_url() == f"sqlite:///{etc / 'state' / 'connector.db'}"
    assert settings.sstu.archive_dir == etc / "archives"
    assert settings.accounts[0].password.get_secret_value() == "from-file"
    assert settings.edms["medo"].outbox_dir == etc / "medo" / "out"
    assert settings.edms["medo"].inbox_dir == Path("/srv/medo/in")
    assert settings.source == str(etc / "connector.toml")


def test_an_empty_archive_dir_means_no_archives(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("[[accounts]]", '[sstu]\narchive_dir = ""\n\n[[accounts]]', 1))
    assert load_settings(path, environ={}).sstu.archive_dir is None


def test_every_problem_at_once_each_naming_its_key(tmp_path: Path) -> None:
    text = GOOD.replace('login = "tech2"\n', "").replace('password = "1c-password"\n', "") + (
        '\n[edms.rx]\ntype = "directum_rx"\nurl = "https://rx.example/Integration/odata"\nlogin = "l"\n'
        'password = "p"\nlist_limit = "many"\n\n[edms.other]\ntype = "tessa"\n\n[edms.untyped]\nurl = "https://x"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(_write(tmp_path, text), environ={})
    shown = str(caught.value)
    for key in ("accounts.1.login: Field required", "edms.onec.password: Field required",
                "edms.other.type: no EDMS adapter named 'tessa'", "edms.untyped.type: required"):
        assert key in shown
    assert "edms.rx." in shown  # the RX table's bad key, found in the same pass


def test_targets_are_their_adapters_typed_settings_and_their_secrets_are_redacted(tmp_path: Path) -> None:
    from pos_connector_example_adapter.adapter import ExampleSettings

    from connector.edms_adapters.onec_dm.settings import OnecDmSettings
    from connector.logs import Redactor

    key_file = tmp_path / "example.key"
    key_file.write_text("example-api-key-42\n")
    key_file.chmod(0o600)
    text = GOOD + f'\n[edms.desk]\ntype = "example_edms"\nurl = "https://desk.example"\napi_key_file = "{key_file}"\n'
    settings = load_settings(_write(tmp_path, text), environ={})
    onec, desk = settings.edms["onec"], settings.edms["desk"]
    assert isinstance(onec, OnecDmSettings) and onec.password.get_secret_value() == "1c-password"
    assert isinstance(desk, ExampleSettings) and desk.api_key.get_secret_value() == "example-api-key-42"
    assert {"1c-password", "example-api-key-42"} <= set(settings.secret_values())
    assert "example-api-key-42" not in Redactor(settings.secret_values())("key example-api-key-42 sent")
    assert "example-api-key-42" not in repr(settings) + str(settings.model_dump())


def test_light_settings_entry_points_name_the_adapters_own_models() -> None:
    from connector.edms_adapters.registry import SETTINGS_GROUP, _registered, adapter_class, settings_model

    assert set(_registered(SETTINGS_GROUP)) == {"onec_dm", "medo", "directum_rx"}
    for name in _registered(SETTINGS_GROUP):
        assert settings_model(name) is adapter_class(name).settings_model
