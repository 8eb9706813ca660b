"""Starting and stopping the real localyun binary, shared by the Python suites: tests/sdk (vendor SDKs),
tests/clients (Kafka clients) and tests/clients/rocketmq (RocketMQ clients).

Each suite imports it by putting this folder on sys.path (its conftest.py, or rocketmq_clients.py which is run
by name). What is shared: the default credentials, free ports, the proxy-free environment, the binary's path,
and one start sequence (spawn with output to a file, wait until `GET /_localyun/health` answers 200 and the
data-plane ports a suite needs accept connections, stop or kill -9). What a suite adds stays in the suite:
its flags, fixtures and port offsets.
"""
import os
import signal
import socket
import subprocess
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The default key pair and its account (README "Default credentials").
KEY_ID = "AKIDLOCAL"
SECRET = "local-secret"
ACCOUNT = "100000000001"

# The SDKs and urllib honour proxy variables even for 127.0.0.1 (shared/sdk-wire-notes.md): drop them for
# the whole test process, before any client reads them.
for _var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_var, None)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary():
    """The binary under test: LOCALYUN_BIN, else target/debug/localyun (built when missing)."""
    path = os.environ.get("LOCALYUN_BIN", os.path.join(ROOT, "target", "debug", "localyun"))
    if not os.path.exists(path) and "LOCALYUN_BIN" not in os.environ:
        subprocess.run(["cargo", "build", "--quiet"], cwd=ROOT, check=True)
    return path


def environment(extra=None):
    """This process's environment without any LOCALYUN_* setting (the caller's shell must not change what
    a test starts; LOCALYUN_BIN only names the binary), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALYUN_") or k == "LOCALYUN_BIN"}
    env.update(extra or {})
    return env


def read_log(path):
    with open(path, "rb") as f:
        return f.read().decode(errors="replace")


def launch(args, env, log_path, http_port, ports=(), timeout=30):
    """Runs `binary() + args` with `env`, its output appended to `log_path` (a pipe nobody reads would fill
    up and stall the server), and waits until the health route on `http_port` answers 200 and every port of
    `ports` accepts a connection. Returns the process; raises RuntimeError with the log when the process
    exits or is not ready within `timeout` seconds (and kills it then)."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([binary(), *args], env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"localyun exited: {read_log(log_path)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/_localyun/health", timeout=1) as r:
                healthy = r.status == 200
            if healthy:
                for port in ports:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return proc
        except OSError:
            pass
        time.sleep(0.05)
    proc.kill()
    proc.wait(10)
    raise RuntimeError(f"localyun did not start in {timeout} s: {read_log(log_path)}")


def stop(proc, timeout=10):
    """SIGTERM (a graceful shutdown), then SIGKILL if it has not exited within `timeout` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


def kill9(proc):
    """SIGKILL, as a crash would end it (durability tests)."""
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
