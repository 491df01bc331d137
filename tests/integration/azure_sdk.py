#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""azure_sdk.py: what Azure's own SDK (azure-storage-blob, Debian's
python3-azure) sees of the blobs vigil wrote, for it_azure.sh.

    azure_sdk.py CONNECTION-STRING CONTAINER list PREFIX
        one line per blob: name, size
    azure_sdk.py CONNECTION-STRING CONTAINER get BLOB OUT
        download BLOB into the file OUT

Exit 0 on success; 1 with the SDK's message otherwise.
"""
import sys

from azure.storage.blob import BlobServiceClient


def main():
    conn, container, verb = sys.argv[1:4]
    svc = BlobServiceClient.from_connection_string(conn)
    cc = svc.get_container_client(container)
    if verb == "list":
        for b in cc.list_blobs(name_starts_with=sys.argv[4]):
            print("%s %d" % (b.name, b.size))
        return 0
    if verb == "get":
        with open(sys.argv[5], "wb") as f:
            cc.download_blob(sys.argv[4]).readinto(f)
        return 0
    print("azure_sdk.py: unknown verb %s" % verb, file=sys.stderr)
    return 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # the SDK's own message, once
        print("azure_sdk.py: %s" % str(e).splitlines()[0], file=sys.stderr)
        sys.exit(1)
