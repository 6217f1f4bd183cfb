"""Reads atlas-sandbox's GET /__sandbox/state on stdin and prints how many
serverless private endpoints and endpoint services exist in all projects."""
import json
import sys

state = json.load(sys.stdin)
print(sum(len(p["serverlessEndpoints"]) + len(p["endpointServices"]) for p in state["projects"]))
