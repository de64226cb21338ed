import pytest

from engage import config
from engage.errors import InputError


def test_environment_beats_file_beats_default(tmp_path, monkeypatch):
    monkeypatch.delenv("ENGAGE_ELMO_HANDLE", raising=False)
    monkeypatch.setenv("ENGAGE_CONFIG", str(tmp_path / "none.toml"))
    assert config.default_encoder_handle() == "https://tfhub.dev/google/elmo/3"
    (tmp_path / "engage.toml").write_text('elmo_handle = "/opt/elmo"\nmodels_dir = "/srv/models"\n')
    monkeypatch.setenv("ENGAGE_CONFIG", str(tmp_path / "engage.toml"))
    assert config.default_encoder_handle() == "/opt/elmo"
    monkeypatch.setenv("ENGAGE_ELMO_HANDLE", "/env/elmo")
    assert config.default_encoder_handle() == "/env/elmo"


def test_bad_config_files_are_named(tmp_path, monkeypatch):
    monkeypatch.setenv("ENGAGE_CONFIG", str(tmp_path / "engage.toml"))
    (tmp_path / "engage.toml").write_text("elmo_handle = \n")
    with pytest.raises(InputError, match="engage.toml.*TOML"):
        config.default_encoder_handle()
    (tmp_path / "engage.toml").write_text('elmo = "x"\n')
    with pytest.raises(InputError, match="unknown settings elmo"):
        config.default_encoder_handle()
