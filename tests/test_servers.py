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


PARENT = """
import sys, time
from pathlib import Path
from bot.servers import Servers
from tests.conftest import make_settings

servers = Servers(make_settings(Path(sys.argv[1])), Path(sys.argv[1]) / "model.tar.gz")
child = servers._spawn("sleeper", [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "0"], {})
print(child.pid, flush=True)
time.sleep(120)
"""


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_a_server_stops_when_the_process_that_started_it_is_killed(tmp_path):
    # Killed without a chance to stop them (SIGKILL), `coproduce run` must not leave servers
    # holding the ports: the next `make run` would fail with "port in use".
    from bot.settings import PROJECT_ROOT

    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path)], cwd=PROJECT_ROOT,
                              stdout=subprocess.PIPE, text=True)
    child_pid = int(parent.stdout.readline())
    try:
        time.sleep(1.0)  # the child is running its module
        assert not _gone(child_pid, 0.2)
        parent.kill()
        parent.wait()
        assert _gone(child_pid, 10), "the server outlived the process that started it"
    finally:
        try:
            os.killpg(child_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_server_whose_parent_is_already_gone_does_not_start(tmp_path):
    from bot.child import PARENT_PID
    from bot.settings import PROJECT_ROOT

    done = subprocess.run([sys.executable, "-m", "bot.child", "http.server", "0"], cwd=PROJECT_ROOT,
                          env={**os.environ, PARENT_PID: "1"}, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode != 0 and "has stopped" in done.stderr


def test_coproduce_run_stops_once_for_two_sigterms_at_once():
    """`make run` sent SIGTERM as a group: make passes one more on to `coproduce run`, which
    must stop cleanly all the same (a second KeyboardInterrupt ended in "Aborted!", exit 1)."""
    from bot.cli import _stop_on_sigterm

    before = signal.getsignal(signal.SIGTERM)
    try:
        _stop_on_sigterm()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)  # the second one, while stopping: no interrupt
        time.sleep(0.2)
    finally:
        signal.signal(signal.SIGTERM, before)


def test_a_server_that_stops_by_itself_is_started_again_until_it_keeps_stopping(tmp_path):
    from bot.servers import MAX_RESTARTS, ServerError

    servers = Servers(make_settings(tmp_path), tmp_path / "model.tar.gz")
    first = servers._spawn("telegram", [sys.executable, "-c", "import time; time.sleep(120)"], {})
    try:
        assert servers.restart_stopped() == []  # all running: nothing to do
        current = first
        for _ in range(MAX_RESTARTS):
            os.kill(current.pid, signal.SIGKILL)  # a crash, an out-of-memory kill ...
            current.wait(timeout=10)
            assert servers.restart_stopped() == ["telegram"]
            [current] = servers.processes
            assert _alive(current) and current.pid != first.pid
        os.kill(current.pid, signal.SIGKILL)
        current.wait(timeout=10)
        with pytest.raises(ServerError, match="keeps stopping"):
            servers.restart_stopped()
    finally:
        servers.stop()
    assert servers.restart_stopped() == [] and servers.processes == []  # stopped: nothing restarts


def test_a_restarted_server_runs_the_command_it_was_given(tmp_path):
    servers = Servers(make_settings(tmp_path), tmp_path / "model.tar.gz")
    try:
        servers._spawn("web", [sys.executable, "-m", "bot.cli", "--help"], {}).wait(timeout=60)
        for _ in range(2):  # it ends at once: started again, each time as it was given
            assert servers.restart_stopped() == ["web"]
            [again] = servers.processes
            assert again.args[2:4] == ["bot.child", "bot.cli"]  # bot.child once, not once more each time
            again.wait(timeout=60)
    finally:
        servers.stop()
