"""kube-apiserver stand-ins for integration tests: a test PKI (openssl, EC keys) and Debian
nginx over TLS serving /readyz (200 while a file exists, else 500), /livez and /name.

    from helpers.apiserver import Nginx, make_ca, issue_server
"""
import os
import shutil
import subprocess
import textwrap

import pytest

import netns


# The apiserver stand-ins' addresses in the routed and bridged topologies (api1..api3).
APIS = {"api1": "198.18.0.21", "api2": "198.18.0.22", "api3": "198.18.0.23"}


def need(*binaries):
    """Fails the test unless every one of binaries is on PATH: scripts/deps test installs them
    all (CI runs it), so a missing one is a broken setup, not a reason to skip."""
    for b in binaries:
        if not shutil.which(b):
            pytest.fail("%s not installed: run scripts/deps test" % b)


# ---------------------------------------------------------------------------------------------
# PKI helpers (EC keys: fast to make).

def openssl_run(args, cwd):
    subprocess.run(["openssl"] + args, cwd=cwd, check=True, capture_output=True, timeout=30)


def ec_key_req(cwd, name, subj):
    openssl_run(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
              "-keyout", name + ".key", "-out", name + ".csr", "-subj", subj], cwd)


def sign(cwd, name, ext):
    with open(os.path.join(cwd, name + ".ext"), "w") as f:
        f.write(ext)
    openssl_run(["x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
              "-CAcreateserial", "-out", name + ".crt", "-days", "2", "-extfile", name + ".ext"],
             cwd)


def make_ca(d):
    """A test CA in directory d (ca.crt, ca.key)."""
    need("openssl")
    os.makedirs(d, exist_ok=True)
    openssl_run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj",
                 "/CN=buoy-test-ca"], d)


def issue_server(d, name, ips, cn="apiserver.test"):
    """name.crt / name.key signed by d's CA, valid for the given IP addresses."""
    ec_key_req(d, name, "/CN=" + cn)
    san = ",".join("IP:" + ip for ip in ips) + ",DNS:apiserver.test,DNS:localhost"
    sign(d, name, "subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n" % san)
    return os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")


class Nginx:
    """nginx (TLS) in a namespace: /readyz is 200 while <root>/ready exists, else 500;
    /name answers the server's name (to see which server a proxied connection reached)."""

    def __init__(self, ns, ip, name, cert, key, workdir, port=6443, listen=None):
        """listen: nginx's listen address (default ip:port; "6443" = every address)."""
        need("nginx")
        self.ns, self.ip, self.name, self.port = ns, ip, name, port
        self.dir = os.path.join(workdir, "nginx-" + name)
        self.root = os.path.join(self.dir, "www")
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        os.makedirs(self.root, exist_ok=True)
        self.set_ready(True)
        d = self.dir
        conf = textwrap.dedent("""\
            daemon off;
            master_process off;
            worker_processes 1;
            pid {d}/nginx.pid;
            error_log {d}/error.log info;
            events {{ worker_connections 1024; }}
            http {{
                access_log off;
                client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp;
                fastcgi_temp_path {d}/tmp; uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;
                server {{
                    listen {listen} ssl;
                    ssl_certificate {cert};
                    ssl_certificate_key {key};
                    root {root};
                    location = /readyz {{ try_files /ready =500; }}
                    location = /livez {{ return 200 "ok\\n"; }}
                    location = /name {{ return 200 "{name}\\n"; }}
                }}
            }}
            """).format(d=d, listen=listen or "%s:%d" % (ip, port), cert=cert, key=key,
                        root=self.root, name=name)
        self.conf = os.path.join(d, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.start()

    def start(self):
        d = self.dir
        self.proc = self.ns.popen(["nginx", "-p", d, "-c", self.conf, "-e",
                                   os.path.join(d, "error.log")],
                                  stdout=subprocess.DEVNULL, log_path=os.path.join(d, "stderr.log"))
        netns.wait_port(self.ip, self.port, timeout=5, ns=self.ns)

    def kill(self):
        self.proc.kill()

    def set_ready(self, ready):
        path = os.path.join(self.root, "ready")
        if ready:
            with open(path, "w") as f:
                f.write("ok\n")
        elif os.path.exists(path):
            os.unlink(path)

    def addr(self):
        return "%s:%d" % (self.ip, self.port)
