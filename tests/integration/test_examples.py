"""Every shipped example config passes `buoy check` (examples/*.yaml, and the configs of the
reference setups converted in examples/migrated/, which docs/migrating.md walks through).

`buoy check` validates the config alone (syntax, types, ranges, references, VRRP rules); it does
not look at the machine's interfaces or addresses, so these run anywhere, without root.
"""
import glob
import os
import re
import subprocess

import pytest

import netns

EXAMPLES = os.path.join(netns.REPO, "examples")
SCENARIOS = ["lb-pair.yaml", "colocated.yaml", "node-local.yaml", "unicast.yaml"]
MIGRATED = sorted(glob.glob(os.path.join(EXAMPLES, "migrated", "*.yaml")))
ALL = sorted(glob.glob(os.path.join(EXAMPLES, "*.yaml"))) + MIGRATED


def check(buoy_bin, path):
    r = subprocess.run([buoy_bin, "check", "-c", path], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 0, "%s:\n%s%s" % (path, r.stdout, r.stderr)
    m = re.search(r": ok: node=(\S+) listeners=(\d+) backends=(\d+) servers=(\d+) "
                  r"vrrp_instances=(\d+)", r.stdout)
    assert m, r.stdout
    return {"node": m.group(1), "listeners": int(m.group(2)), "backends": int(m.group(3)),
            "servers": int(m.group(4)), "vrrp": int(m.group(5))}


def test_the_examples_are_there():
    for name in SCENARIOS:
        assert os.path.exists(os.path.join(EXAMPLES, name)), name
    assert len(MIGRATED) >= 5, MIGRATED   # one or more per reference setup


@pytest.mark.parametrize("path", ALL, ids=lambda p: os.path.relpath(p, EXAMPLES))
def test_example_passes_buoy_check(buoy_bin, path):
    check(buoy_bin, path)


def test_scenarios_are_what_their_names_say(buoy_bin):
    pair = check(buoy_bin, os.path.join(EXAMPLES, "lb-pair.yaml"))
    assert pair["vrrp"] == 1 and pair["listeners"] == 2 and pair["servers"] == 6   # + etcd
    colo = check(buoy_bin, os.path.join(EXAMPLES, "colocated.yaml"))
    assert colo["vrrp"] == 1 and colo["listeners"] == 1
    local = check(buoy_bin, os.path.join(EXAMPLES, "node-local.yaml"))
    assert local["vrrp"] == 0 and local["listeners"] == 1
    with open(os.path.join(EXAMPLES, "node-local.yaml")) as f:
        assert '"127.0.0.1:6443"' in f.read()
    uni = check(buoy_bin, os.path.join(EXAMPLES, "unicast.yaml"))
    assert uni["vrrp"] == 1
    with open(os.path.join(EXAMPLES, "unicast.yaml")) as f:
        text = f.read()
    assert re.search(r"^\s+unicast_peers:", text, re.M)
    assert re.search(r"^\s+unicast_source:", text, re.M)
    with open(os.path.join(EXAMPLES, "colocated.yaml")) as f:
        assert "--control-plane-endpoint" in f.read()


def test_buoy_check_would_catch_a_broken_example(buoy_bin, tmp_path):
    """The check above is not vacuous: a typo in a copied example is reported with its line."""
    with open(os.path.join(EXAMPLES, "lb-pair.yaml")) as f:
        text = f.read().replace("router_id: 51", "router_id: 51\n    prioriti: 120", 1)
    bad = tmp_path / "typo.yaml"
    bad.write_text(text)
    r = subprocess.run([buoy_bin, "check", "-c", str(bad)], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 1
    assert re.search(r"typo\.yaml:\d+:\d+: .*prioriti", r.stderr), r.stderr
