"""EC2 realism layer: moto's server app behind a WSGI middleware that makes
its EC2 Query API behave as real EC2 does.

moto answers EC2 as an ideal cloud would: every new object is visible at
once, ClientToken is ignored, interface endpoints are ``available`` at once
and deleting a security group never waits for an endpoint's network
interfaces. This layer keeps moto's answers but adds, per AWS's own
documentation (see README.md beside this file):

- eventual consistency after CreateSecurityGroup / CreateVpcEndpoint;
- an interface endpoint's network interfaces appearing one by one;
- ClientToken idempotency (replay of the original answer, or
  IdempotentParameterMismatch);
- network interfaces lingering after DeleteVpcEndpoints (DependencyViolation
  on DeleteSecurityGroup);
- ``pendingAcceptance`` for endpoints to another account's endpoint service,
  with AcceptVpcEndpointConnections / RejectVpcEndpointConnections.

Non-EC2 requests (S3, moto's own /moto-api/, ...) pass through untouched.
A small JSON control API under /_realism/ reads counters and changes the
settings. Run with moto's own Python:

    .venv/bin/python ec2-realism/ec2_realism.py --host 127.0.0.1 --port 5000
"""

from __future__ import annotations

import argparse
import io
import json
import re
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl, urlencode

#: The namespace of real EC2 answers.
EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
#: The EC2 Query API version the SDKs send.
EC2_VERSION = "2016-11-15"

COUNTER_NAMES = (
    "consistency_not_found",
    "consistency_unlisted",
    "eni_partial",
    "token_replay",
    "token_mismatch",
    "dependency_violation",
    "pending_acceptance",
    "accepted",
    "rejected",
)

#: Actions whose answer creates the id rather than naming an existing one,
#: and the endpoint-connection actions the service owner calls.
EXEMPT_FROM_CONSISTENCY = {
    "CreateSecurityGroup",
    "CreateVpcEndpoint",
    "AcceptVpcEndpointConnections",
    "RejectVpcEndpointConnections",
}

#: Request parameters that name a security group or VPC endpoint by id.
ID_PARAM = re.compile(
    r"^(GroupId(\.\d+)?|VpcEndpointId(\.\d+)?|ResourceId(\.\d+)?|Resource(\.\d+)?"
    r"|IpPermissions\.\d+\.Groups\.\d+\.GroupId)$"
)
#: Filters that name a security group or VPC endpoint by id.
ID_FILTERS = {"group-id", "vpc-endpoint-id"}
SVC_ID = re.compile(r"(vpce-svc-[0-9a-f]+)$")


@dataclass
class Config:
    """The layer's settings, in milliseconds (auto_accept_ms None: off)."""

    consistency_ms: int = 1500
    eni_ms: int = 1500
    linger_ms: int = 3000
    auto_accept_ms: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "consistency_ms": self.consistency_ms,
            "eni_ms": self.eni_ms,
            "linger_ms": self.linger_ms,
            "auto_accept_ms": self.auto_accept_ms,
        }

    def update(self, values: dict[str, Any]) -> None:
        """Sets the fields given; raises ValueError on an unknown or bad one."""
        for key, value in values.items():
            if key not in self.as_json():
                raise ValueError(f"unknown setting {key!r}")
            if value is None and key == "auto_accept_ms":
                self.auto_accept_ms = None
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{key} must be a non-negative integer")
            setattr(self, key, value)


@dataclass
class Endpoint:
    """What the layer remembers of a VPC endpoint created through it."""

    created: float
    service_name: str
    enis: list[str]
    groups: set[str]
    #: pendingAcceptance, available or rejected; None: moto's own state.
    acceptance: str | None = None


