"""The `coproduce web` command: a clear one-line error instead of a traceback."""
from __future__ import annotations

import shutil
import socket

import yaml
from click.testing import CliRunner

from bot.web.cli import web
from tests.conftest import make_settings


def test_web_names_the_missing_words(tmp_path, domain_path):
    data = yaml.safe_load(domain_path.read_text())
    del data["responses"]["utter_web_send"]
    (tmp_path / "domain.yml").write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(web, obj=make_settings(tmp_path, project_root=tmp_path))
    assert result.exit_code == 1
    assert result.output.strip().endswith("has no response called utter_web_send")
    assert "Traceback" not in result.output


def test_web_says_when_its_port_is_taken(tmp_path, domain_path, caplog):
    shutil.copy(domain_path, tmp_path / "domain.yml")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(web, ["--port", str(port)],
                                    obj=make_settings(tmp_path, project_root=tmp_path))
    assert result.exit_code == 1
    assert f"Could not listen on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output
    assert "Web chat: http" not in result.output  # it never claimed to be serving
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # no logged traceback
