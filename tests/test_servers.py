"""Starting and stopping the servers: a stop, even interrupted, leaves no process behind."""
import os
import signal
import subprocess
import sys
import time

import pytest

import bot.servers as servers_module
from bot.servers import Servers
from tests.conftest import free_port, make_settings


def _alive(process: subprocess.Popen) -> bool:
    return process.poll() is None


@pytest.fixture
def sigterm_interrupts():
    """SIGTERM raises KeyboardInterrupt, as `coproduce run` and `serve` arrange."""
    def interrupt(*_):
        raise KeyboardInterrupt()

    before = signal.signal(signal.SIGTERM, interrupt)
    yield
    signal.signal(signal.SIGTERM, before)


def test_a_second_sigterm_while_stopping_does_not_leave_servers_running(tmp_path, monkeypatch,
                                                                         sigterm_interrupts):
    servers = Servers(make_settings(tmp_path), tmp_path / "model.tar.gz")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                             start_new_session=True)
    servers.processes.append(child)
    original = servers_module._signal_group

    def signal_group_and_be_signalled_again(process, sig):
        os.kill(os.getpid(), signal.SIGTERM)  # a service manager or a user, impatient
        original(process, sig)

    monkeypatch.setattr(servers_module, "_signal_group", signal_group_and_be_signalled_again)
    servers.stop()
    assert not _alive(child)
    assert servers.processes == []
    # The handler is back: the next SIGTERM interrupts again.
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)


def test_interrupted_while_starting_stops_what_it_started(tmp_path, monkeypatch):
    settings = make_settings(tmp_path, action_port=free_port(), rasa_port=free_port())
    servers = Servers(settings, tmp_path / "model.tar.gz")

    def interrupted(url, what, deadline):
        raise KeyboardInterrupt()  # Ctrl-C or SIGTERM while waiting for the servers

    monkeypatch.setattr(servers, "_wait", interrupted)
    started = []
    spawn = servers._spawn
    monkeypatch.setattr(servers, "_spawn", lambda *args: started.append(spawn(*args)) or started[-1])
    with pytest.raises(KeyboardInterrupt):
        servers.start()
    assert len(started) == 2  # the action server and Rasa
    assert not any(_alive(process) for process in started)
    assert servers.processes == []