@dataclass
class Stored:
    """An answer kept for a ClientToken."""

    signature: tuple[tuple[str, str], ...]
    status: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class Answer:
    """One HTTP answer."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def code(self) -> int:
        return int(self.status.split()[0])


@dataclass
class Ec2Request:
    """The parts of an EC2 Query API request the layer reads."""

    action: str
    params: dict[str, str]
    region: str
    now: float = field(default_factory=time.monotonic)
    #: DescribeVpcEndpoints: the states asked for by a vpc-endpoint-state
    #: filter, which the layer applies itself (moto knows only its own).
    states: set[str] | None = None


def ms_since(then: float, now: float) -> float:
    return (now - then) * 1000.0


def error_answer(code: str, message: str, status: int = 400) -> Answer:
    """Real EC2 error XML."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{code}</Code>"
        f"<Message>{xml_escape(message)}</Message></Error></Errors>"
        f"<RequestID>{uuid.uuid4()}</RequestID></Response>"
    ).encode()
    reason = {400: "Bad Request", 404: "Not Found"}.get(status, "Error")
    return Answer(f"{status} {reason}", [("Content-Type", "text/xml;charset=UTF-8")], body)


def json_answer(value: Any, status: str = "200 OK") -> Answer:
    return Answer(status, [("Content-Type", "application/json")], json.dumps(value).encode())


def xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def not_found(resource_id: str) -> Answer:
    """The NotFound error EC2 gives for an id it does not know (yet)."""
    if resource_id.startswith("vpce-"):
        return error_answer(
            "InvalidVpcEndpointId.NotFound",
            f"The Vpc Endpoint Id '{resource_id}' does not exist",
        )
    return error_answer(
        "InvalidGroup.NotFound", f"The security group '{resource_id}' does not exist"
    )


