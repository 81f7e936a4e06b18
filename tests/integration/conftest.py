"""Shared pytest fixtures for buoy's integration tests (see netns.py for the library).

Fixtures:
  buoy_bin      path of the binary under test ($BUOY_BIN, default <repo>/buoy); skips if missing
  root          skips the test unless running as root (namespaces need it)
  topo          a fresh Topology (switch + bridge); add hosts with topo.add_host("lb1", ...);
                everything in it is removed when the test ends, pass or fail
  buoy          factory: buoy(yaml_text, name="buoy", ns=None) -> running netns.Buoy (loopback
                when ns is None); stopped at teardown, its log printed when the test failed;
                chroot=ROOTFS, workdir=DIR-inside-it run an image's own binary
  backend       factory: backend("127.0.0.2:7001", mode="name", name="a") -> started
                helpers.backend.Backend (in-process threads); stopped at teardown
  backend_proc  factory: same as backend but a separate process (SIGKILL-able); ns= optional
  workdir       a per-test directory (tmp_path)
  shared_dir    a root-owned 0755 directory under /tmp that the script user (nobody) can read,
                with a 0777 "out" subdirectory nobody can write to (track/notify scripts)
"""
import os
import shutil
import signal
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import netns  # noqa: E402
from helpers.backend import Backend  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "root: needs root (network namespaces)")
    config.addinivalue_line("markers", "artifact: builds the .deb or the image (make test only)")
    netns.install_cleanup_handlers()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Remember each phase's report on the item so fixtures can see whether the test failed.
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _failed(request):
    rep = getattr(request.node, "rep_call", None)
    return rep is None or rep.failed


@pytest.fixture(scope="session", autouse=True)
def _session_leak_check():
    """Sweep namespaces of dead earlier runs; at the end, prove this run left nothing behind."""
    if netns.is_root():
        netns.sweep_stale()
    yield
    netns.cleanup_all()
    if netns.is_root():
        left = netns.list_namespaces(netns.PREFIX)
        assert not left, "namespaces left behind: %s" % left


@pytest.fixture(scope="session")
def buoy_bin():
    path = netns.buoy_bin()
    if not os.access(path, os.X_OK):
        pytest.skip("buoy binary not found at %s (build it, or set BUOY_BIN)" % path)
    return path


@pytest.fixture
def root():
    if not netns.is_root():
        pytest.skip("needs root (network namespaces)")


@pytest.fixture
def workdir(tmp_path):
    return str(tmp_path)


@pytest.fixture
def shared_dir():
    """pytest's tmp_path is root-only: scripts run as nobody need this one. Root-owned and 0755
    (scripts pass the security check, nobody can read flags there), with a 0777 'out'
    subdirectory nobody can write to."""
    d = tempfile.mkdtemp(prefix="buoyt-%d-shared-" % os.getpid())
    os.chmod(d, 0o755)
    os.mkdir(os.path.join(d, "out"))
    os.chmod(os.path.join(d, "out"), 0o777)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def topo(root, tmp_path, request):
    t = netns.Topology(workdir=str(tmp_path))
    try:
        yield t
    finally:
        t.cleanup()


@pytest.fixture
def buoy(buoy_bin, tmp_path, request):
    started = []

    def start(yaml_text, name="buoy", ns=None, args=None, env=None, chroot=None, workdir=None):
        b = netns.Buoy(yaml_text, workdir or str(tmp_path), ns=str(ns) if ns else None,
                       name=name, args=args, env=env, chroot=chroot)
        started.append(b)
        return b

    yield start
    problems = []
    for b in started:
        b.stop(timeout=5.0)
        problems += _buoy_problems(b)
    if problems or _failed(request):
        for b in started:
            log = b.log()
            sys.stderr.write("---- %s (exit %s) last log lines:\n%s\n"
                             % (b.log_path, b.returncode, "\n".join(log.splitlines()[-60:])))
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)


# A crash or a sanitizer report fails the test even when the client side looked fine.
_CRASH_SIGNALS = {-signal.SIGSEGV, -signal.SIGABRT, -signal.SIGBUS, -signal.SIGFPE,
                  -signal.SIGILL}


def _buoy_problems(b):
    out = []
    if netns.SANITIZER.search(b.log()):
        out.append("sanitizer report in %s" % b.log_path)
    if b.returncode in _CRASH_SIGNALS and not getattr(b, "allow_crash", False):
        out.append("buoy died with signal %d (%s)" % (-b.returncode, b.log_path))
    return out


@pytest.fixture
def backend():
    started = []

    def start(listen, mode="name", name=None, **kw):
        b = Backend(listen, mode=mode, name=name, **kw).start()
        started.append(b)
        return b

    yield start
    for b in started:
        b.stop()


@pytest.fixture
def backend_proc():
    started = []

    def start(listen, mode="name", name=None, ns=None, extra=()):
        p = netns.start_backend(listen, mode=mode, name=name, ns=str(ns) if ns else None,
                                extra=extra)
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop(timeout=1.0)
