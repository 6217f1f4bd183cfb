#!/usr/bin/env python3
"""Creates the demo's Azure network in azure-sandbox through ordinary
Resource Manager calls (a resource group, a virtual network with a subnet)
and prints the shell exports privlink and examples/dedicated-azure.yaml
need. With --count-left, prints how many private endpoints are left in the
subscription instead. Reads AZURE_SANDBOX_URL and the AZURE_* variables."""

import json
import os
import sys
import urllib.parse
import urllib.request

BASE = os.environ["AZURE_SANDBOX_URL"].rstrip("/")
TENANT = os.environ["AZURE_TENANT_ID"]
SUB = os.environ["AZURE_SUBSCRIPTION_ID"]
NETWORK_API = "2024-05-01"


def token():
    form = urllib.parse.urlencode({
        "grant_type": "client_credentials",
        "client_id": os.environ["AZURE_CLIENT_ID"],
        "client_secret": os.environ["AZURE_CLIENT_SECRET"],
        "scope": "https://management.azure.com/.default",
    }).encode()
    with urllib.request.urlopen(f"{BASE}/{TENANT}/oauth2/v2.0/token", form) as r:
        return json.load(r)["access_token"]


def arm(method, path, api, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{BASE}{path}?api-version={api}", data=data, method=method)
    req.add_header("Authorization", f"Bearer {TOKEN}")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req) as r:
        text = r.read()
        return json.loads(text) if text else None


TOKEN = token()
if "--count-left" in sys.argv:
    listed = arm("GET", f"/subscriptions/{SUB}/providers/Microsoft.Network/privateEndpoints", NETWORK_API)
    print(len(listed["value"]))
    sys.exit(0)

group, vnet, location = "rg-demo", "vnet-demo", "eastus2"
arm("PUT", f"/subscriptions/{SUB}/resourcegroups/{group}", "2021-04-01", {"location": location})
vnet_path = f"/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Network/virtualNetworks/{vnet}"
arm("PUT", vnet_path, NETWORK_API, {
    "location": location,
    "properties": {"addressSpace": {"addressPrefixes": ["10.20.0.0/16"]}},
})
arm("PUT", f"{vnet_path}/subnets/default", NETWORK_API, {"properties": {"addressPrefix": "10.20.1.0/24"}})
print(f"export PRIVLINK_AZURE_GROUP={group} PRIVLINK_AZURE_VNET={vnet} "
      f"PRIVLINK_AZURE_SUBNET_ID={vnet_path}/subnets/default")
