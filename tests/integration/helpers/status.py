"""Reading a running buoy through its control socket: the CLI runner, `buoy status --json`
(whole document or the first VRRP instance) and a reload with a new config file. Every test
module reads status through these (or Buoy.status_json in netns.py, which they wrap)."""
import subprocess
import time

import netns


def cli(*args, timeout=20):
    """Runs the buoy CLI; returns CompletedProcess (text)."""
    return subprocess.run([netns.buoy_bin()] + list(args), capture_output=True, text=True,
                          timeout=timeout)


def ctl(b, *args, timeout=20):
    """`buoy CMD --socket S` against a running buoy; returns (rc, stdout+stderr, seconds)."""
    t0 = time.monotonic()
    r = cli(*(list(args) + ["--socket", b.socket_path]), timeout=timeout)
    return r.returncode, r.stdout + r.stderr, time.monotonic() - t0


def status_json(b):
    """`buoy status --json`, parsed (fails the test if the command fails)."""
    return b.status_json()


def vrrp_status(b):
    """The first VRRP instance of `buoy status --json`, or None when there is none."""
    v = status_json(b).get("vrrp") or []
    return v[0] if v else None


def control_line(b):
    """The `control:` line that keeps a rewritten config on b's own socket."""
    return "control: { socket: %s }\n" % b.socket_path


def rewrite_config(b, yaml_text):
    """Rewrites b's config file (on its own control socket), without reloading."""
    with open(b.config_path, "w") as f:
        f.write(yaml_text + control_line(b))


def reload_to(b, yaml_text):
    """Rewrites b's config and runs `buoy reload`; returns (rc, stdout+stderr, seconds)."""
    rewrite_config(b, yaml_text)
    return ctl(b, "reload")
