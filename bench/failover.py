#!/usr/bin/env python3
"""Failover time: two release `galleon serve` nodes on one PostgreSQL with shared directory
stores; a version of a disk with 256 MiB of fresh random data is published to three regions
(real copies). In each measured run the node holding the build's lease is killed (SIGKILL) as
soon as it claims it; printed: kill -> another node claims the job (lease epoch + 1), and kill ->
version Succeeded. Reference, measured in the same runs: the same publication with no kill
(PUT -> Succeeded). Median of RUNS runs with min and max. Standard library only.

Usage: bench/failover.py [runs, default 3]"""

import json
import os
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGIONS = ["eastus", "westus2", "northeurope"]
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 3


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Bench:
    def __init__(self):
        subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "galleon"], cwd=ROOT, check=True)
        self.root = tempfile.mkdtemp(prefix="galleon-failover-", dir="/var/tmp")
        os.chmod(self.root, 0o755)
        self.db = subprocess.run([f"{ROOT}/scripts/postgres.sh", "start", f"{self.root}/pg", str(free_port())],
                                 check=True, capture_output=True, text=True).stdout.strip()
        self.imports = f"{self.root}/shared/imports"
        os.makedirs(self.imports)
        stores = "".join(f'[[stores]]\nregion = "{r}"\ntype = "Standard_LRS"\n'
                         f'url = "dir://{self.root}/shared/stores/{r}"\n' for r in REGIONS)
        self.config = f"{self.root}/galleon.toml"
        with open(self.config, "w") as f:
            f.write(f'regions = {json.dumps(REGIONS)}\nimport_allow = ["file://{self.imports}/"]\n'
                    f'replication_copy = "copy"\n[database]\nurl = "{self.db}"\n{stores}')
        self.ports = {"a": free_port(), "b": free_port()}
        self.procs = {}
        self.start("a")
        self.ca = f"{self.root}/a/tls/ca.crt"
        self.wait("a")
        self.start("b")
        self.wait("b")
        self.creds = json.load(open(f"{self.root}/a/credentials.json"))
        self.ctx = ssl.create_default_context(cafile=self.ca)
        self.token = self.get_token()
        sub = self.creds["subscriptionId"]
        self.rg = f"/subscriptions/{sub}/resourceGroups/failoverRG"
        self.arm("PUT", self.rg, {"location": "eastus"}, "2021-04-01")
        gal = f"{self.rg}/providers/Microsoft.Compute/galleries/g"
        self.arm("PUT", gal, {"location": "eastus"}, "2024-03-03")
        self.wait_succeeded(gal, "2024-03-03")
        self.definition = f"{gal}/images/d"
        self.arm("PUT", self.definition, {"location": "eastus", "properties": {
            "osType": "Linux", "osState": "Generalized", "hyperVGeneration": "V2",
            "identifier": {"publisher": "p", "offer": "o", "sku": "s"}}}, "2024-03-03")
        self.wait_succeeded(self.definition, "2024-03-03")

    def start(self, name):
        tls = []
        if name == "b":
            tls = ["--tls-cert", f"{self.root}/a/tls/server.crt", "--tls-key", f"{self.root}/a/tls/server.key"]
        log = open(f"{self.root}/{name}.log", "a")
        self.procs[name] = subprocess.Popen(
            [f"{ROOT}/target/release/galleon", "serve", "--config", self.config, "--data-dir", f"{self.root}/{name}",
             "--listen", f"127.0.0.1:{self.ports[name]}", "--node-id", name, *tls], stdout=log, stderr=subprocess.STDOUT)

    def wait(self, name):
        ctx = ssl.create_default_context(cafile=self.ca) if os.path.exists(self.ca) else None
        for _ in range(300):
            if ctx is None and os.path.exists(self.ca):
                ctx = ssl.create_default_context(cafile=self.ca)
            try:
                if ctx and urllib.request.urlopen(f"https://127.0.0.1:{self.ports[name]}/healthz", context=ctx, timeout=2):
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"node {name} did not start")

    def live(self):
        return next(n for n, p in self.procs.items() if p.poll() is None)

    def get_token(self):
        c = self.creds
        form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": c["clientId"],
                                       "client_secret": c["clientSecret"],
                                       "scope": "https://management.azure.com/.default"}).encode()
        url = f"https://127.0.0.1:{self.ports['a']}/{c['tenantId']}/oauth2/v2.0/token"
        return json.load(urllib.request.urlopen(url, form, context=self.ctx))["access_token"]

    def arm(self, method, path, body=None, api="2024-03-03"):
        url = f"https://127.0.0.1:{self.ports[self.live()]}{path}?api-version={api}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
            return json.load(r) if r.status != 204 else None

    def wait_succeeded(self, path, api, timeout=600):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                state = self.arm("GET", path, api=api)["properties"]["provisioningState"]
            except OSError:
                state = None
            if state == "Succeeded":
                return time.time()
            if state == "Failed":
                raise RuntimeError(f"{path} failed")
            time.sleep(0.05)
        raise RuntimeError(f"{path} did not succeed")

    def sql(self, query):
        out = subprocess.run(["psql", self.db, "-tA", "-F", "|", "-c", query], check=True, capture_output=True, text=True)
        return [line.split("|") for line in out.stdout.splitlines() if line]

    def source(self, n):
        """A disk imported from a VHD with 256 MiB of fresh random data."""
        path = f"{self.imports}/src{n}.vhd"
        with open(path + ".raw", "wb") as f:
            for _ in range(256):
                f.write(os.urandom(1 << 20))
        subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size=on",
                        path + ".raw", path], check=True)
        os.remove(path + ".raw")
        disk = f"{self.rg}/providers/Microsoft.Compute/disks/src{n}"
        self.arm("PUT", disk, {"location": "eastus", "properties": {"osType": "Linux", "hyperVGeneration": "V2",
                 "creationData": {"createOption": "Import", "sourceUri": f"file://{path}"}}}, "2024-03-02")
        self.wait_succeeded(disk, "2024-03-02")
        os.remove(path)
        return disk

    def publish(self, n, kill):
        disk = self.source(n)
        version = f"{self.definition}/versions/1.0.{n}"
        t0 = time.time()
        self.arm("PUT", version, {"location": "eastus", "properties": {
            "publishingProfile": {"targetRegions": [{"name": r} for r in REGIONS]},
            "storageProfile": {"osDiskImage": {"source": {"id": disk}}}}})
        if not kill:
            return {"reference": self.wait_succeeded(version, "2024-03-03") - t0}
        query = ("SELECT lease_owner, lease_epoch FROM operations WHERE job = 'build_version' "
                 "AND status = 'InProgress' AND lease_owner IS NOT NULL")
        while not (rows := self.sql(query)):
            time.sleep(0.005)
        owner, epoch = rows[0][0], int(rows[0][1])
        self.procs[owner].send_signal(signal.SIGKILL)
        self.procs[owner].wait()
        t_kill = time.time()
        while True:
            rows = self.sql("SELECT lease_owner, lease_epoch, status FROM operations WHERE job = 'build_version' "
                            f"AND resource_key LIKE '%1.0.{n}'")
            if rows and (rows[0][2] != "InProgress" or (rows[0][0] not in ("", owner) and int(rows[0][1]) > epoch)):
                break
            time.sleep(0.01)
        t_claim = time.time()
        t_done = self.wait_succeeded(version, "2024-03-03")
        self.start(owner)
        self.wait(owner)
        return {"kill -> claimed by the other node": t_claim - t_kill, "kill -> Succeeded": t_done - t_kill,
                "PUT -> Succeeded (with the kill)": t_done - t0}

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
                p.wait()
        subprocess.run([f"{ROOT}/scripts/postgres.sh", "stop", f"{self.root}/pg"], check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def main():
    bench = Bench()
    results = {}
    try:
        n = 0
        for _ in range(RUNS):
            for kill in (False, True):
                n += 1
                for k, v in bench.publish(n, kill).items():
                    results.setdefault(k, []).append(v)
    finally:
        bench.stop()
    print(f"two nodes, one PostgreSQL, 256 MiB of data to 3 regions (real copies); {RUNS} runs; lease 15 s")
    for k, xs in results.items():
        print(f"{k:36} median {statistics.median(xs):6.2f} s   (min {min(xs):.2f}, max {max(xs):.2f})")


if __name__ == "__main__":
    main()