def region_of(environ: dict[str, Any]) -> tuple[str | None, str]:
    """(service, region) from the SigV4 Authorization header."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = re.search(r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/aws4_request", auth)
    if m:
        return m.group(2), m.group(1)
    return None, "us-east-1"


def named_ids(params: dict[str, str]) -> list[str]:
    """Every security group or VPC endpoint id the request names."""
    ids = [v for k, v in params.items() if ID_PARAM.match(k)]
    for key, name in params.items():
        m = re.match(r"^Filter\.(\d+)\.Name$", key)
        if m and name in ID_FILTERS:
            prefix = f"Filter.{m.group(1)}.Value."
            ids += [v for k, v in params.items() if k.startswith(prefix)]
    return [i for i in ids if i.startswith(("sg-", "vpce-"))]


def names_by_id(params: dict[str, str], action: str) -> bool:
    """Whether a Describe call lists objects by id (rather than all/filtered)."""
    keys = {"DescribeSecurityGroups": "GroupId.", "DescribeVpcEndpoints": "VpcEndpointId."}
    prefix = keys.get(action)
    return prefix is not None and any(k.startswith(prefix) for k in params)


def signature(params: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in params.items() if k != "ClientToken"))


def take_state_filter(environ: dict[str, Any], req: Ec2Request) -> None:
    """Moves a vpc-endpoint-state filter out of the request sent to moto
    (renumbering the other filters) into req.states."""
    numbers = [
        m.group(1)
        for k, v in req.params.items()
        if (m := re.match(r"^Filter\.(\d+)\.Name$", k)) and v == "vpc-endpoint-state"
    ]
    if not numbers:
        return
    states: set[str] = set()
    kept: dict[str, str] = {}
    filters: dict[str, dict[str, str]] = {}
    for key, value in req.params.items():
        m = re.match(r"^Filter\.(\d+)\.(.*)$", key)
        if m is None:
            kept[key] = value
        elif m.group(1) in numbers:
            if m.group(2).startswith("Value."):
                states.add(value)
        else:
            filters.setdefault(m.group(1), {})[m.group(2)] = value
    for n, (_, parts) in enumerate(sorted(filters.items(), key=lambda f: int(f[0])), start=1):
        kept.update({f"Filter.{n}.{rest}": v for rest, v in parts.items()})
    body = urlencode(kept).encode()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded; charset=utf-8"
    environ["QUERY_STRING"] = ""
    req.states = states


def parse_xml(body: bytes) -> tuple[ET.Element, str] | None:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    return root, ns


def to_bytes(root: ET.Element, ns: str) -> bytes:
    text = ET.tostring(root, encoding="unicode", default_namespace=ns or None)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text).encode()


def q(ns: str, path: str) -> str:
    """An ElementTree path with every step in namespace ns."""
    if not ns:
        return path
    return "/".join(s if s in (".", "..") else f"{{{ns}}}{s}" for s in path.split("/"))


class Realism:
    """The middleware and the state it keeps (one lock guards it all)."""

    def __init__(self, app: Callable, config: Config):
        self.app = app
        self.config = config
        self.lock = threading.RLock()
        #: Serializes requests carrying a ClientToken, so a retry waits
        #: for the first call's answer.
        self.token_lock = threading.Lock()
        self.counters = dict.fromkeys(COUNTER_NAMES, 0)
        self.clear()

    def clear(self) -> None:
        """Forgets every object (moto was reset); keeps counters and settings."""
        with self.lock:
            self.born: dict[str, float] = {}
            self.endpoints: dict[str, Endpoint] = {}
            self.tokens: dict[tuple[str, str, str], Stored] = {}
            self.linger: dict[str, float] = {}
            self.own_services: set[str] = set()

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counters[name] += n

    # ---- WSGI ---------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_realism/"):
            return self.respond(self.control(environ, path), start_response)
        if path == "/moto-api/reset" and environ.get("REQUEST_METHOD") == "POST":
            self.clear()
            return self.app(environ, start_response)
        request = self.ec2_request(environ)
        if request is None:
            return self.app(environ, start_response)
        return self.respond(self.handle(environ, request), start_response)

    def respond(self, answer: Answer, start_response: Callable) -> Iterable[bytes]:
        headers = [(k, v) for k, v in answer.headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(answer.body))))
        start_response(answer.status, headers)
        return [answer.body]

    def ec2_request(self, environ: dict[str, Any]) -> Ec2Request | None:
        """Reads the body of an EC2 Query API request (and puts it back)."""
        service, region = region_of(environ)
        if service not in (None, "ec2"):
            return None
        ctype = environ.get("CONTENT_TYPE", "")
        body = b""
        if ctype.startswith("application/x-www-form-urlencoded"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        params = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if "Action" not in params or (service is None and params.get("Version") != EC2_VERSION):
            return None
        return Ec2Request(params["Action"], params, region)

    def forward(self, environ: dict[str, Any]) -> Answer:
        """Calls moto; returns its whole answer."""
        got: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            got["status"], got["headers"] = status, list(headers)

        result = self.app(environ, start)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        return Answer(got["status"], got["headers"], body)

    # ---- control API --------------------------------------------------

    def control(self, environ: dict[str, Any], path: str) -> Answer:
        method = environ.get("REQUEST_METHOD", "GET")
        with self.lock:
            if path == "/_realism/counters" and method == "GET":
                return json_answer(dict(self.counters))
            if path == "/_realism/reset-counters" and method == "POST":
                self.counters = dict.fromkeys(COUNTER_NAMES, 0)
                return json_answer(dict(self.counters))
            if path == "/_realism/config" and method == "GET":
                return json_answer(self.config.as_json())
            if path == "/_realism/config" and method in ("PUT", "POST"):
                length = int(environ.get("CONTENT_LENGTH") or 0)
                raw = environ["wsgi.input"].read(length) if length else b"{}"
                try:
                    values = json.loads(raw or b"{}")
                    if not isinstance(values, dict):
                        raise ValueError("expected a JSON object")
                    self.config.update(values)
                except ValueError as e:
                    return json_answer({"error": str(e)}, "400 Bad Request")
                return json_answer(self.config.as_json())
        return json_answer({"error": f"no {method} {path}"}, "404 Not Found")

    # ---- EC2 ----------------------------------------------------------

    def handle(self, environ: dict[str, Any], req: Ec2Request) -> Answer:
        if req.action == "AcceptVpcEndpointConnections":
            return self.connections(req, accept=True)
        if req.action == "RejectVpcEndpointConnections":
            return self.connections(req, accept=False)
        token = req.params.get("ClientToken")
        if token:
            with self.token_lock:
                return self.with_token(environ, req, token)
        return self.plain(environ, req)

    def with_token(self, environ: dict[str, Any], req: Ec2Request, token: str) -> Answer:
        """ClientToken idempotency: replay, mismatch, or a first call."""
        key = (req.region, req.action, token)
        sig = signature(req.params)
        with self.lock:
            stored = self.tokens.get(key)
        if stored is not None:
            if stored.signature == sig:
                self.count("token_replay")
                return Answer(stored.status, stored.headers, stored.body)
            self.count("token_mismatch")
            return error_answer(
                "IdempotentParameterMismatch",
                f"The client token '{token}' was used before with different parameters; "
                "a client token must be unique for each request",
            )
        answer = self.plain(environ, req)
        if answer.code == 200:
            with self.lock:
                self.tokens[key] = Stored(sig, answer.status, answer.headers, answer.body)
        return answer

    def plain(self, environ: dict[str, Any], req: Ec2Request) -> Answer:
        # A request that waited for the token lock is timed from now.
        req.now = time.monotonic()
        refused = self.refuse(req)
        if refused is not None:
            return refused
        if req.action == "DescribeVpcEndpoints":
            take_state_filter(environ, req)
        answer = self.forward(environ)
        if answer.code != 200:
            return answer
        return self.after(req, answer)

    def refuse(self, req: Ec2Request) -> Answer | None:
        """The error real EC2 gives before doing anything, if any."""
        with self.lock:
            if req.action == "DeleteSecurityGroup":
                group = req.params.get("GroupId", "")
                until = self.linger.get(group)
                if until is not None and req.now < until:
                    self.counters["dependency_violation"] += 1
                    return error_answer(
                        "DependencyViolation", f"resource {group} has a dependent object"
                    )
            if req.action in EXEMPT_FROM_CONSISTENCY:
                return None
            for rid in named_ids(req.params):
                born = self.born.get(rid)
                if born is not None and ms_since(born, req.now) < self.config.consistency_ms:
                    self.counters["consistency_not_found"] += 1
                    return not_found(rid)
        return None

    def after(self, req: Ec2Request, answer: Answer) -> Answer:
        """Records what a successful call created or deleted; rewrites listings."""
        handler = {
            "CreateSecurityGroup": self.created_group,
            "CreateVpcEndpoint": self.created_endpoint,
            "CreateVpcEndpointServiceConfiguration": self.created_service,
            "ModifyVpcEndpoint": self.modified_endpoint,
            "DeleteVpcEndpoints": self.deleted_endpoints,
            "DescribeSecurityGroups": self.describe_groups,
            "DescribeVpcEndpoints": self.describe_endpoints,
            "DescribeNetworkInterfaces": self.describe_enis,
        }.get(req.action)
        if handler is None:
            return answer
        parsed = parse_xml(answer.body)
        if parsed is None:
            return answer
        with self.lock:
            body = handler(req, *parsed)
        if body is None:
            return answer
        return Answer(answer.status, answer.headers, body)

    # ---- recording ------------------------------------------------------

    def created_group(self, req: Ec2Request, root: ET.Element, ns: str) -> bytes | None:
        group = root.findtext(q(ns, "groupId"))
        if group:
            self.born[group] = req.now
        return None

    def created_service(self, req: Ec2Request, root: ET.Element, ns: str) -> bytes | None:
        for path in ("serviceConfiguration/serviceId", "serviceConfiguration/serviceName"):
            value = root.findtext(q(ns, path))
            if value:
                self.own_services.add(value)
        return None

    def needs_acceptance(self, req: Ec2Request, service_name: str) -> bool:
        """Another account's endpoint service: the owner accepts the connection."""
        kind = req.params.get("VpcEndpointType", "Gateway")
        m = SVC_ID.search(service_name)
        if kind not in ("Interface", "GatewayLoadBalancer") or m is None:
            return False
        return m.group(1) not in self.own_services and service_name not in self.own_services

    def created_endpoint(self, req: Ec2Request, root: ET.Element, ns: str) -> bytes | None:
        item = root.find(q(ns, "vpcEndpoint"))
        vpce = item.findtext(q(ns, "vpcEndpointId")) if item is not None else None
        if item is None or not vpce:
            return None
        service = item.findtext(q(ns, "serviceName")) or ""
        endpoint = Endpoint(
            created=req.now,
            service_name=service,
            enis=[e.text or "" for e in item.findall(q(ns, "networkInterfaceIdSet/item"))],
            groups={g.text or "" for g in item.findall(q(ns, "groupSet/item/groupId"))},
        )
        self.born[vpce] = req.now
        self.endpoints[vpce] = endpoint
        if not self.needs_acceptance(req, service):
            return None
        endpoint.acceptance = "pendingAcceptance"
        self.counters["pending_acceptance"] += 1
        state = item.find(q(ns, "state"))
        if state is not None:
            state.text = "pendingAcceptance"
        return to_bytes(root, ns)

    def modified_endpoint(self, req: Ec2Request, root: ET.Element, ns: str) -> bytes | None:
        endpoint = self.endpoints.get(req.params.get("VpcEndpointId", ""))
        if endpoint is not None:
            for key, value in req.params.items():
                if key.startswith("AddSecurityGroupId."):
                    endpoint.groups.add(value)
                elif key.startswith("RemoveSecurityGroupId."):
                    endpoint.groups.discard(value)
        return None

    def deleted_endpoints(self, req: Ec2Request, root: ET.Element, ns: str) -> bytes | None:
        failed = {e.text for e in root.iter() if e.tag.endswith("resourceId")}
        until = req.now + self.config.linger_ms / 1000.0
        for key, vpce in req.params.items():
            if not key.startswith("VpcEndpointId.") or vpce in failed:
                continue
            endpoint = self.endpoints.pop(vpce, None)
            if endpoint is None:
                continue
            for group in endpoint.groups:
                self.linger[group] = max(until, self.linger.get(group, 0.0))
        return None

    # ---- listings -------------------------------------------------------

    def young(self, rid: str | None, now: float) -> bool:
        born = self.born.get(rid or "")
        return born is not None and ms_since(born, now) < self.config.consistency_ms

    def hidden_enis(self, now: float) -> set[str]:
        """Network interfaces of endpoints too new to show them all."""
        hidden: set[str] = set()
        for endpoint in self.endpoints.values():
            if ms_since(endpoint.created, now) < self.config.eni_ms:
                hidden.update(endpoint.enis[1:])
        return hidden

    def acceptance(self, vpce: str, now: float) -> str | None:
        """The endpoint's connection state, accepting it when auto-accept is due."""
        endpoint = self.endpoints.get(vpce)
        if endpoint is None:
            return None
        auto = self.config.auto_accept_ms
        if (
            endpoint.acceptance == "pendingAcceptance"
            and auto is not None
            and ms_since(endpoint.created, now) >= auto
        ):
            endpoint.acceptance = "available"
            self.counters["accepted"] += 1
        return endpoint.acceptance

    def unlist(self, root: ET.Element, ns: str, set_path: str, id_tag: str, req: Ec2Request) -> int:
        """Drops the items of a listing whose id is too new to be listed."""
        dropped = 0
        if names_by_id(req.params, req.action):
            return 0
        for parent in root.findall(q(ns, set_path)):
            for item in list(parent):
                if self.young(item.findtext(q(ns, id_tag)), req.now):
                    parent.remove(item)
                    dropped += 1
        self.counters["consistency_unlisted"] += dropped
        return dropped

    def describe_groups(self, req: Ec2Request, root: ET.Element, ns: str) -> bytes | None:
        if self.unlist(root, ns, "securityGroupInfo", "groupId", req):
            return to_bytes(root, ns)
        return None

    def describe_endpoints(self, req: Ec2Request, root: ET.Element, ns: str) -> bytes | None:
        changed = self.unlist(root, ns, "vpcEndpointSet", "vpcEndpointId", req) > 0
        hidden = self.hidden_enis(req.now)
        partial = 0
        for parent in root.findall(q(ns, "vpcEndpointSet")):
            for item in list(parent):
                vpce = item.findtext(q(ns, "vpcEndpointId")) or ""
                state = self.acceptance(vpce, req.now)
                node = item.find(q(ns, "state"))
                if state is not None and node is not None and node.text != "deleted":
                    changed |= node.text != state
                    node.text = state
                if req.states is not None and (node is None or node.text not in req.states):
                    parent.remove(item)
                    changed = True
                    continue
                enis = item.find(q(ns, "networkInterfaceIdSet"))
                drop = [e for e in (enis if enis is not None else []) if e.text in hidden]
                for e in drop:
                    enis.remove(e)  # type: ignore[union-attr]
                partial += bool(drop)
        self.counters["eni_partial"] += partial
        return to_bytes(root, ns) if changed or partial else None

    def describe_enis(self, req: Ec2Request, root: ET.Element, ns: str) -> bytes | None:
        hidden = self.hidden_enis(req.now)
        dropped = 0
        for parent in root.findall(q(ns, "networkInterfaceSet")):
            for item in list(parent):
                if item.findtext(q(ns, "networkInterfaceId")) in hidden:
                    parent.remove(item)
                    dropped += 1
        if not dropped:
            return None
        self.counters["eni_partial"] += 1
        return to_bytes(root, ns)

    # ---- endpoint connections ---------------------------------------------

    def connections(self, req: Ec2Request, accept: bool) -> Answer:
        """AcceptVpcEndpointConnections / RejectVpcEndpointConnections."""
        service = req.params.get("ServiceId", "")
        failures: list[tuple[str, str, str]] = []
        with self.lock:
            for key, vpce in sorted(req.params.items()):
                if not key.startswith("VpcEndpointId."):
                    continue
                failure = self.connect_one(vpce, service, accept, req.now)
                if failure is not None:
                    failures.append((vpce, *failure))
        action = req.action
        items = "".join(
            f"<item><error><code>{code}</code><message>{xml_escape(msg)}</message></error>"
            f"<resourceId>{vpce}</resourceId></item>"
            for vpce, code, msg in failures
        )
        unsuccessful = f"<unsuccessful>{items}</unsuccessful>" if items else "<unsuccessful/>"
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<{action}Response xmlns="{EC2_NS}"><requestId>{uuid.uuid4()}</requestId>'
            f"{unsuccessful}</{action}Response>"
        ).encode()
        return Answer("200 OK", [("Content-Type", "text/xml;charset=UTF-8")], body)

    def connect_one(
        self, vpce: str, service: str, accept: bool, now: float
    ) -> tuple[str, str] | None:
        """Accepts or rejects one connection; returns (code, message) on failure."""
        endpoint = self.endpoints.get(vpce)
        m = SVC_ID.search(endpoint.service_name) if endpoint else None
        if endpoint is None or (service and (m is None or m.group(1) != service)):
            return (
                "InvalidVpcEndpointId.NotFound",
                f"The Vpc Endpoint Id '{vpce}' does not exist for service '{service}'",
            )
        state = self.acceptance(vpce, now)
        if accept and state != "pendingAcceptance":
            return ("InvalidState", f"Endpoint {vpce} is not in pendingAcceptance state ({state})")
        if not accept and state == "rejected":
            return ("InvalidState", f"Endpoint {vpce} is already rejected")
        endpoint.acceptance = "available" if accept else "rejected"
        self.counters["accepted" if accept else "rejected"] += 1
        return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    parser.add_argument("--consistency-ms", type=int, default=1500)
    parser.add_argument("--eni-ms", type=int, default=1500)
    parser.add_argument("--linger-ms", type=int, default=3000)
    parser.add_argument("--auto-accept-ms", type=int, default=None)
    args = parser.parse_args(argv)

    from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import run_simple

    config = Config(args.consistency_ms, args.eni_ms, args.linger_ms, args.auto_accept_ms)
    app = Realism(DomainDispatcherApplication(create_backend_app), config)
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
