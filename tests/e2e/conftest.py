"""Starts the real `galleon serve` binary on a free loopback port with a fresh data directory,
and gives tests the official SDK clients pointed at it with a service-principal credential."""

import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request

import pytest
from azure.identity import ClientSecretCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary: str, extra=(), ca=None, reuse=None):
        """Starts a server; `reuse` is a stopped Server whose directory and port to take over."""
        binary = os.path.abspath(binary)
        self.dir = reuse.dir if reuse else tempfile.mkdtemp(prefix="galleon-e2e-")
        self.port = reuse.port if reuse else _free_port()
        self.endpoint = f"https://127.0.0.1:{self.port}"
        self.log = open(os.path.join(self.dir, "serve.log"), "a")
        self.proc = subprocess.Popen(
            [binary, "serve", "--data-dir", os.path.join(self.dir, "data"), "--listen", f"127.0.0.1:{self.port}", *extra],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.creds = self._wait_ready(ca)

    def _wait_ready(self, ca) -> dict:
        path = os.path.join(self.dir, "data", "credentials.json")
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"galleon exited with {self.proc.returncode}: {open(self.log.name).read()}")
            if os.path.exists(path):
                creds = json.load(open(path))
                ctx = ssl.create_default_context(cafile=ca or creds["caFile"])
                try:
                    with urllib.request.urlopen(f"{self.endpoint}/healthz", context=ctx, timeout=2) as r:
                        if r.status == 200:
                            return creds
                except OSError:
                    pass
            time.sleep(0.1)
        raise RuntimeError("galleon did not become ready in 30 s")

    def stop(self):
        """Stops the server and removes its directory (a reused server's too: stop is final)."""
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def server():
    s = Server(os.environ.get("GALLEON_BIN", "target/debug/galleon"))
    yield s
    s.stop()


@pytest.fixture(scope="session")
def credential(server):
    c = server.creds
    # Authority = galleon itself; instance discovery off so MSAL never looks elsewhere.
    return ClientSecretCredential(
        c["tenantId"], c["clientId"], c["clientSecret"],
        authority=server.endpoint, disable_instance_discovery=True, connection_verify=c["caFile"],
    )


@pytest.fixture(scope="session")
def compute(server, credential):
    c = server.creds
    return ComputeManagementClient(credential, c["subscriptionId"], base_url=server.endpoint,
                                   connection_verify=c["caFile"])


@pytest.fixture(scope="session")
def resources(server, credential):
    c = server.creds
    return ResourceManagementClient(credential, c["subscriptionId"], base_url=server.endpoint,
                                    connection_verify=c["caFile"])
