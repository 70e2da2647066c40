"""Creates the test container on Azurite and the test bucket on an S3 server (standard library
only: the tests start before any venv with the Azure SDK exists).

usage: objectstores_setup.py azure ACCOUNT_URL NAME [CA_FILE]
       objectstores_setup.py s3 URL NAME
"""

import base64
import hashlib
import hmac
import ssl
import sys
import urllib.error
import urllib.request
from email.utils import formatdate

# Azurite's well-known development account (public, documented by Microsoft).
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def create_container(account_url: str, name: str, ca_file=None) -> None:
    date = formatdate(usegmt=True)
    version = "2021-08-06"
    # SharedKey: path-style accounts put the account name in the path, so it appears twice.
    resource = f"/{ACCOUNT}/{ACCOUNT}/{name}\nrestype:container"
    to_sign = "PUT\n" + "\n" * 11 + f"x-ms-date:{date}\nx-ms-version:{version}\n" + resource
    sig = base64.b64encode(hmac.new(base64.b64decode(KEY), to_sign.encode(), hashlib.sha256).digest()).decode()
    req = urllib.request.Request(
        f"{account_url}/{name}?restype=container",
        method="PUT",
        headers={"x-ms-date": date, "x-ms-version": version, "Authorization": f"SharedKey {ACCOUNT}:{sig}"},
    )
    try:
        context = ssl.create_default_context(cafile=ca_file) if ca_file else None
        urllib.request.urlopen(req, timeout=10, context=context).close()
    except urllib.error.HTTPError as e:
        if e.code != 409:  # ContainerAlreadyExists
            raise


def create_bucket(s3_url: str, name: str) -> None:
    # moto does not check signatures.
    req = urllib.request.Request(f"{s3_url}/{name}", method="PUT")
    try:
        urllib.request.urlopen(req, timeout=10).close()
    except urllib.error.HTTPError as e:
        if e.code != 409:  # BucketAlreadyOwnedByYou
            raise


if __name__ == "__main__":
    kind, url, name = sys.argv[1:4]
    if kind == "azure":
        create_container(url, name, sys.argv[4] if len(sys.argv) > 4 else None)
    else:
        create_bucket(url, name)
