"""Start, watch and stop the Rasa server and the action server as child processes."""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

import requests
import yaml
from sqlalchemy.engine import make_url

from bot.child import PARENT_PID
from bot.settings import Settings

log = logging.getLogger(__name__)


# Rasa's telemetry and crash reports would try to reach the internet: never.
RASA_QUIET = {"RASA_TELEMETRY_ENABLED": "false", "SENTRY_DSN": ""}
# A server that stops by itself is started again, at most this often in RESTART_WINDOW seconds;
# one that keeps stopping is a fault a person must look at.
MAX_RESTARTS = 3
RESTART_WINDOW = 600.0


class ServerError(RuntimeError):
    """A server could not start; the message says why in one line."""


def tracker_store_config(settings: Settings) -> dict:
    """Rasa's SQL tracker store, in the same database server as the product's store."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        database = Path(url.database or Path(settings.var_dir) / "coproduce.db")
        return {"type": "SQL", "dialect": "sqlite",
                "db": str(database.with_name(database.stem + "-tracker.db"))}
    # Rasa reads the tracker store's host from the endpoint's `url` key.
    config = {"type": "SQL", "dialect": url.drivername.split("+")[0], "db": url.database,
              "url": url.host or "127.0.0.1", "port": url.port or 5432}
    if url.username:
        config["username"] = url.username
    if url.password:
        config["password"] = url.password
    return config


def write_endpoints(settings: Settings) -> Path:
    """Write var/endpoints.yml from settings and return its path."""
    path = Path(settings.var_dir) / "endpoints.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {"action_endpoint": {"url": settings.action_url},
               "tracker_store": tracker_store_config(settings)}
    path.write_text("# Written by `coproduce serve` from settings; edits are overwritten.\n"
                    + yaml.safe_dump(content, sort_keys=False))
    os.chmod(path, 0o600)  # it may hold a database password
    return path


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) != 0


class Servers:
    """The action server and the Rasa server, started together and stopped together."""

    def __init__(self, settings: Settings, model: Path, env: Optional[Dict[str, str]] = None,
                 web: bool = False):
        self.settings = settings
        self.web = web
        self.model = Path(model)
        self.env = dict(os.environ if env is None else env)
        self.processes: List[subprocess.Popen] = []
        self.log_dir = Path(settings.var_dir) / "logs"
        self._started: Dict[str, tuple] = {}  # name -> (process, command, extra environment)
        self._restarts: Dict[str, List[float]] = {}
        # restart_stopped (a watching thread) and stop take turns; once stopping, nothing restarts.
        self._lock = threading.Lock()
        self._stopping = False

    def _spawn(self, name: str, command: List[str], extra_env: Dict[str, str]) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_file = open(self.log_dir / f"{name}.log", "ab")
        env = {**self.env, **RASA_QUIET, **extra_env, PARENT_PID: str(os.getpid())}
        given = command  # kept for a restart as it was given, so bot.child is added once
        if command[:2] == [sys.executable, "-m"]:  # stops by itself if this process dies
            command = [sys.executable, "-m", "bot.child"] + command[2:]
        process = subprocess.Popen(command, cwd=self.settings.project_root, env=env,
                                   stdout=log_file, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        log_file.close()
        self.processes.append(process)
        self._started[name] = (process, given, extra_env)
        return process

    def restart_stopped(self) -> List[str]:
        """Start again any server that stopped by itself (a crash, a kill), and return their
        names; raise ServerError when one keeps stopping (MAX_RESTARTS in RESTART_WINDOW)."""
        with self._lock:
            return [] if self._stopping else self._restart_stopped()

    def _restart_stopped(self) -> List[str]:
        restarted = []
        for name, (process, command, extra_env) in list(self._started.items()):
            if process.poll() is None:
                continue
            now = time.monotonic()
            recent = [moment for moment in self._restarts.get(name, []) if now - moment < RESTART_WINDOW]
            if len(recent) >= MAX_RESTARTS:
                raise ServerError(f"The {name} server keeps stopping. See {self.log_dir / (name + '.log')}.")
            log.error("The %s server stopped unexpectedly (exit status %s); starting it again (its log: %s)",
                      name, process.returncode, self.log_dir / f"{name}.log")
            _signal_group(process, signal.SIGKILL)  # anything it started goes with it
            self.processes.remove(process)
            self._restarts[name] = recent + [now]
            self._spawn(name, command, extra_env)
            restarted.append(name)
        return restarted

    def start(self, timeout: float = 240.0) -> None:
        """Start both servers and wait until they answer; raise ServerError if they do not.
        Interrupted while starting (Ctrl-C, SIGTERM), it stops what it started first."""
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> None:
        s = self.settings
        ports = [(s.action_host, s.action_port, "COPRODUCE_ACTION_PORT"),
                 (s.rasa_host, s.rasa_port, "COPRODUCE_RASA_PORT")]
        if self.web:
            ports.append((s.web_host, s.web_port, "COPRODUCE_WEB_PORT"))
        for host, port, what in ports:
            if not port_is_free(host, port):
                raise ServerError(f"Port {port} is already in use. Is Coproduce running already? "
                                  f"Stop it, or choose another port with {what}.")
        from bot.store.tracker import prepare_tracker_store

        endpoints = write_endpoints(s)
        prepare_tracker_store(s)
        self._spawn("actions", [sys.executable, "-m", "rasa_sdk", "--actions", "actions",
                                "--port", str(s.action_port)],
                    {"SANIC_HOST": s.action_host, "PYTHONPATH": str(s.project_root),
                     "COPRODUCE_WARM_UP": "1"})
        # bot.rasa_launch is `rasa` with action replies validated against a schema checked once.
        self._spawn("rasa", [sys.executable, "-m", "bot.rasa_launch", "run",
                             "--model", str(self.model), "--endpoints", str(endpoints),
                             "--credentials", str(Path(s.project_root) / "credentials.yml"),
                             "--interface", s.rasa_host, "--port", str(s.rasa_port)], {})
        if self.web:
            self._spawn("web", [sys.executable, "-m", "bot.cli", "web"], {})
            if s.telegram_bot_token:
                self._spawn("telegram", [sys.executable, "-m", "bot.cli", "telegram"], {})
        deadline = time.monotonic() + timeout
        self._wait(f"http://{s.action_host}:{s.action_port}/health", "action server", deadline)
        self._wait(f"{s.rasa_url}/", "Rasa server", deadline)
        if self.web:
            self._wait(f"http://{s.web_host}:{s.web_port}/health", "web chat", deadline)

    def _wait(self, url: str, what: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    self.stop()
                    raise ServerError(f"The {what} stopped while starting. "
                                      f"See the logs in {self.log_dir}.")
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self.stop()
        raise ServerError(f"The {what} did not start in time. See the logs in {self.log_dir}.")

    def stop(self, grace: float = 10.0) -> None:
        """Stop both servers and everything they started; no orphans are left. A second
        Ctrl-C or SIGTERM while stopping does not cut it short."""
        with _signals_held():
            with self._lock:
                self._stopping = True
            self._stop(grace)

    def _stop(self, grace: float) -> None:
        for process in self.processes:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=5)
        self.processes = []
        self._started = {}

    def __enter__(self) -> "Servers":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def _signals_held():
    """Ignore SIGINT and SIGTERM for a while (main thread only: elsewhere they cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
