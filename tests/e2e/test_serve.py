"""The binary's own promises: one server per data directory, and a restart (even kill -9) keeps
resources, credentials, tokens and operation URLs."""

import os
import signal
import subprocess
import time

import requests

from conftest import Server


def token(server):
    c = server.creds
    r = requests.post(f"{server.endpoint}/{c['tenantId']}/oauth2/v2.0/token", verify=c["caFile"], timeout=5, data={
        "grant_type": "client_credentials", "client_id": c["clientId"], "client_secret": c["clientSecret"],
        "scope": "https://management.azure.com/.default"})
    r.raise_for_status()
    return r.json()["access_token"]


def test_a_second_server_on_the_same_data_dir_is_refused(server):
    binary = os.path.abspath(os.environ.get("GALLEON_BIN", "target/debug/galleon"))
    out = subprocess.run([binary, "serve", "--data-dir", os.path.join(server.dir, "data"), "--listen", "127.0.0.1:0"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "another galleon is already serving" in out.stderr


def test_kill_9_and_restart_keep_everything(tmp_path):
    s = Server(os.environ.get("GALLEON_BIN", "target/debug/galleon"))
    ca, sub = s.creds["caFile"], s.creds["subscriptionId"]
    tok = token(s)
    h = {"Authorization": f"Bearer {tok}"}
    rg = f"{s.endpoint}/subscriptions/{sub}/resourcegroups/durableRG"
    assert requests.put(f"{rg}?api-version=2024-11-01", json={"location": "eastus"}, headers=h, verify=ca).status_code == 201
    gallery = f"{s.endpoint}/subscriptions/{sub}/resourceGroups/durableRG/providers/Microsoft.Compute/galleries/g"
    r = requests.put(f"{gallery}?api-version=2026-03-03", json={"location": "eastus"}, headers=h, verify=ca)
    assert r.status_code == 201
    op_url = r.headers["Azure-AsyncOperation"]
    s.proc.send_signal(signal.SIGKILL)
    s.proc.wait()

    again = Server(os.environ.get("GALLEON_BIN", "target/debug/galleon"), reuse=s)
    try:
        assert again.creds["clientSecret"] == s.creds["clientSecret"], "credentials survive a restart"
        # The old token still verifies: the signing key is kept.
        deadline = time.time() + 10
        status = None
        while time.time() < deadline:
            status = requests.get(op_url, headers=h, verify=ca).json()["status"]
            if status == "Succeeded":
                break
            time.sleep(0.5)
        assert status == "Succeeded"
        g = requests.get(f"{gallery}?api-version=2026-03-03", headers=h, verify=ca).json()
        assert g["properties"]["provisioningState"] == "Succeeded"
    finally:
        again.stop()
