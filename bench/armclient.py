"""A minimal ARM client for the benchmark scripts: a token from galleon's token endpoint and
JSON calls over HTTPS with galleon's CA (standard library only)."""

import json
import ssl
import time
import urllib.parse
import urllib.request


class Arm:
    def __init__(self, data_dir, port):
        self.creds = json.load(open(f"{data_dir}/credentials.json"))
        self.ctx = ssl.create_default_context(cafile=self.creds["caFile"])
        self.base = f"https://127.0.0.1:{port}"
        self.sub = self.creds["subscriptionId"]
        self.token = None
        self.token = self.call("POST", f"/{self.creds['tenantId']}/oauth2/v2.0/token", form={
            "grant_type": "client_credentials", "client_id": self.creds["clientId"],
            "client_secret": self.creds["clientSecret"], "scope": "https://management.azure.com/.default"})[2]["access_token"]

    def call(self, method, url, body=None, form=None):
        """(status, lowercase headers, JSON body or None)."""
        data = json.dumps(body).encode() if body is not None else (urllib.parse.urlencode(form).encode() if form else None)
        req = urllib.request.Request(url if url.startswith("http") else self.base + url, data=data, method=method)
        if body is not None:
            req.add_header("content-type", "application/json")
        if self.token:
            req.add_header("authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(req, context=self.ctx) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, json.loads(r.read() or b"null")

    def wait(self, headers, interval=0.02):
        """Polls an operation every `interval` seconds until it ends; fails unless it succeeded."""
        op = headers["azure-asyncoperation"]
        while True:
            s = self.call("GET", op)[2]
            if s["status"] != "InProgress":
                assert s["status"] == "Succeeded", s
                return
            time.sleep(interval)

    def put(self, path, body, interval=0.02):
        """PUT and wait for its operation."""
        self.wait(self.call("PUT", path, body)[1], interval)
