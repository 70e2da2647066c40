"""The binary's own promises: one server per data directory, and a restart (even kill -9) keeps
resources, credentials, tokens and operation URLs."""

import json
import os
import signal
import subprocess
import tempfile
import time

import pytest
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


def test_kill_9_during_an_import_then_restart_finishes_it():
    s = Server(os.environ.get("GALLEON_BIN", "target/debug/galleon"))
    ca, sub = s.creds["caFile"], s.creds["subscriptionId"]
    h = {"Authorization": f"Bearer {token(s)}"}
    # A 2 GiB fixed VHD with 256 MiB of data: an import that takes long enough to interrupt.
    imports = os.path.join(s.dir, "data", "imports")
    path = os.path.join(imports, "big.vhd")
    size = 2 << 30
    with open(path, "wb") as f:
        f.truncate(size)
        for i in range(64):
            f.seek(i * (size // 64))
            f.write(os.urandom(4 << 20))
    footer = subprocess.run([os.environ.get("PYTHON", "python3"), "-c", FOOTER_SCRIPT, str(size)], capture_output=True, check=True).stdout
    with open(path, "ab") as f:
        f.write(footer)
    rg = f"{s.endpoint}/subscriptions/{sub}/resourcegroups/crashRG"
    requests.put(f"{rg}?api-version=2024-11-01", json={"location": "eastus"}, headers=h, verify=ca).raise_for_status()
    disk = f"{s.endpoint}/subscriptions/{sub}/resourceGroups/crashRG/providers/Microsoft.Compute/disks/big?api-version=2025-01-02"
    r = requests.put(disk, json={"location": "eastus", "properties": {"creationData": {"createOption": "Import", "sourceUri": f"file://{path}"}}},
                     headers=h, verify=ca)
    assert r.status_code == 202, r.text
    op_url = r.headers["Azure-AsyncOperation"]
    time.sleep(0.3)
    interrupted = requests.get(op_url, headers=h, verify=ca).json()["status"] == "InProgress"
    s.proc.send_signal(signal.SIGKILL)
    s.proc.wait()

    again = Server(os.environ.get("GALLEON_BIN", "target/debug/galleon"), reuse=s)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            status = requests.get(op_url, headers=h, verify=ca).json()
            if status["status"] != "InProgress":
                break
            # Nothing half-written is served meanwhile: no digest before the disk is Succeeded
            # (the job may finish between the two reads).
            props = requests.get(disk, headers=h, verify=ca).json()["properties"]
            assert "digest" not in props or props["provisioningState"] == "Succeeded", props
            time.sleep(0.2)
        assert status["status"] == "Succeeded", status
        d = requests.get(disk, headers=h, verify=ca).json()["properties"]
        assert d["diskSizeBytes"] == size and d["provisioningState"] == "Succeeded"
        sas = requests.post(disk.replace("?", "/beginGetAccess?"), json={"access": "Read", "durationInSeconds": 600}, headers=h, verify=ca)
        url = requests.get(sas.headers["Location"], headers=h, verify=ca).json()["accessSAS"]
        # Compare a few ranges that hold data, and the footer.
        with open(path, "rb") as f:
            for start in [0, 5 * (size // 64) + 1000, size - 100]:
                got = requests.get(url, headers={"x-ms-range": f"bytes={start}-{start + 9999}"}, verify=ca).content
                f.seek(start)
                assert got == f.read(10000)
        print(f"import interrupted mid-way: {interrupted}")
    finally:
        again.stop()


FOOTER_SCRIPT = r"""
import struct, sys
size = int(sys.argv[1])
f = bytearray(512)
f[0:8] = b"conectix"; f[8:12] = struct.pack(">I", 2); f[12:16] = struct.pack(">I", 0x10000)
f[16:24] = b"\xff" * 8; f[28:32] = b"test"; f[36:40] = b"Wi2k"
f[40:48] = struct.pack(">Q", size); f[48:56] = struct.pack(">Q", size)
f[56:60] = struct.pack(">HBB", 65535, 16, 255); f[60:64] = struct.pack(">I", 2)
f[64:68] = struct.pack(">I", (~(sum(f[:64]) + sum(f[68:]))) & 0xFFFFFFFF)
sys.stdout.buffer.write(bytes(f))
"""


def test_a_region_store_given_by_url_holds_the_chunks(tmp_path):
    objects = tmp_path / "objects"
    config = tmp_path / "galleon.toml"
    config.write_text(f'[region_stores]\neastus = "file://{objects}"\n')
    s = Server(os.environ.get("GALLEON_BIN", "target/debug/galleon"), extra=["--config", str(config)])
    try:
        ca, sub = s.creds["caFile"], s.creds["subscriptionId"]
        h = {"Authorization": f"Bearer {token(s)}"}
        path = os.path.join(s.dir, "data", "imports", "small.vhd")
        size = 4 << 20
        with open(path, "wb") as f:
            f.write(os.urandom(size))
        footer = subprocess.run(["python3", "-c", FOOTER_SCRIPT, str(size)], capture_output=True, check=True).stdout
        with open(path, "ab") as f:
            f.write(footer)
        requests.put(f"{s.endpoint}/subscriptions/{sub}/resourcegroups/objRG?api-version=2024-11-01", json={"location": "eastus"},
                     headers=h, verify=ca).raise_for_status()
        disk = f"{s.endpoint}/subscriptions/{sub}/resourceGroups/objRG/providers/Microsoft.Compute/disks/d?api-version=2025-01-02"
        r = requests.put(disk, json={"location": "eastus", "properties": {"creationData": {"createOption": "Import", "sourceUri": f"file://{path}"}}},
                         headers=h, verify=ca)
        op = r.headers["Azure-AsyncOperation"]
        deadline = time.time() + 30
        while requests.get(op, headers=h, verify=ca).json()["status"] == "InProgress" and time.time() < deadline:
            time.sleep(0.1)
        assert requests.get(op, headers=h, verify=ca).json()["status"] == "Succeeded"
        stored = [p for p in objects.rglob("*") if p.is_file()]
        assert len(stored) >= 5, "4 data chunks and the manifest are objects in the configured store"
        sas = requests.post(disk.replace("?", "/beginGetAccess?"), json={"access": "Read", "durationInSeconds": 60}, headers=h, verify=ca)
        url = requests.get(sas.headers["Location"], headers=h, verify=ca).json()["accessSAS"]
        assert requests.get(url, verify=ca).content == open(path, "rb").read()
    finally:
        s.stop()


def test_kill_9_during_replication_then_restart_completes_it():
    binary = os.environ.get("GALLEON_BIN", "target/debug/galleon")
    s = Server(binary, extra=["--replication-copy", "copy"])
    ca, sub = s.creds["caFile"], s.creds["subscriptionId"]
    h = {"Authorization": f"Bearer {token(s)}"}
    path = os.path.join(s.dir, "data", "imports", "rep.vhd")
    size = 1 << 30
    with open(path, "wb") as f:
        f.truncate(size)
        for i in range(96):
            f.seek(i * (size // 96))
            f.write(os.urandom(2 << 20))
    footer = subprocess.run(["python3", "-c", FOOTER_SCRIPT, str(size)], capture_output=True, check=True).stdout
    with open(path, "ab") as f:
        f.write(footer)
    base = f"{s.endpoint}/subscriptions/{sub}/resourceGroups/repRG/providers/Microsoft.Compute"

    def wait(r):
        op = r.headers["Azure-AsyncOperation"]
        while requests.get(op, headers=h, verify=ca).json()["status"] == "InProgress":
            time.sleep(0.1)

    requests.put(f"{s.endpoint}/subscriptions/{sub}/resourcegroups/repRG?api-version=2024-11-01", json={"location": "eastus"}, headers=h, verify=ca)
    wait(requests.put(f"{base}/disks/src?api-version=2025-01-02", json={"location": "eastus", "properties": {
        "osType": "Linux", "creationData": {"createOption": "Import", "sourceUri": f"file://{path}"}}}, headers=h, verify=ca))
    wait(requests.put(f"{base}/galleries/g?api-version=2026-03-03", json={"location": "eastus"}, headers=h, verify=ca))
    wait(requests.put(f"{base}/galleries/g/images/i?api-version=2021-10-01", json={"location": "eastus", "properties": {
        "osType": "Linux", "osState": "Generalized", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}}}, headers=h, verify=ca))
    version = f"{base}/galleries/g/images/i/versions/1.0.0?api-version=2024-03-03"
    r = requests.put(version, json={"location": "eastus", "properties": {
        "publishingProfile": {"targetRegions": [{"name": "eastus"}, {"name": "westus2"}, {"name": "northeurope"}, {"name": "westeurope"}]},
        "storageProfile": {"osDiskImage": {"source": {"id": f"{base}/disks/src".split(s.endpoint)[1]}}}}}, headers=h, verify=ca)
    assert r.status_code == 201, r.text
    op = r.headers["Azure-AsyncOperation"]
    time.sleep(0.4)
    s.proc.send_signal(signal.SIGKILL)
    s.proc.wait()
    again = Server(binary, extra=["--replication-copy", "copy"], reuse=s)
    try:
        deadline = time.time() + 90
        while requests.get(op, headers=h, verify=ca).json()["status"] == "InProgress" and time.time() < deadline:
            time.sleep(0.2)
        assert requests.get(op, headers=h, verify=ca).json()["status"] == "Succeeded"
        v = requests.get(version + "&$expand=ReplicationStatus", headers=h, verify=ca).json()
        assert v["properties"]["replicationStatus"]["aggregatedState"] == "Completed", v
        assert all(x["progress"] == 100 for x in v["properties"]["replicationStatus"]["summary"])
    finally:
        again.stop()


def test_configured_stores_decide_what_a_region_can_hold(tmp_path):
    config = tmp_path / "galleon.toml"
    config.write_text(
        '[[stores]]\nregion = "eastus"\ntype = "Standard_LRS"\n' + f'url = "dir://{tmp_path}/eastus-lrs"\n'
        + '[[stores]]\nregion = "East US"\ntype = "standard_zrs"\nurl = "memory://"\n')
    s = Server(os.environ.get("GALLEON_BIN", "target/debug/galleon"), extra=["--config", str(config)])
    try:
        ca, sub = s.creds["caFile"], s.creds["subscriptionId"]
        h = {"Authorization": f"Bearer {token(s)}"}
        base = f"{s.endpoint}/subscriptions/{sub}/resourceGroups/cfgRG/providers/Microsoft.Compute"

        def wait(r):
            op = r.headers["Azure-AsyncOperation"]
            while requests.get(op, headers=h, verify=ca).json()["status"] == "InProgress":
                time.sleep(0.05)
            return requests.get(op, headers=h, verify=ca).json()["status"]

        requests.put(f"{s.endpoint}/subscriptions/{sub}/resourcegroups/cfgRG?api-version=2024-11-01", json={"location": "eastus"}, headers=h, verify=ca)
        assert wait(requests.put(f"{base}/disks/d?api-version=2025-01-02", json={"location": "eastus", "properties": {
            "diskSizeGB": 1, "creationData": {"createOption": "Empty"}}}, headers=h, verify=ca)) == "Succeeded"
        assert os.listdir(tmp_path / "eastus-lrs"), "the primary (first configured) store holds the disk's manifest"
        wait(requests.put(f"{base}/galleries/g?api-version=2026-03-03", json={"location": "eastus"}, headers=h, verify=ca))
        wait(requests.put(f"{base}/galleries/g/images/i?api-version=2021-10-01", json={"location": "eastus", "properties": {
            "osType": "Linux", "osState": "Generalized", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}}}, headers=h, verify=ca))
        body = lambda count: {"location": "eastus", "properties": {
            "publishingProfile": {"targetRegions": [{"name": "eastus", "regionalReplicaCount": count, "storageAccountType": "Standard_ZRS"}]},
            "storageProfile": {"osDiskImage": {"source": {"id": f"/subscriptions/{sub}/resourceGroups/cfgRG/providers/Microsoft.Compute/disks/d"}}}}}
        refused = requests.put(f"{base}/galleries/g/images/i/versions/1.0.0?api-version=2024-03-03", json=body(2), headers=h, verify=ca)
        assert refused.status_code == 400 and "Region 'eastus'" in refused.json()["error"]["message"], refused.text
        r = requests.put(f"{base}/galleries/g/images/i/versions/1.0.0?api-version=2024-03-03", json=body(1), headers=h, verify=ca)
        assert wait(r) == "Succeeded"
    finally:
        s.stop()


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_server_log_holds_no_secrets_or_tokens(tmp_path, log_format):
    env = dict(os.environ, RUST_LOG="debug")
    binary = os.path.abspath(os.environ.get("GALLEON_BIN", "target/debug/galleon"))
    d, port = tempfile.mkdtemp(prefix="galleon-log-"), None
    import socket as _s
    with _s.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = open(os.path.join(d, "serve.log"), "w")
    proc = subprocess.Popen([binary, "--log-format", log_format, "serve", "--data-dir", os.path.join(d, "data"),
                             "--listen", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=log, env=env)
    try:
        for _ in range(100):
            if os.path.exists(os.path.join(d, "data", "credentials.json")):
                break
            time.sleep(0.1)
        time.sleep(0.5)
        creds = json.load(open(os.path.join(d, "data", "credentials.json")))
        base = f"https://127.0.0.1:{port}"
        tok = requests.post(f"{base}/{creds['tenantId']}/oauth2/v2.0/token", verify=creds["caFile"], data={
            "grant_type": "client_credentials", "client_id": creds["clientId"], "client_secret": creds["clientSecret"],
            "scope": "https://management.azure.com/.default"}).json()["access_token"]
        requests.post(f"{base}/{creds['tenantId']}/oauth2/v2.0/token", verify=creds["caFile"], data={
            "grant_type": "client_credentials", "client_id": creds["clientId"], "client_secret": "wrong-secret-xyz"})
        h = {"Authorization": f"Bearer {tok}", "x-ms-correlation-request-id": "corr-log-1", "x-ms-client-request-id": "client-log-1"}
        requests.get(f"{base}/subscriptions?api-version=2022-12-01", headers=h, verify=creds["caFile"])
        requests.get(f"{base}/subscriptions?api-version=2022-12-01", headers={"Authorization": "Bearer forged.token.value"}, verify=creds["caFile"])
        # A signature in a query string (as access URLs carry) never reaches the log.
        requests.get(f"{base}/access/abc/abcd?sv=2021-08-06&sig=query-signature-xyz", verify=creds["caFile"])
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
    text = open(os.path.join(d, "serve.log")).read()
    assert text.strip(), "the server logged something at debug level"
    for secret in [creds["clientSecret"], tok, tok.split(".")[2], "wrong-secret-xyz", "forged.token.value", "query-signature-xyz"]:
        assert secret not in text, "a secret or token reached the log"
    if log_format == "json":
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
        access = [e for e in lines if e.get("target") == "galleon::access"]
        # Every request is logged once: the two token posts, the two lists and the access URL.
        assert len(access) == 5, access
        ok = next(e for e in access if e.get("correlation_id") == "corr-log-1")
        assert ok["method"] == "GET" and ok["route"] == "/subscriptions" and ok["status"] == 200, ok
        import base64
        payload = tok.split(".")[1]
        oid = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["oid"]
        assert ok["principal"] == oid, ok
        assert ok["client_request_id"] == "client-log-1" and len(ok["request_id"]) == 36, ok
        assert isinstance(ok["duration_ms"], float), ok
        forged = next(e for e in access if e["status"] == 401)
        assert forged["principal"] == "" and forged["correlation_id"] == forged["request_id"], forged
        assert any(e["route"] == "/access/{key}/{blob}" for e in access), access
