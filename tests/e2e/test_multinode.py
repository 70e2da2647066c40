"""Several `galleon serve` nodes on one PostgreSQL, behind HAProxy, driven by the official Python
SDK through the load balancer only (default polling): shared state across nodes, a replication
finished by another node after kill -9 of the one running it, a paused node fenced out of the job
it lost, and a GET loop that sees no failure while a node dies.

Everything is started here, inside the test's loopback-only namespace: a throwaway PostgreSQL
cluster (scripts/postgres.sh), Azurite (npm; westus2's chunks live in it, the other regions' in
shared directories), two nodes, and HAProxy terminating TLS with the nodes' certificate and
retrying idempotent requests on another node."""

import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.request

import pytest
import requests
from azure.identity import ClientSecretCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute import models as m
from azure.mgmt.resource.resources import ResourceManagementClient

REGIONS = ["eastus", "westus2", "northeurope"]
# The region whose store is Azure Blob Storage (Azurite): the nodes share it through the service.
OBJECT_REGION = "westus2"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
RG = "multiNodeRG"
GALLERY = "sharedGallery"
IMAGE = "def"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, check, timeout=60.0, every=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Node:
    """One `galleon serve` with its own data directory, on the shared database and stores."""

    def __init__(self, cluster, name, tls=None):
        self.cluster, self.name, self.tls = cluster, name, tls
        self.dir = os.path.join(cluster.root, name)
        self.port = free_port()
        self.endpoint = f"https://127.0.0.1:{self.port}"
        os.makedirs(self.dir, exist_ok=True)
        self.proc = None
        self.start()

    def start(self):
        args = [os.path.abspath(os.environ.get("GALLEON_BIN", "target/debug/galleon")), "serve",
                "--config", self.cluster.config, "--data-dir", os.path.join(self.dir, "data"),
                "--listen", f"127.0.0.1:{self.port}", "--node-id", self.name,
                "--public-url", self.cluster.lb_endpoint]
        if self.tls:
            args += ["--tls-cert", self.tls[0], "--tls-key", self.tls[1]]
        self.log = open(os.path.join(self.dir, "serve.log"), "a")
        env = dict(os.environ, RUST_LOG="info")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, ca):
        ctx = ssl.create_default_context(cafile=ca)

        def healthy():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {open(self.log.name).read()}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/healthz", context=ctx, timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False
        wait_until(f"{self.name} to answer", healthy, 30)

    def kill(self, sig=signal.SIGKILL):
        self.proc.send_signal(sig)
        if sig == signal.SIGKILL:
            self.proc.wait(timeout=10)
            self.log.close()

    def restart(self, ca):
        self.start()
        self.wait_ready(ca)

    def logs(self):
        return open(os.path.join(self.dir, "serve.log")).read()


