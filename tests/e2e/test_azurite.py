"""Import by URL: a fixed VHD made by qemu-img is uploaded as a page blob to Azurite (started
here, telemetry off) with the official storage SDK, imported into galleon by its SAS URL with the
official compute SDK, and downloaded back byte for byte."""

import datetime
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
import requests
from azure.identity import ClientSecretCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute import models as m
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, BlobType, generate_blob_sas

from conftest import Server, _free_port
from test_sdk import make_vhd

ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@pytest.fixture(scope="module")
def azurite():
    binary = os.environ.get("AZURITE_BLOB", "")
    if not os.path.exists(binary) or not shutil.which("qemu-img"):
        pytest.skip("Azurite (npm) or qemu-img is not installed")
    port = _free_port()
    data = tempfile.mkdtemp(prefix="azurite-")
    proc = subprocess.Popen([binary, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", data,
                             "--disableTelemetry", "--skipApiVersionCheck", "--loose", "--silent"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(data, ignore_errors=True)


def test_import_a_page_blob_by_sas_url(azurite, tmp_path):
    original = make_vhd(tmp_path / "blob.vhd", mib=40)
    conn = f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};BlobEndpoint={azurite}/{ACCOUNT};"
    container = BlobServiceClient.from_connection_string(conn).get_container_client("vhds")
    container.create_container()
    blob = container.get_blob_client("os.vhd")
    with open(tmp_path / "blob.vhd", "rb") as fh:
        blob.upload_blob(fh, blob_type=BlobType.PAGEBLOB, length=len(original))
    sas = generate_blob_sas(ACCOUNT, "vhds", "os.vhd", account_key=KEY, permission=BlobSasPermissions(read=True),
                            expiry=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))
    url = f"{blob.url}?{sas}"

    server = Server(os.environ.get("GALLEON_BIN", "target/debug/galleon"), extra=["--import-allow", f"{azurite}/"])
    try:
        c = server.creds
        cred = ClientSecretCredential(c["tenantId"], c["clientId"], c["clientSecret"], authority=server.endpoint,
                                      disable_instance_discovery=True, connection_verify=c["caFile"])
        kw = dict(base_url=server.endpoint, connection_verify=c["caFile"])
        ResourceManagementClient(cred, c["subscriptionId"], **kw).resource_groups.create_or_update("blobRG", {"location": "eastus"})
        compute = ComputeManagementClient(cred, c["subscriptionId"], **kw)
        disk = compute.disks.begin_create_or_update("blobRG", "fromBlob", m.Disk(
            location="eastus", os_type="Linux",
            creation_data=m.CreationData(create_option="Import", source_uri=url,
                                         storage_account_id=f"/subscriptions/{c['subscriptionId']}/resourceGroups/blobRG/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}"))).result()
        assert disk.provisioning_state == "Succeeded"
        access = compute.disks.begin_grant_access("blobRG", "fromBlob", m.GrantAccessData(access="Read", duration_in_seconds=600)).result()
        assert requests.get(access.access_sas, verify=c["caFile"], timeout=60).content == original
        # A URL outside the allow-list is refused when the request arrives.
        with pytest.raises(Exception) as refused:
            compute.disks.begin_create_or_update("blobRG", "elsewhere", m.Disk(location="eastus", creation_data=m.CreationData(
                create_option="Import", source_uri="http://127.0.0.2:9/x.vhd"))).result()
        assert "not allowed" in str(refused.value)
    finally:
        server.stop()
