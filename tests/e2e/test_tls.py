"""TLS: the generated CA is trusted by curl and Python requests, and an operator-supplied
certificate and key are served instead of the generated ones."""

import json
import os
import shutil
import subprocess

import pytest
import requests

from conftest import Server


def test_curl_and_requests_trust_the_generated_ca(server):
    ca = server.creds["caFile"]
    assert requests.get(f"{server.endpoint}/healthz", verify=ca, timeout=5).json() == {"status": "ok"}
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{server.endpoint}/healthz", verify=True, timeout=5)
    if shutil.which("curl"):
        out = subprocess.run(["curl", "-sS", "--cacert", ca, f"{server.endpoint}/healthz"], capture_output=True, text=True, check=True)
        assert json.loads(out.stdout) == {"status": "ok"}
        refused = subprocess.run(["curl", "-sS", f"{server.endpoint}/healthz"], capture_output=True, text=True)
        assert refused.returncode != 0


def test_files_holding_secrets_are_owner_only(server):
    data = os.path.join(server.dir, "data")
    # metadata.db holds the token signing key, secret hashes and portal sessions.
    for rel in ["", "credentials.json", "metadata.db", "metadata.db-wal", "tls/server.key", "tls/ca.key"]:
        assert os.stat(os.path.join(data, rel)).st_mode & 0o077 == 0, rel


def test_configured_certificate_is_served(server, tmp_path):
    tls = os.path.join(server.dir, "data", "tls")
    config = tmp_path / "galleon.toml"
    config.write_text(f'[tls]\ncert = "{tls}/server.crt"\nkey = "{tls}/server.key"\n')
    other = Server(os.environ.get("GALLEON_BIN", "target/debug/galleon"), extra=["--config", str(config)], ca=server.creds["caFile"])
    try:
        assert other.creds["caFile"] is None, "no CA is generated when a certificate is configured"
        assert not os.path.exists(os.path.join(other.dir, "data", "tls"))
        assert requests.get(f"{other.endpoint}/healthz", verify=server.creds["caFile"], timeout=5).status_code == 200
    finally:
        other.stop()