class Cluster:
    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="galleon-multinode-")
        os.chmod(self.root, 0o755)  # the cluster runs as the postgres user when we are root
        self.pg_dir = os.path.join(self.root, "pg")
        self.db = subprocess.run([os.path.join(ROOT, "scripts/postgres.sh"), "start", self.pg_dir, str(free_port())],
                                 check=True, capture_output=True, text=True).stdout.strip()
        self.shared = os.path.join(self.root, "shared")
        self.imports = os.path.join(self.shared, "imports")
        os.makedirs(self.imports)
        self.lb_port = free_port()
        self.lb_endpoint = f"https://127.0.0.1:{self.lb_port}"
        self.config = os.path.join(self.root, "galleon.toml")
        self.azurite, azurite = self._start_azurite()
        stores = "".join(
            f'[[stores]]\nregion = "{r}"\ntype = "Standard_LRS"\nurl = "dir://{self.shared}/stores/{r}/standard_lrs-1"\n'
            for r in REGIONS if r != OBJECT_REGION)
        stores += (f'[[stores]]\nregion = "{OBJECT_REGION}"\ntype = "Standard_LRS"\nurl = "az://galleon/{OBJECT_REGION}"\n'
                   f'account = "devstoreaccount1"\nkey = "{AZURITE_KEY}"\nendpoint = "{azurite}"\nallow_http = true\n')
        with open(self.config, "w") as f:
            f.write(f'regions = {json.dumps(REGIONS)}\nimport_allow = ["file://{self.imports}/"]\n'
                    f'replication_copy = "copy"\nuploads_dir = "{self.shared}/uploads"\n'
                    f'[database]\nurl = "{self.db}"\n{stores}')
        # Node A makes the CA and certificate (for 127.0.0.1); B serves the same one, and
        # HAProxy presents it to clients.
        self.a = Node(self, "node-a")
        tls = os.path.join(self.a.dir, "data", "tls")
        self.ca = os.path.join(tls, "ca.crt")
        wait_until("node-a's certificate", lambda: os.path.exists(os.path.join(self.a.dir, "data", "credentials.json")), 30)
        self.a.wait_ready(self.ca)
        self.b = Node(self, "node-b", tls=(os.path.join(tls, "server.crt"), os.path.join(tls, "server.key")))
        self.b.wait_ready(self.ca)
        self.creds = json.load(open(os.path.join(self.a.dir, "data", "credentials.json")))
        self.haproxy = self._start_haproxy(tls)

    def _start_azurite(self):
        binary = os.environ.get("AZURITE_BLOB", "")
        if not os.path.exists(binary):
            pytest.fail("Azurite is required for the multi-node tests (scripts/e2e.sh installs it)")
        port = free_port()
        proc = subprocess.Popen([binary, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence",
                                 "--disableTelemetry", "--skipApiVersionCheck", "--silent"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        def listening():
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return True
            except OSError:
                return False
        wait_until("Azurite", listening, 30)
        account = f"http://127.0.0.1:{port}/devstoreaccount1"
        subprocess.run(["python3", os.path.join(ROOT, "scripts/objectstores_setup.py"), "azure", account, "galleon"],
                       check=True)
        return proc, account

    def _start_haproxy(self, tls):
        pem = os.path.join(self.root, "lb.pem")
        with open(pem, "w") as f:
            f.write(open(os.path.join(tls, "server.crt")).read() + open(os.path.join(tls, "server.key")).read())
        cfg = os.path.join(self.root, "haproxy.cfg")
        self.haproxy_socket = os.path.join(self.root, "haproxy.sock")
        with open(cfg, "w") as f:
            f.write(f"""global
    maxconn 512
    stats socket {self.haproxy_socket} mode 600 level user
defaults
    mode http
    timeout connect 1s
    timeout client 120s
    timeout server 10s
    # A paused (SIGSTOP) node accepts and never answers: give up after 10 s of silence and retry
    # elsewhere. Downloads stream, so they never sit silent that long.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout 503
frontend lb
    bind 127.0.0.1:{self.lb_port} ssl crt {pem}
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /healthz
    default-server inter 300ms fall 2 rise 2 ssl verify required ca-file {self.ca}
    server a 127.0.0.1:{self.a.port} check
    server b 127.0.0.1:{self.b.port} check
""")
        log = open(os.path.join(self.root, "haproxy.log"), "w")
        proc = subprocess.Popen(["haproxy", "-db", "-f", cfg], stdout=log, stderr=subprocess.STDOUT)
        ctx = ssl.create_default_context(cafile=self.ca)

        def up():
            try:
                with urllib.request.urlopen(f"{self.lb_endpoint}/healthz", context=ctx, timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False
        wait_until("HAProxy", up, 30)
        return proc

    def responses_by_node(self):
        """(2xx, 4xx + 5xx) answers each node gave through HAProxy so far (its stats socket)."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(self.haproxy_socket)
            s.sendall(b"show stat\n")
            out = b""
            while chunk := s.recv(65536):
                out += chunk
        lines = out.decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","))) for line in lines[1:] if line]
        return {r["svname"]: (int(r["hrsp_2xx"] or 0), int(r["hrsp_4xx"] or 0) + int(r["hrsp_5xx"] or 0))
                for r in rows if r["pxname"] == "nodes" and r["svname"] in ("a", "b")}

    def sql(self, query):
        out = subprocess.run(["psql", self.db, "-tA", "-F", "|", "-c", query], check=True, capture_output=True, text=True)
        return [line.split("|") for line in out.stdout.splitlines() if line]

    def node(self, name):
        return {"node-a": self.a, "node-b": self.b}[name]

    def credential(self, authority):
        c = self.creds
        return ClientSecretCredential(c["tenantId"], c["clientId"], c["clientSecret"], authority=authority,
                                      disable_instance_discovery=True, connection_verify=self.ca)

    def compute(self, endpoint, authority=None):
        return ComputeManagementClient(self.credential(authority or self.lb_endpoint), self.creds["subscriptionId"],
                                       base_url=endpoint, connection_verify=self.ca)

    def stop(self):
        self.haproxy.terminate()
        for n in (self.a, self.b):
            if n.proc.poll() is None:
                n.proc.send_signal(signal.SIGCONT)
                n.proc.terminate()
                n.proc.wait(timeout=15)
        subprocess.run([os.path.join(ROOT, "scripts/postgres.sh"), "stop", self.pg_dir], check=False)
        self.azurite.terminate()
        self.azurite.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    if not shutil.which("haproxy"):
        if os.environ.get("GALLEON_REQUIRE_POSTGRES") == "1":
            pytest.fail("haproxy is required for the multi-node tests")
        pytest.skip("haproxy is not installed (scripts/test.sh installs it)")
    c = Cluster()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def gallery(cluster):
    """The gallery and definition the versions below go into."""
    compute = cluster.compute(cluster.lb_endpoint)
    resources = ResourceManagementClient(cluster.credential(cluster.lb_endpoint), cluster.creds["subscriptionId"],
                                         base_url=cluster.lb_endpoint, connection_verify=cluster.ca)
    resources.resource_groups.create_or_update(RG, {"location": "eastus"})
    compute.galleries.begin_create_or_update(RG, GALLERY, m.Gallery(location="eastus")).result()
    compute.gallery_images.begin_create_or_update(RG, GALLERY, IMAGE, m.GalleryImage(
        location="eastus", os_type="Linux", os_state="Generalized", hyper_v_generation="V2",
        identifier=m.GalleryImageIdentifier(publisher="p", offer="o", sku="s"))).result()


def make_source(cluster, name):
    """A disk imported in eastus from a fixed VHD with 256 MiB of fresh incompressible data (so
    no chunk is in the other regions yet), and the VHD's digest: a version from it copies every
    chunk to two more regions."""
    path = os.path.join(cluster.imports, f"{name}.vhd")
    raw = path + ".raw"
    with open(raw, "wb") as f:
        for _ in range(256):
            f.write(os.urandom(1 << 20))
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size=on", raw, path],
                   check=True)
    os.remove(raw)
    digest = sha256_file(path)
    compute = cluster.compute(cluster.lb_endpoint)
    disk = compute.disks.begin_create_or_update(RG, name, m.Disk(
        location="eastus", os_type="Linux", hyper_v_generation="V2",
        creation_data=m.CreationData(create_option="Import", source_uri=f"file://{path}"))).result()
    assert disk.provisioning_state == "Succeeded"
    os.remove(path)
    return disk, digest


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def start_version(cluster, source, name):
    disk, _ = source
    compute = cluster.compute(cluster.lb_endpoint)
    return compute, compute.gallery_image_versions.begin_create_or_update(RG, GALLERY, IMAGE, name, m.GalleryImageVersion(
        location="eastus",
        publishing_profile=m.GalleryImageVersionPublishingProfile(
            target_regions=[m.TargetRegion(name=r) for r in REGIONS]),
        storage_profile=m.GalleryImageVersionStorageProfile(os_disk_image=m.GalleryOSDiskImage(
            source=m.GalleryDiskImageSource(id=disk.id)))))


def running_build(cluster):
    """(owner, epoch) of the version build a node holds, once one does."""
    rows = cluster.sql("SELECT lease_owner, lease_epoch FROM operations "
                       "WHERE job = 'build_version' AND status = 'InProgress' AND lease_owner IS NOT NULL")
    return (rows[0][0], int(rows[0][1])) if rows else None


def assert_every_region_serves_the_source(cluster, compute, source, name):
    _, digest = source
    version = compute.gallery_image_versions.get(RG, GALLERY, IMAGE, name, expand="ReplicationStatus")
    assert version.provisioning_state == "Succeeded"
    assert version.replication_status.aggregated_state == "Completed"
    assert all(s.state == "Completed" and s.progress == 100 for s in version.replication_status.summary)
    for region in REGIONS:
        disk_name = f"from-{name.replace('.', '-')}-{region}"
        compute.disks.begin_create_or_update(RG, disk_name, m.Disk(location=region, creation_data=m.CreationData(
            create_option="FromImage", gallery_image_reference=m.ImageDiskReference(id=version.id)))).result()
        sas = compute.disks.begin_grant_access(RG, disk_name, m.GrantAccessData(access="Read", duration_in_seconds=600)).result()
        h = hashlib.sha256()
        with requests.get(sas.access_sas, verify=cluster.ca, stream=True, timeout=120) as r:
            r.raise_for_status()
            for block in r.iter_content(1 << 20):
                h.update(block)
        assert h.hexdigest() == digest, f"{region}: the disk from {name} is not the source's bytes"
        compute.disks.begin_revoke_access(RG, disk_name).result()
        compute.disks.begin_delete(RG, disk_name).result()


def test_nodes_share_resources_tokens_and_identity(cluster):
    # What one node writes, the other reads; a token issued by A is accepted by B.
    via_a = cluster.compute(cluster.a.endpoint, authority=cluster.a.endpoint)
    via_b = cluster.compute(cluster.b.endpoint, authority=cluster.a.endpoint)
    resources = ResourceManagementClient(cluster.credential(cluster.a.endpoint), cluster.creds["subscriptionId"],
                                         base_url=cluster.a.endpoint, connection_verify=cluster.ca)
    resources.resource_groups.create_or_update("sharedStateRG", {"location": "eastus"})
    via_a.galleries.begin_create_or_update("sharedStateRG", "madeOnA", m.Gallery(location="eastus")).result()
    got = via_b.galleries.get("sharedStateRG", "madeOnA")
    assert got.provisioning_state == "Succeeded"
    via_b.galleries.begin_delete("sharedStateRG", "madeOnA").result()
    assert [g.name for g in via_a.galleries.list_by_resource_group("sharedStateRG")] == []
    # One tenant, one subscription, one admin although both nodes bootstrapped.
    assert cluster.sql("SELECT count(*) FROM docs WHERE kind = 'subscription'") == [["1"]]
    assert cluster.sql("SELECT count(*) FROM docs WHERE kind = 'principal'") == [["1"]]
    assert not os.path.exists(os.path.join(cluster.b.dir, "data", "credentials.json"))
    # The same JWKS on every node.
    keys = [requests.get(f"{n.endpoint}/{cluster.creds['tenantId']}/discovery/v2.0/keys", verify=cluster.ca, timeout=10).json()
            for n in (cluster.a, cluster.b)]
    assert keys[0] == keys[1] and keys[0]["keys"]
    # Both nodes are listed, heard from.
    token = cluster.credential(cluster.lb_endpoint).get_token("https://management.azure.com/.default").token
    nodes = requests.get(f"{cluster.lb_endpoint}/galleon/nodes", headers={"Authorization": f"Bearer {token}"},
                         verify=cluster.ca, timeout=10).json()["value"]
    assert sorted((n["nodeId"], n["state"]) for n in nodes) == [("node-a", "Running"), ("node-b", "Running")]


def test_a_key_rotation_reaches_every_node_before_it_signs(cluster):
    token = cluster.credential(cluster.a.endpoint).get_token("https://management.azure.com/.default").token
    rotated = requests.post(f"{cluster.a.endpoint}/galleon/keys/rotate", headers={"Authorization": f"Bearer {token}"},
                            verify=cluster.ca, timeout=10)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()
    assert new["activeFrom"] - time.time() > 45, "published well before it signs"

    def published_on_b():
        keys = requests.get(f"{cluster.b.endpoint}/{cluster.creds['tenantId']}/discovery/v2.0/keys",
                            verify=cluster.ca, timeout=10).json()["keys"]
        return new["kid"] in [k["kid"] for k in keys]
    wait_until("node-b to publish the new key", published_on_b, 30, 0.5)
    # Tokens signed before the rotation keep working everywhere.
    via_b = cluster.compute(cluster.b.endpoint, authority=cluster.a.endpoint)
    assert isinstance(list(via_b.galleries.list()), list)


def test_a_portal_session_survives_landing_on_another_node(cluster):
    c = cluster.creds
    signin = requests.post(f"{cluster.a.endpoint}/portal/signin", verify=cluster.ca, allow_redirects=False, timeout=10,
                           data={"client_id": c["clientId"], "client_secret": c["clientSecret"], "next": "/portal"})
    assert signin.status_code == 303, signin.text
    cookie = signin.cookies.get("galleon_portal")
    assert cookie
    page = requests.get(f"{cluster.b.endpoint}/portal/galleries", cookies={"galleon_portal": cookie},
                        verify=cluster.ca, allow_redirects=False, timeout=10)
    assert page.status_code == 200, (page.status_code, page.headers.get("location"))
    assert c["clientId"] in page.text
    # Signed out on B, the session is gone on A too.
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    out = requests.post(f"{cluster.b.endpoint}/portal/signout", cookies={"galleon_portal": cookie}, data={"csrf": csrf},
                        headers={"Origin": cluster.b.endpoint}, verify=cluster.ca, allow_redirects=False, timeout=10)
    assert out.status_code == 303
    again = requests.get(f"{cluster.a.endpoint}/portal/galleries", cookies={"galleon_portal": cookie},
                         verify=cluster.ca, allow_redirects=False, timeout=10)
    assert again.status_code == 303 and again.headers["location"].startswith("/portal/signin")


def test_an_upload_spread_over_both_nodes_is_one_disk(cluster, gallery):
    """The Storage SDK's page writes go round-robin through HAProxy, so consecutive pages and
    endGetAccess reach different nodes; they stage in the shared uploads directory."""
    from azure.storage.blob import BlobClient

    compute = cluster.compute(cluster.lb_endpoint)
    data = os.urandom(24 << 20) + bytes(512)
    data = data[:-512] + vhd_footer(len(data) - 512)
    compute.disks.begin_create_or_update(RG, "uploaded", m.Disk(
        location="westus2", os_type="Linux", hyper_v_generation="V2",
        creation_data=m.CreationData(create_option="Upload", upload_size_bytes=len(data)))).result()
    write = compute.disks.begin_grant_access(RG, "uploaded", m.GrantAccessData(access="Write", duration_in_seconds=600)).result()
    before = cluster.responses_by_node()
    BlobClient.from_blob_url(write.access_sas, connection_verify=cluster.ca, max_page_size=4 << 20).upload_blob(
        data, blob_type="PageBlob")
    compute.disks.begin_revoke_access(RG, "uploaded").result()
    served = cluster.responses_by_node()
    # Both nodes took page writes, and neither refused one.
    assert all(served[n][0] - before[n][0] >= 3 and served[n][1] == before[n][1] for n in ("a", "b")), (before, served)
    back = compute.disks.begin_grant_access(RG, "uploaded", m.GrantAccessData(access="Read", duration_in_seconds=600)).result()
    got = BlobClient.from_blob_url(back.access_sas, connection_verify=cluster.ca).download_blob().readall()
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
    compute.disks.begin_revoke_access(RG, "uploaded").result()


def vhd_footer(size):
    """A fixed-VHD footer for `size` bytes of data, made by qemu-img (the reference writer)."""
    with tempfile.TemporaryDirectory() as d:
        raw, vhd = os.path.join(d, "x.raw"), os.path.join(d, "x.vhd")
        with open(raw, "wb") as f:
            f.truncate(size)
        subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size=on", raw, vhd],
                       check=True)
        with open(vhd, "rb") as f:
            f.seek(-512, os.SEEK_END)
            return f.read()


def test_a_killed_nodes_replication_is_finished_by_another(cluster, gallery):
    source = make_source(cluster, "source-1")
    compute, poller = start_version(cluster, source, "1.0.0")
    owner, epoch = wait_until("a node to claim the build", lambda: running_build(cluster), 60, 0.01)
    victim = cluster.node(owner)
    victim.kill()
    # The SDK's poller keeps polling through HAProxy (default interval) and ends without error.
    version = poller.result()
    assert version.provisioning_state == "Succeeded"
    rows = cluster.sql("SELECT status, lease_epoch, attempts FROM operations WHERE job = 'build_version'")
    assert rows[0][0] == "Succeeded" and int(rows[0][1]) > epoch, rows
    assert_every_region_serves_the_source(cluster, compute, source, "1.0.0")
    victim.restart(cluster.ca)


def test_a_paused_node_is_fenced_out_of_the_job_it_lost(cluster, gallery):
    source = make_source(cluster, "source-2")
    compute, poller = start_version(cluster, source, "2.0.0")
    owner, epoch = wait_until("a node to claim the build", lambda: running_build(cluster), 60, 0.01)
    paused = cluster.node(owner)
    paused.kill(signal.SIGSTOP)
    try:
        # Its lease runs out (15 s) and the other node takes the job over under a new claim.
        taken = wait_until("another node to take the build over",
                           lambda: (r := running_build(cluster)) and r[0] != owner and r, 60, 0.1)
        assert taken[1] > epoch
        version = poller.result()
        assert version.provisioning_state == "Succeeded"
    finally:
        paused.kill(signal.SIGCONT)
    # Woken, the paused node finds its lease gone and stops, writing nothing.
    wait_until("the paused node to give the job up", lambda: "lease lost" in paused.logs(), 30, 0.2)
    rows = cluster.sql("SELECT status, lease_epoch FROM operations WHERE job = 'build_version' AND resource_key LIKE '%2.0.0'")
    assert rows == [["Succeeded", str(taken[1])]], rows
    assert_every_region_serves_the_source(cluster, compute, source, "2.0.0")


def test_work_in_flight_finishes_when_every_node_restarts(cluster, gallery):
    source = make_source(cluster, "source-3")
    compute, poller = start_version(cluster, source, "3.0.0")
    wait_until("a node to claim the build", lambda: running_build(cluster), 60, 0.01)
    # Both nodes stop (SIGTERM: each hands its leases back) and start again.
    held = running_build(cluster)
    for node in (cluster.a, cluster.b):
        node.kill(signal.SIGTERM)
    for node in (cluster.a, cluster.b):
        node.proc.wait(timeout=30)
        node.log.close()
    for node in (cluster.a, cluster.b):
        node.restart(cluster.ca)
    # The SDK's poller rides out the gap (HAProxy answers 503 while no node is up).
    version = poller.result()
    assert version.provisioning_state == "Succeeded"
    expanded = compute.gallery_image_versions.get(RG, GALLERY, IMAGE, "3.0.0", expand="ReplicationStatus")
    assert expanded.replication_status.aggregated_state == "Completed"
    if held:
        assert "job leases handed back" in cluster.node(held[0]).logs()


def test_a_get_loop_through_the_load_balancer_survives_a_node_dying(cluster, gallery):
    compute = cluster.compute(cluster.lb_endpoint)
    compute.galleries.get(RG, GALLERY)
    failures, done = [], 0
    stop = threading.Event()

    def loop():
        nonlocal done
        while not stop.is_set():
            try:
                compute.gallery_images.get(RG, GALLERY, IMAGE)
                done += 1
            except Exception as e:  # noqa: BLE001 - every failure counts
                failures.append(repr(e))
    threads = [threading.Thread(target=loop) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    cluster.b.kill()
    time.sleep(3)
    stop.set()
    for t in threads:
        t.join()
    assert failures == [], failures[:3]
    assert done > 50
    cluster.b.restart(cluster.ca)
