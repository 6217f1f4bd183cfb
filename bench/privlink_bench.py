"""Benchmark driver for privlink against atlas-sandbox and moto_server.

Run through scripts/bench.sh, which installs moto, builds release binaries,
starts the two servers on loopback and passes their addresses here in the
environment (SANDBOX_URL, MOTO_URL, SLOW_SANDBOX_URL, PRIVLINK).

Measures the five items of BENCHMARKS.md:
  1. a no-change plan: Atlas calls (sandbox request log), EC2 calls (a
     counting proxy in front of moto), wall time and peak RSS, for generated files of N endpoints,
     and each cloud read's duration (privlink's log) beside the plan's wall time;
  2. apply wall time for K independent endpoints against one endpoint's chain,
     at the default parallelism and at --parallelism 1;
  3. Atlas requests per endpoint per minute while K endpoints wait, against
     the documented rate limits, and an apply under a tight rate limit (429s);
  4. `privlink validate` start-up time on a 1000-endpoint file;
  5. detection lag: from the moment the sandbox's transition log says a state
     was due to the moment privlink's wait saw it, for step delays of 2, 20 and 120 s.
and writes the Markdown report.
"""

from __future__ import annotations

import argparse
import re
import threading
import urllib.error
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import base64
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import boto3

REGIONS = ["us-east-1", "us-west-2"]  # dedicated regions; serverless lives in us-east-1
SERVERLESS_INSTANCES = 4  # M
DEFAULT_PARALLELISM = 10

# Documented Atlas limits (../shared/atlas/API.md section 5 and the
# "Private Endpoint Services" endpoint set): token bucket per project.
BUCKET_CAPACITY = 4000
BUCKET_REFILL_PER_MIN = 2000
LEGACY_PER_MIN = 100
# privlink's own shared request budget (ClientOptions::default() in
# src/providers/atlas/mod.rs).
CLIENT_BUDGET = "30/s, burst 50"


def log(msg: str) -> None:
    print(f"==> {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- HTTP helpers


def http(method: str, url: str, body: object | None = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=120) as r:
        text = r.read()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text.decode(errors="replace")


class Sandbox:
    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def delays(self, reserve_ms: int, connect_ms: int, delete_ms: int = 200) -> None:
        http(
            "PUT",
            f"{self.url}/__sandbox/delays",
            {"reserve_ms": reserve_ms, "connect_ms": connect_ms, "delete_ms": delete_ms},
        )

    def latency(self, ms: int) -> None:
        """Every API answer `ms` later (the sandbox's fault settings)."""
        http("PUT", f"{self.url}/__sandbox/faults", {"latency_ms": ms})

    def instance(self, project: str, name: str, region: str = "US_EAST_1") -> None:
        http(
            "POST",
            f"{self.url}/__sandbox/serverless-instances",
            {"project": project, "name": name, "region": region},
        )

    def cluster(self, project: str, name: str, region: str) -> None:
        http(
            "POST",
            f"{self.url}/__sandbox/clusters",
            {"project": project, "name": name, "region": region},
        )

    def clear_requests(self) -> None:
        http("DELETE", f"{self.url}/__sandbox/requests")

    def requests(self) -> list[dict]:
        return http("GET", f"{self.url}/__sandbox/requests")  # type: ignore[return-value]

    def transitions(self) -> list[dict]:
        return http("GET", f"{self.url}/__sandbox/transitions")  # type: ignore[return-value]

    def clear_transitions(self) -> None:
        http("DELETE", f"{self.url}/__sandbox/transitions")


class Moto:
    """moto_server, and a counting proxy in front of it for privlink's calls.

    moto's own request recorder appends each request to a file from several
    threads at once; privlink reads EC2 concurrently, and large records were
    seen interleaved. The proxy counts each forwarded request in one place."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.calls: list[dict] = []
        self.lock = threading.Lock()
        self.recording = False
        moto = self

        class Forward(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                self.forward("POST")

            def do_GET(self):
                self.forward("GET")

            def forward(self, method: str):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if moto.recording:
                    params = urllib.parse.parse_qs(body.decode(errors="replace"))
                    auth = self.headers.get("Authorization", "")
                    region = auth.split("Credential=")[1].split("/")[2] if "Credential=" in auth else "?"
                    with moto.lock:
                        moto.calls.append({"action": params.get("Action", ["?"])[0], "region": region})
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "connection")}
                req = urllib.request.Request(moto.url + self.path, data=body if method == "POST" else None, headers=headers, method=method)
                try:
                    with urllib.request.urlopen(req, timeout=300) as r:
                        status, out, rh = r.status, r.read(), r.headers
                except urllib.error.HTTPError as e:
                    status, out, rh = e.code, e.read(), e.headers
                self.send_response(status)
                for k, v in rh.items():
                    if k.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.proxy = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
        self.proxy.daemon_threads = True
        self.proxy_url = f"http://127.0.0.1:{self.proxy.server_address[1]}"
        threading.Thread(target=self.proxy.serve_forever, daemon=True).start()

    def start_recording(self) -> None:
        with self.lock:
            self.calls = []
        self.recording = True

    def stop_recording(self) -> list[dict]:
        """The EC2 calls that went through the proxy, as (action, region) dicts."""
        self.recording = False
        with self.lock:
            return list(self.calls)


# ---------------------------------------------------------------- moto fixture


@dataclass
class Network:
    vpc: str
    subnets: list[str]
    client_sg: str


class ClientGroups:
    """Client security groups for one file: EC2 (and moto) allow 60 rules per
    group, and each endpoint adds two egress rules, so every
    ENDPOINTS_PER_CLIENT_GROUP endpoints of a region get a fresh group."""

    ENDPOINTS_PER_CLIENT_GROUP = 20

    def __init__(self, moto_url: str, nets: dict[str, Network], tag: str):
        self.moto_url = moto_url
        self.nets = nets
        self.tag = tag
        self.current: dict[str, tuple[str, int]] = {}

    def take(self, region: str) -> str:
        group, used = self.current.get(region, ("", self.ENDPOINTS_PER_CLIENT_GROUP))
        if used >= self.ENDPOINTS_PER_CLIENT_GROUP:
            ec2 = boto3.client("ec2", endpoint_url=self.moto_url, region_name=region)
            name = f"clients-{self.tag}-{len(self.current)}-{time.monotonic_ns()}"
            group = ec2.create_security_group(
                GroupName=name, Description="benchmark clients", VpcId=self.nets[region].vpc
            )["GroupId"]
            used = 0
        self.current[region] = (group, used + 1)
        return group


def make_networks(moto_url: str) -> dict[str, Network]:
    nets = {}
    for region in REGIONS:
        ec2 = boto3.client("ec2", endpoint_url=moto_url, region_name=region)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        # /20s: room for the network interfaces of 1000 endpoints.
        a = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/20", AvailabilityZone=f"{region}a")["Subnet"]["SubnetId"]
        b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.16.0/20", AvailabilityZone=f"{region}b")["Subnet"]["SubnetId"]
        sg = ec2.create_security_group(GroupName="bench-clients", Description="benchmark clients", VpcId=vpc)["GroupId"]
        nets[region] = Network(vpc, [a, b], sg)
    return nets


class NamedGroups:
    """Client group ids that are never created: for `validate`, which makes no call."""

    def take(self, region: str) -> str:
        return "sg-0123456789abcdef0" if region == "us-east-1" else "sg-0fedcba9876543210"


MOTO_URL = ""

# ---------------------------------------------------------------- config files


def project_id(tag: int) -> str:
    return f"6b{tag:022x}"


def endpoint_yaml(name: str, atlas: str, region: str, net: Network, client_sg: str | None) -> str:
    lines = [
        f"  {name}:",
        "    atlas:",
        f"      {atlas}",
        "    aws:",
        f"      region: {region}",
        f"      vpc_id: {net.vpc}",
        f"      subnet_ids: [{net.subnets[0]}, {net.subnets[1]}]",
        "      security_group:",
        "        allow_from: [10.0.0.0/16]",
    ]
    if client_sg:
        lines.append(f"      client_security_groups: [{client_sg}]")
    return "\n".join(lines)


def write_mixed(path: Path, project: str, n: int, nets: dict[str, Network], sandbox: Sandbox, groups: ClientGroups | NamedGroups) -> dict:
    """N endpoints: even ones on M serverless instances (us-east-1), odd ones
    dedicated, alternating between the dedicated regions."""
    for j in range(SERVERLESS_INSTANCES):
        sandbox.instance(project, f"serverless-{j}")
    for region in REGIONS:
        sandbox.cluster(project, f"main-{region}", region.upper().replace("-", "_"))
    parts = [
        "version: 1",
        "atlas:",
        f"  project_id: {project}",
        "aws:",
        "  region: us-east-1",
        "endpoints:",
    ]
    serverless = dedicated = 0
    regions_used = set()
    instances_used = set()
    for i in range(n):
        name = f"ep{i:04d}"
        if i % 2 == 0:
            inst = (i // 2) % SERVERLESS_INSTANCES
            instances_used.add(inst)
            parts.append(endpoint_yaml(name, f"serverless_instance: serverless-{inst}", "us-east-1", nets["us-east-1"], groups.take("us-east-1")))
            serverless += 1
        else:
            region = REGIONS[(i // 2) % len(REGIONS)]
            regions_used.add(region)
            parts.append(endpoint_yaml(name, "dedicated_clusters: true", region, nets[region], groups.take(region)))
            dedicated += 1
    path.write_text("\n".join(parts) + "\n")
    return {
        "serverless": serverless,
        "dedicated": dedicated,
        "instances": len(instances_used),
        "regions": len(regions_used | ({"us-east-1"} if serverless else set())),
        "dedicated_regions": len(regions_used),
    }


def write_serverless(path: Path, project: str, k: int, instance: str, nets: dict[str, Network], sandbox: Sandbox, groups: ClientGroups) -> None:
    """K independent serverless endpoints (the seed's flow) on one instance."""
    sandbox.instance(project, instance)
    parts = [
        "version: 1",
        "atlas:",
        f"  project_id: {project}",
        "aws:",
        "  region: us-east-1",
        "endpoints:",
    ]
    for i in range(k):
        parts.append(endpoint_yaml(f"ep{i:03d}", f"serverless_instance: {instance}", "us-east-1", nets["us-east-1"], groups.take("us-east-1")))
    path.write_text("\n".join(parts) + "\n")


# ---------------------------------------------------------------- running privlink


@dataclass
class RunResult:
    code: int
    wall: float
    rss_kb: int
    cpu: float = 0.0  # user + system seconds of the privlink process
    stdout: str = ""
    stderr: str = ""


class Privlink:
    def __init__(self, binary: str, env: dict[str, str], workdir: Path):
        self.binary = binary
        self.env = env
        self.workdir = workdir
        self.has_time = os.path.exists("/usr/bin/time")
        self.count = 0

    def run(self, args: list[str], check: bool = True, env: dict[str, str] | None = None) -> RunResult:
        cmd = [self.binary, *args]
        tfile = None
        if self.has_time:
            tfile = tempfile.NamedTemporaryFile(delete=False, dir=self.workdir, suffix=".time")
            tfile.close()
            cmd = ["/usr/bin/time", "-f", "%e %M %U %S", "-o", tfile.name, *cmd]
        started = time.perf_counter()
        p = subprocess.run(cmd, cwd=self.workdir, env=env or self.env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        rss, cpu = 0, 0.0
        if tfile:
            text = Path(tfile.name).read_text().strip().splitlines()
            os.unlink(tfile.name)
            if text:
                fields = text[-1].split()
                rss = int(fields[1])
                cpu = float(fields[2]) + float(fields[3])
        res = RunResult(p.returncode, wall, rss, cpu=cpu, stdout=p.stdout, stderr=p.stderr)
        self.count += 1
        (self.workdir / f"run-{self.count:03d}-{args[0]}.log").write_text(
            f"$ privlink {' '.join(args)}\n# exit {p.returncode}, {wall:.3f} s\n{p.stdout}\n--- stderr\n{p.stderr}"
        )
        if check and p.returncode != 0:
            log(f"privlink {' '.join(args)} exited {p.returncode}\n--- stdout\n{p.stdout[-4000:]}\n--- stderr\n{p.stderr[-4000:]}")
            raise SystemExit(1)
        return res


    def spawn_timed(self, args: list[str], env: dict[str, str]) -> tuple[int, float, float]:
        """Runs privlink alone (no /usr/bin/time), started with posix_spawn
        so that this process's own fork is not timed; output goes to files.
        Returns (exit code, wall-clock start, wall time in seconds)."""
        self.count += 1
        out = self.workdir / f"run-{self.count:03d}-{args[0]}.out"
        actions = [(os.POSIX_SPAWN_OPEN, 1, str(out), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
                   (os.POSIX_SPAWN_DUP2, 1, 2)]
        cwd = os.getcwd()
        os.chdir(self.workdir)
        try:
            started_at = time.time()
            started = time.perf_counter()
            pid = os.posix_spawn(self.binary, [self.binary, *args], env, file_actions=actions)
            _, status = os.waitpid(pid, 0)
            wall = time.perf_counter() - started
        finally:
            os.chdir(cwd)
        return os.waitstatus_to_exitcode(status), started_at, wall


def parse_time(s: str) -> float:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


# ---------------------------------------------------------------- items


@dataclass
class Report:
    quick: bool
    plan_rows: list[dict] = field(default_factory=list)
    apply_rows: list[dict] = field(default_factory=list)
    apply_delays: tuple[int, int] = (2000, 2000)
    poll: dict = field(default_factory=dict)
    throttle: dict = field(default_factory=dict)
    validate: dict = field(default_factory=dict)
    setup_applies: list[dict] = field(default_factory=list)
    plan_reads: list[dict] = field(default_factory=list)
    process_floor: float = 0.0
    lag_rows: list[dict] = field(default_factory=list)


def plan_call_bound(resources: dict, instances: int) -> tuple[int, int]:
    """The most calls a batched no-change plan may make: Atlas: one list per
    serverless instance, one endpoint-service list for the project, one
    Digest challenge; EC2: per region one DescribeVpcEndpoints, one
    DescribeSecurityGroups, one DescribeNetworkInterfaces, plus one per
    further page or 200-id chunk. Returns (bound, pages-and-chunks part)."""
    per_region: dict[str, dict[str, set]] = {}
    for r in resources.values():
        region = (r.get("attributes") or {}).get("region") or (r.get("desired") or {}).get("region")
        kind = (r.get("kind") or "").removeprefix("aws_")
        if kind not in ("vpc_endpoint", "security_group", "client_egress") or not region:
            continue
        d = per_region.setdefault(region, {"vpce": set(), "groups": set(), "enis": set()})
        if kind == "vpc_endpoint":
            d["vpce"].add(r["id"])
            d["enis"].update((r.get("attributes") or {}).get("network_interface_ids") or [f"{r['id']}-{i}" for i in range(2)])
        else:
            d["groups"].add(r["id"])
    extra = 0
    for d in per_region.values():
        extra += max(0, -(-len(d["vpce"]) // 1000) - 1)  # pages of 1000 results
        extra += max(0, -(-len(d["groups"]) // 200) - 1)  # chunks of 200 ids
        extra += max(0, -(-len(d["enis"]) // 200) - 1)
    return instances + 2 + 3 * len(per_region) + extra, extra


LOG_LINE = re.compile(r"^(\S+)\s+\w+\s+\S+:\s+(Atlas request|EC2 call)\b(.*)$")


def log_fields(rest: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|\S+)', rest)}


# Plans per N for the breakdown; the report shows the one with the median
# wall/slowest ratio, and the range of all.
BREAKDOWN_RUNS = 5


def plan_breakdown(pl: "Privlink", cfg: Path, state: Path, n: int, work: Path,
                   auth: dict[str, str | None] | None = None, label: str = "") -> dict:
    """One more no-change plan, straight to moto, with privlink's info log:
    every cloud read it issued (the log line at its answer carries its
    duration), set beside the plan's wall time. `auth` replaces Atlas
    credential variables (None removes one); `label` names the setting."""
    logfile = work / f"plan-{n}-reads.log"
    if logfile.exists():
        logfile.unlink()
    env = dict(pl.env, PRIVLINK_LOG="info", PRIVLINK_LOG_PATH=str(logfile))
    for k, v in (auth or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    code, t0, wall = pl.spawn_timed(
        ["plan", "-f", str(cfg), "--state", str(state), "--detailed-exitcode", "--no-color"], env)
    reads = []
    for line in logfile.read_text().splitlines():
        m = LOG_LINE.match(line)
        if not m:
            continue
        f = log_fields(m.group(3))
        ms = float(f.get("duration_ms", "0"))
        end = parse_time(m.group(1))
        if m.group(2) == "Atlas request":
            path = f.get("path", "")
            what = ("Atlas " + ("list serverless endpoints" if "/serverless/" in path
                                else "list endpoint services" if "/endpointService" in path
                                else "service-account token" if path.endswith("/oauth/token") else path)
                    + (" (401 challenge)" if f.get("status") == "401" else ""))
        else:
            what = f"EC2 {f.get('operation', '?')} ({f.get('region', '?')})"
        reads.append({"what": what, "start": end - ms / 1000 - t0, "ms": ms})
    reads.sort(key=lambda r: r["start"])
    slowest = max(reads, key=lambda r: r["ms"]) if reads else {"what": "-", "ms": 0}
    first = reads[0]["start"] if reads else 0.0
    last_issue = max((r["start"] for r in reads), default=0.0)
    ratio = wall / (slowest["ms"] / 1000) if slowest["ms"] else float("inf")
    last_answer = max((r["start"] + r["ms"] / 1000 for r in reads), default=0.0)
    return {"n": n, "label": label, "wall": wall, "code": code, "reads": reads, "slowest": slowest, "ratio": ratio,
            "first_issue": first, "issue_spread": last_issue - first,
            "slowest_issue": slowest.get("start", 0.0), "after_last": wall - last_answer}


def breakdown_median(pl: "Privlink", cfg: Path, state: Path, n: int, work: Path,
                     auth: dict[str, str | None] | None = None, label: str = "") -> dict:
    """BREAKDOWN_RUNS plans; the one with the median ratio, with all ratios."""
    runs = [plan_breakdown(pl, cfg, state, n, work, auth, label) for _ in range(BREAKDOWN_RUNS)]
    runs.sort(key=lambda b: b["ratio"])
    return dict(runs[len(runs) // 2], ratios=[b["ratio"] for b in runs])


def breakdown_name(b: dict, before: str, after: str = "") -> str:
    """A breakdown's N, followed by its setting's label when it has one."""
    return f"{b['n']}{before}{b['label']}{after}" if b.get("label") else str(b["n"])


# Extra latency of every Atlas answer for the breakdown's WAN rows.
ATLAS_LATENCY_MS = 50


def latency_breakdowns(pl: "Privlink", sandbox: "Sandbox", cfg: Path, state: Path, n: int, work: Path,
                       rep: "Report") -> None:
    """The same plans with every Atlas answer ATLAS_LATENCY_MS late (a
    client far from Atlas; moto stays local), once with the API key (HTTP
    Digest) and once with the service account the sandbox also accepts."""
    client = (os.environ.get("BENCH_ATLAS_CLIENT_ID"), os.environ.get("BENCH_ATLAS_CLIENT_SECRET"))
    settings = [("API key (Digest)", None)]
    if all(client):
        settings.append(("service account", {
            "MONGODB_ATLAS_PUBLIC_KEY": None, "MONGODB_ATLAS_PRIVATE_KEY": None,
            "MONGODB_ATLAS_CLIENT_ID": client[0], "MONGODB_ATLAS_CLIENT_SECRET": client[1],
        }))
    sandbox.latency(ATLAS_LATENCY_MS)
    try:
        for name, auth in settings:
            label = f"Atlas +{ATLAS_LATENCY_MS} ms, {name}"
            log(f"item 1: plan breakdown at N={n}, {label}")
            rep.plan_reads.append(breakdown_median(pl, cfg, state, n, work, auth, label))
    finally:
        sandbox.latency(0)


# Spawns of `privlink version` for the process floor.
FLOOR_RUNS = 21


def process_floor(pl: "Privlink") -> float:
    """Median wall time of `privlink version`, spawned and timed as the
    breakdown's plans are: what starting and ending this binary costs
    before it does anything."""
    walls = []
    for _ in range(FLOOR_RUNS):
        code, _, wall = pl.spawn_timed(["version"], dict(pl.env))
        if code != 0:
            raise SystemExit(f"privlink version exited {code}")
        walls.append(wall)
    return statistics.median(walls)


def percentile(xs: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not xs:
        return float("nan")
    ys = sorted(xs)
    k = max(0, min(len(ys) - 1, int(-(-q * len(ys) // 100)) - 1))
    return ys[k]


REACHED = re.compile(r"state reached.*?\bid=(\S+).*?\bstatus=(\S+).*?\bat=(\S+)")


def item_lag(pl: "Privlink", sandbox: "Sandbox", nets, rep: "Report", work: Path, k: int, delay_s: float) -> None:
    """Detection lag: K serverless endpoints whose steps each take `delay_s`;
    for every state change the sandbox logs the moment it was due, privlink
    logs the moment its wait saw it (just before acting on it)."""
    ms = int(delay_s * 1000)
    sandbox.delays(ms, ms, 200)
    project = project_id(6000 + int(delay_s))
    cfg = work / f"lag-{delay_s:g}.yaml"
    write_serverless(cfg, project, k, f"lag-{delay_s:g}", nets, sandbox, ClientGroups(MOTO_URL, nets, f"lag{delay_s:g}"))
    state = work / f"lag-{delay_s:g}.state.json"
    logfile = work / f"lag-{delay_s:g}.log"
    sandbox.clear_requests()
    sandbox.clear_transitions()
    log(f"item 5: apply of {k} endpoints with delays {delay_s:g} s / {delay_s:g} s")
    env = dict(pl.env, PRIVLINK_LOG="debug", PRIVLINK_LOG_PATH=str(logfile))
    res = pl.run(["apply", "-f", str(cfg), "--state", str(state), "--auto-approve", "--no-color"], env=env)
    due = {(t["id"], t["status"]): t["at"] for t in sandbox.transitions()}
    lags = []
    for line in logfile.read_text().splitlines():
        m = REACHED.search(line)
        if m and (m.group(1).strip('"'), m.group(2).strip('"')) in due:
            lags.append(float(m.group(3).strip('"')) - due[(m.group(1).strip('"'), m.group(2).strip('"'))])
    reqs = [q for q in sandbox.requests() if project in q["path"]]
    polls = [q for q in reqs if q["method"] == "GET" and q["status"] != 401]
    minutes = res.wall / 60
    rep.lag_rows.append({
        "delay": delay_s, "k": k, "samples": len(lags), "expected": 2 * k,
        "p50": percentile(lags, 50), "p95": percentile(lags, 95), "max": max(lags) if lags else float("nan"),
        "min": min(lags) if lags else float("nan"),
        "wall": res.wall, "requests": len(reqs), "polls": len(polls),
        "share": len(reqs) / minutes / BUCKET_REFILL_PER_MIN, "poll_share": len(polls) / minutes / BUCKET_REFILL_PER_MIN,
        "bucket_share": len(reqs) / (BUCKET_CAPACITY + BUCKET_REFILL_PER_MIN * minutes),
    })
    log(f"item 5: delay {delay_s:g} s: {len(lags)} lags, p95 {percentile(lags, 95):.3f} s, max {max(lags) if lags else float('nan'):.3f} s")




def item_plan(pl: Privlink, sandbox: Sandbox, moto: Moto, nets, sizes: list[int], repeats: int, rep: Report, work: Path) -> None:
    sandbox.delays(0, 0, 0)
    for n in sizes:
        project = project_id(1000 + n)
        cfg = work / f"plan-{n}.yaml"
        shape = write_mixed(cfg, project, n, nets, sandbox, ClientGroups(MOTO_URL, nets, f"plan{n}"))
        state = work / f"plan-{n}.state.json"
        log(f"item 1: applying {n} endpoints for the plan benchmark (sandbox delays 0)")
        a = pl.run(["apply", "-f", str(cfg), "--state", str(state), "--auto-approve", "--no-color"])
        rep.setup_applies.append({"n": n, "wall": a.wall})
        st = json.loads(state.read_text()).get("resources", {})
        resources = len(st)
        bound, extra = plan_call_bound(st, shape["instances"])
        walls, rsss, cpus = [], [], []
        atlas_calls = ec2_calls = None
        atlas_detail = ec2_detail = ""
        # EC2 through the counting proxy (same moto behind it).
        plan_env = dict(pl.env, AWS_ENDPOINT_URL_EC2=moto.proxy_url)
        for r in range(repeats):
            sandbox.clear_requests()
            moto.start_recording()
            res = pl.run(["plan", "-f", str(cfg), "--state", str(state), "--detailed-exitcode", "--no-color"], check=False, env=plan_env)
            calls = moto.stop_recording()
            reqs = [q for q in sandbox.requests() if not q["path"].startswith("/__sandbox")]
            if res.code != 0:
                log(f"plan of {n} endpoints was not empty (exit {res.code})\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
                raise SystemExit(1)
            walls.append(res.wall)
            rsss.append(res.rss_kb)
            cpus.append(res.cpu)
            if r == 0:
                atlas_calls = len(reqs)
                ec2_calls = len(calls)
                kinds: dict[str, int] = {}
                for q in reqs:
                    p = q["path"]
                    key = ("401 challenge " if q["status"] == 401 else "") + (
                        "list serverless endpoints" if "/privateEndpoint/serverless/" in p
                        else "list endpoint services" if "/privateEndpoint/" in p
                        else p
                    )
                    kinds[key] = kinds.get(key, 0) + 1
                atlas_detail = ", ".join(f"{v}× {k}" for k, v in sorted(kinds.items()))
                ek: dict[str, int] = {}
                for c in calls:
                    key = f"{c['action']} ({c['region']})"
                    ek[key] = ek.get(key, 0) + 1
                ec2_detail = ", ".join(f"{v}× {k}" for k, v in sorted(ek.items()))
        if not rep.process_floor:
            rep.process_floor = process_floor(pl)
        rep.plan_reads.append(breakdown_median(pl, cfg, state, n, work))
        if n == sizes[0]:
            latency_breakdowns(pl, sandbox, cfg, state, n, work, rep)
        m = shape["instances"]
        rep.plan_rows.append({
            "n": n,
            "resources": resources,
            "m": m,
            "regions": shape["regions"],
            "atlas": atlas_calls,
            "ec2": ec2_calls,
            "bound": bound,
            "extra": extra,
            "atlas_detail": atlas_detail,
            "ec2_detail": ec2_detail,
            "wall_median": statistics.median(walls),
            "wall_max": max(walls),
            "cpu_median": statistics.median(cpus),
            "rss_mb": max(rsss) / 1024,
            "repeats": repeats,
        })
        log(f"item 1: N={n}: {atlas_calls} Atlas + {ec2_calls} EC2 calls, median {statistics.median(walls):.3f} s, {max(rsss)/1024:.1f} MB")


def item_apply(pl: Privlink, sandbox: Sandbox, nets, rep: Report, work: Path, ks: list[int], delays: tuple[int, int]) -> None:
    rep.apply_delays = delays
    sandbox.delays(delays[0], delays[1], 200)
    tag = 2000
    runs = [(DEFAULT_PARALLELISM, k) for k in ks] + [(1, k) for k in ks]
    # The largest K once more with parallelism K: every chain runs at once, which
    # separates the cost of the parallelism cap from that of polling.
    if max(ks) > DEFAULT_PARALLELISM:
        runs.append((max(ks), max(ks)))
    for par, k in runs:
        tag += 1
        project = project_id(tag)
        cfg = work / f"apply-k{k}-p{par}.yaml"
        write_serverless(cfg, project, k, f"apply-k{k}-p{par}", nets, sandbox, ClientGroups(MOTO_URL, nets, f"apply{k}p{par}"))
        state = work / f"apply-k{k}-p{par}.state.json"
        log(f"item 2: apply of {k} endpoints at parallelism {par}")
        res = pl.run(["apply", "-f", str(cfg), "--state", str(state), "--auto-approve", "--parallelism", str(par), "--no-color"])
        rep.apply_rows.append({"k": k, "parallelism": par, "wall": res.wall})
        log(f"item 2: K={k} p={par}: {res.wall:.2f} s")


def item_poll(pl: Privlink, sandbox: Sandbox, nets, rep: Report, work: Path, k: int, delays: tuple[int, int], par: int) -> None:
    sandbox.delays(delays[0], delays[1], 200)
    project = project_id(3000 + k)
    cfg = work / f"poll-k{k}.yaml"
    write_serverless(cfg, project, k, f"poll-k{k}", nets, sandbox, ClientGroups(MOTO_URL, nets, f"poll{k}"))
    state = work / f"poll-k{k}.state.json"
    sandbox.clear_requests()
    log(f"item 3: apply of {k} endpoints at parallelism {par} with delays {delays[0]/1000:.0f} s / {delays[1]/1000:.0f} s")
    res = pl.run(["apply", "-f", str(cfg), "--state", str(state), "--auto-approve", "--parallelism", str(par), "--no-color"])
    reqs = [q for q in sandbox.requests() if project in q["path"]]
    times = sorted(parse_time(q["time"]) for q in reqs)
    gets = [q for q in reqs if q["method"] == "GET" and q["status"] != 401]
    span = (times[-1] - times[0]) if len(times) > 1 else res.wall
    # Busiest 60 s window of the project's requests (sliding).
    peak = 0
    j = 0
    for i, t in enumerate(times):
        while times[j] < t - 60:
            j += 1
        peak = max(peak, i - j + 1)
    # Busiest 1 s window, to compare with the client's own budget.
    peak1 = 0
    j = 0
    for i, t in enumerate(times):
        while times[j] < t - 1:
            j += 1
        peak1 = max(peak1, i - j + 1)
    per_ep: dict[str, int] = {}
    for q in gets:
        parts = q["path"].rstrip("/").split("/")
        per_ep[parts[-1]] = per_ep.get(parts[-1], 0) + 1
    status: dict[int, int] = {}
    for q in reqs:
        status[q["status"]] = status.get(q["status"], 0) + 1
    rep.poll = {
        "k": k,
        "parallelism": par,
        "delays": delays,
        "wall": res.wall,
        "requests": len(reqs),
        "polls": len(gets),
        "span": span,
        "per_ep_per_min": len(reqs) / k / (span / 60),
        "polls_per_ep_per_min": len(gets) / k / (span / 60),
        "max_polls_one_ep": max(per_ep.values()) if per_ep else 0,
        "peak_60s": peak,
        "peak_1s": peak1,
        "statuses": status,
    }
    log(f"item 3: {len(reqs)} requests over {span:.1f} s; peak 60 s window {peak}")


def item_throttle(pl: Privlink, slow: Sandbox, nets, rep: Report, work: Path, k: int, capacity: int, refill: str) -> None:
    """An apply against a sandbox whose bucket is far smaller than Atlas's:
    429s must slow the run down, not fail it."""
    slow.delays(500, 500, 200)
    project = project_id(4000 + k)
    cfg = work / f"throttle-k{k}.yaml"
    write_serverless(cfg, project, k, f"throttle-k{k}", nets, slow, ClientGroups(MOTO_URL, nets, f"throttle{k}"))
    state = work / f"throttle-k{k}.state.json"
    slow.clear_requests()
    env = dict(pl.env)
    env["MONGODB_ATLAS_BASE_URL"] = slow.url
    log(f"item 3b: apply of {k} endpoints against a bucket of {capacity}, refill {refill}")
    res = pl.run(["apply", "-f", str(cfg), "--state", str(state), "--auto-approve", "--no-color"], check=False, env=env)
    reqs = [q for q in slow.requests() if project in q["path"]]
    n429 = sum(1 for q in reqs if q["status"] == 429)
    ready = 0
    if state.exists():
        st = json.loads(state.read_text())
        ready = sum(1 for a, r in st.get("resources", {}).items() if a.endswith(".link") and r.get("status") == "ready")
    rep.throttle = {
        "k": k,
        "capacity": capacity,
        "refill": refill,
        "code": res.code,
        "wall": res.wall,
        "requests": len(reqs),
        "n429": n429,
        "linked": ready,
        "stderr_tail": res.stderr[-600:] if res.code else "",
    }
    log(f"item 3b: exit {res.code}, {n429} answers 429 of {len(reqs)}, {ready}/{k} linked, {res.wall:.1f} s")


def item_validate(pl: Privlink, sandbox: Sandbox, nets, rep: Report, work: Path, repeats: int) -> None:
    cfg = work / "validate-1000.yaml"
    write_mixed(cfg, project_id(5000), 1000, nets, sandbox, NamedGroups())
    pl.run(["validate", "-f", str(cfg)])  # warm the page cache
    walls, rsss = [], []
    for _ in range(repeats):
        r = pl.run(["validate", "-f", str(cfg)])
        walls.append(r.wall)
        rsss.append(r.rss_kb)
    walls.sort()
    rep.validate = {
        "repeats": repeats,
        "median": statistics.median(walls),
        "min": walls[0],
        "max": walls[-1],
        "p90": walls[int(0.9 * (len(walls) - 1))],
        "rss_mb": max(rsss) / 1024,
        "bytes": cfg.stat().st_size,
    }
    log(f"item 4: validate median {statistics.median(walls)*1000:.1f} ms")


# ---------------------------------------------------------------- report


def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu": cpu,
        "nproc": subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip(),
        "mem": mem,
        "kernel": platform.release(),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "rustc": subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip(),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        + (" (with uncommitted changes under src/)" if subprocess.run(["git", "status", "--porcelain", "--", "src", "Cargo.toml"], capture_output=True, text=True).stdout.strip() else ""),
        "moto": subprocess.run([sys.executable, "-c", "import moto; print(moto.__version__)"], capture_output=True, text=True).stdout.strip(),
    }


def ok(flag: bool) -> str:
    return "met" if flag else "**missed**"


def write_report(rep: Report, out: Path, started: float) -> None:
    m = machine()
    L: list[str] = []
    L.append("# Benchmarks")
    L.append("")
    L.append(
        "Figures from `scripts/bench.sh`"
        + (" `--quick` (smaller sizes; run without `--quick` for the full set)" if rep.quick else "")
        + (": release builds" if os.environ.get("PROFILE_DIR", "release") == "release"
           else f": **{os.environ.get('PROFILE_DIR')} builds, not release: wall times and RSS are not representative**")
        + " of `privlink` and `atlas-sandbox`, moto_server for EC2, all on loopback. "
        "The report below is generated; the notes after each table are written by hand from it."
    )
    L.append("")
    L.append("## Machine")
    L.append("")
    L.append(f"- CPU: {m['cpu']} ({m['nproc']} cores available, shared with other work)")
    L.append(f"- Kernel: Linux {m['kernel']}; {m['rustc']}; moto {m['moto']}")
    L.append(f"- Date: {m['date']}; whole run {time.time() - started:.0f} s; privlink at commit {m['commit']}")
    L.append("")
    L.append("```")
    L.append(m["mem"])
    L.append("```")
    L.append("")
    L.append("## Reproduce")
    L.append("")
    L.append("```sh")
    L.append("scripts/bench.sh           # everything, about 25 minutes on 2 cores, most of it the set-up apply of 1000 endpoints in moto; rewrites BENCHMARKS.md")
    L.append("scripts/bench.sh --quick   # smaller sizes, a few minutes; writes BENCHMARKS.quick.md")
    L.append("```")
    L.append("")
    L.append(
        "It installs moto into `.venv/` if needed, runs `cargo build --release --workspace --bins`, starts "
        "moto_server and atlas-sandbox on free loopback ports, creates a VPC with two /20 subnets and a client "
        "security group in each of us-east-1 and us-west-2, and drives `bench/privlink_bench.py`. Generated files: "
        f"endpoint *i* is serverless (instance `serverless-(i/2 mod {SERVERLESS_INSTANCES})`, us-east-1) when *i* is even, "
        "dedicated (alternating us-east-1 / us-west-2, per-endpoint `aws.region`) when odd; every endpoint has two "
        "subnets, an owned security group and a client security group, i.e. 5 resources, plus one endpoint service "
        "per dedicated region."
    )
    L.append("")

    # 1
    L.append("## 1. Plan cost (no-change plan of an applied file)")
    L.append("")
    L.append(
        f"M = serverless instances, R = AWS regions (dedicated regions are us-east-1 and us-west-2; serverless uses "
        "us-east-1). Atlas calls from the sandbox's request log (cleared before), EC2 calls counted by a proxy in front of moto "
        "(privlink's requests only). The bound: one serverless list per instance, one endpoint-service "
        "list and one Digest challenge for the project, three describes per region (VPC endpoints, security groups, "
        "network interfaces), plus one per extra page (1000 results) or chunk of 200 ids. "
        "Wall time: median of the repeats; RSS: `/usr/bin/time` maximum resident set."
    )
    L.append("")
    L.append("| N | resources | M | R | Atlas calls | EC2 calls | bound: M + 2 + 3R + pages/chunks | calls target | wall (median) | privlink CPU (median) | peak RSS | time < 2 s | RSS < 100 MB |")
    L.append("|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---|")
    for r in rep.plan_rows:
        wall_ok = r["wall_median"] < 2.0
        rss_ok = r["rss_mb"] < 100
        L.append(
            f"| {r['n']} | {r['resources']} | {r['m']} | {r['regions']} | {r['atlas']} | {r['ec2']} | "
            f"{r['m']} + 2 + 3·{r['regions']} + {r['extra']} = {r['bound']} | {ok(r['atlas'] + r['ec2'] <= r['bound'])} | "
            f"{r['wall_median']:.3f} s (max {r['wall_max']:.3f}, {r['repeats']} runs) | "
            f"{r.get('cpu_median', 0):.2f} s | {r['rss_mb']:.1f} MB | {ok(wall_ok)} | {ok(rss_ok)} |"
        )
    L.append("")
    L.append("Calls by kind:")
    L.append("")
    for r in rep.plan_rows:
        L.append(f"- N = {r['n']}: Atlas: {r['atlas_detail']}; EC2: {r['ec2_detail']}")
    L.append("")
    if rep.setup_applies:
        L.append(
            "Set-up applies (sandbox delays 0, default parallelism, informative only): "
            + ", ".join(f"N = {s['n']} in {s['wall']:.1f} s" for s in rep.setup_applies)
            + "."
        )
        L.append("")
    if rep.plan_reads:
        L.append(
            f"Plan breakdown: {BREAKDOWN_RUNS} more no-change plans per N, straight to moto, with privlink's log at "
            "`info`, each started with posix_spawn and timed to its exit (no /usr/bin/time, and the driver's own fork "
            "is not timed): every cloud read as privlink issued it (start from the plan's process "
            "start; duration from privlink's own log line for that read, retries included) beside the plan's wall "
            "time. The row is the run with the median wall/slowest ratio; the range is over all runs. Beside it: "
            "when the slowest read was issued, and how long the process took after the last answer (deciding, "
            f"printing, exiting). The rows marked `Atlas +{ATLAS_LATENCY_MS} ms` repeat the N = 10 plans with every "
            f"Atlas answer {ATLAS_LATENCY_MS} ms late (the sandbox's latency setting; a client far from Atlas, moto "
            "still local), with the API key (HTTP Digest) and with a service account. Target: wall time ≤ 1.2 × the "
            "slowest single read."
        )
        L.append("")
        L.append("| N | plan wall time | slowest read | its duration | wall / slowest | range over runs | reads | first read issued at | last read issued at | slowest issued at | after the last answer | target ≤ 1.2 |")
        L.append("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for b in rep.plan_reads:
            sl = b["slowest"]
            ratio = b["ratio"]
            rs = b.get("ratios") or [ratio]
            L.append(
                f"| {breakdown_name(b, ', ')} | {b['wall']:.3f} s | {sl['what']} | "
                f"{sl['ms']/1000:.3f} s | {ratio:.2f} | "
                f"{min(rs):.2f}–{max(rs):.2f} | {len(b['reads'])} | "
                f"+{b['first_issue']*1000:.1f} ms | +{(b['first_issue'] + b['issue_spread'])*1000:.1f} ms | "
                f"+{b['slowest_issue']*1000:.1f} ms | {b['after_last']*1000:.1f} ms | {ok(ratio <= 1.2)} |"
            )
        L.append("")
        if rep.process_floor:
            L.append(
                f"Starting and ending the binary alone (`privlink version`, spawned and timed the same way, median of "
                f"{FLOOR_RUNS}): {rep.process_floor*1000:.1f} ms."
            )
            L.append("")
        for b in rep.plan_reads:
            L.append(
                f"- N = {breakdown_name(b, ' (', ')')}: "
                + "; ".join(f"{r['what']} +{r['start']*1000:.0f} ms, {r['ms']:.1f} ms" for r in b["reads"])
            )
        L.append("")

    # 2
    L.append("## 2. Apply time against the critical path")
    L.append("")
    d = rep.apply_delays
    L.append(
        f"K independent serverless endpoints (the seed's flow: Atlas endpoint, security group, VPC endpoint, link, "
        f"client egress) on one instance; sandbox delays {d[0]/1000:g} s to RESERVED and {d[1]/1000:g} s to AVAILABLE. "
        "One endpoint's chain is the K = 1 apply at the same parallelism. Target: K = 20 at the default parallelism "
        f"({DEFAULT_PARALLELISM}) within 1.2 × the K = 1 time."
    )
    L.append("")
    L.append("| K | parallelism | apply wall time | × one chain (K = 1 at this parallelism, else at the default) | target |")
    L.append("|---:|---:|---:|---:|---|")
    base = {r["parallelism"]: r["wall"] for r in rep.apply_rows if r["k"] == 1}
    for r in rep.apply_rows:
        ratio = r["wall"] / base.get(r["parallelism"], base.get(DEFAULT_PARALLELISM, float("nan")))
        target = ""
        if r["k"] > 1 and r["parallelism"] == DEFAULT_PARALLELISM:
            target = f"≤ 1.2 × {ok(ratio <= 1.2)}"
        elif r["k"] > 1 and r["parallelism"] == 1:
            target = "reference (waits still overlap; by hand is K × one chain, see notes)"
        elif r["k"] > 1:
            target = f"diagnostic (all chains at once); ≤ 1.2 × {ok(ratio <= 1.2)}"
        L.append(f"| {r['k']} | {r['parallelism']} | {r['wall']:.2f} s | {ratio:.2f} | {target} |")
    L.append("")

    # 3
    p = rep.poll
    if p:
        L.append("## 3. Polling cost")
        L.append("")
        L.append(
            f"An apply of K = {p['k']} serverless endpoints at `--parallelism {p['parallelism']}` (a waiting step "
            f"gives its slot back, so all of them wait at once) with sandbox delays {p['delays'][0]/1000:g} s / {p['delays'][1]/1000:g} s; every Atlas request "
            "of the project from the sandbox's request log. Documented limit (../shared/atlas/API.md section 5, "
            f"endpoint set \"Private Endpoint Services\", scope project): bucket of {BUCKET_CAPACITY}, refill "
            f"{BUCKET_REFILL_PER_MIN} per 60 s, i.e. {BUCKET_REFILL_PER_MIN / p['k']:g} requests per endpoint per minute "
            f"sustained for K = {p['k']}. The legacy v1.0 rule ({LEGACY_PER_MIN} per minute per project) does not cover "
            "these v2 resources; shown for reference."
        )
        L.append("")
        sustain = BUCKET_REFILL_PER_MIN / p["k"]
        L.append("| measure | value | limit | target |")
        L.append("|---|---:|---:|---|")
        L.append(f"| apply wall time | {p['wall']:.1f} s | | |")
        L.append(f"| Atlas requests (all methods, incl. Digest challenges) | {p['requests']} over {p['span']:.1f} s | | |")
        L.append(f"| of which status polls (GET) | {p['polls']} | | |")
        L.append(f"| requests per endpoint per minute | {p['per_ep_per_min']:.2f} | {sustain:g} | {ok(p['per_ep_per_min'] <= sustain)} |")
        L.append(f"| polls per endpoint per minute | {p['polls_per_ep_per_min']:.2f} | | |")
        L.append(f"| most polls of one endpoint id | {p['max_polls_one_ep']} | | |")
        L.append(f"| busiest 60 s window, whole project | {p['peak_60s']} | {BUCKET_REFILL_PER_MIN} refill, {BUCKET_CAPACITY} burst | {ok(p['peak_60s'] <= BUCKET_REFILL_PER_MIN)} |")
        L.append(f"| busiest 1 s window, whole project | {p['peak_1s']} | client budget {CLIENT_BUDGET} | |")
        L.append(f"| answers by status | {', '.join(f'{k}: {v}' for k, v in sorted(p['statuses'].items()))} | | |")
        minutes = p["wall"] / 60
        share = p["requests"] / minutes / BUCKET_REFILL_PER_MIN
        poll_share = p["polls"] / minutes / BUCKET_REFILL_PER_MIN
        L.append(f"| share of the rate budget: all requests per minute / refill per minute | {share*100:.1f} % | 10 % | {ok(share < 0.10)} |")
        L.append(f"| share of the rate budget: status polls per minute / refill per minute | {poll_share*100:.1f} % | 10 % | {ok(poll_share < 0.10)} |")
        budget = BUCKET_CAPACITY + BUCKET_REFILL_PER_MIN * minutes
        L.append(f"| share of what the bucket allows over the apply (capacity + refill × wall time) | {p['requests'] / budget * 100:.1f} % | 10 % | {ok(p['requests'] / budget < 0.10)} |")
        L.append("")
    t = rep.throttle
    if t:
        L.append(
            f"Throttled run: a second sandbox with a bucket of {t['capacity']} refilled {t['refill']} (far below "
            f"Atlas's), K = {t['k']} endpoints, default parallelism, delays 0.5 s / 0.5 s."
        )
        L.append("")
        L.append("| K | bucket | answers 429 | Atlas requests | linked | exit code | wall time | target |")
        L.append("|---:|---|---:|---:|---:|---:|---:|---|")
        good = t["code"] == 0 and t["linked"] == t["k"]
        L.append(
            f"| {t['k']} | {t['capacity']}, {t['refill']} | {t['n429']} | {t['requests']} | {t['linked']}/{t['k']} | "
            f"{t['code']} | {t['wall']:.1f} s | 429 slows, never fails: {ok(good)} |"
        )
        if t["stderr_tail"]:
            L.append("")
            L.append("```")
            L.append(t["stderr_tail"].strip())
            L.append("```")
        L.append("")

    # 4
    v = rep.validate
    if v:
        L.append("## 4. Start-up: `privlink validate` of a 1000-endpoint file")
        L.append("")
        L.append(f"The N = 1000 generated file ({v['bytes']} bytes); {v['repeats']} runs after one warm-up, process start to exit.")
        L.append("")
        L.append("| median | min | p90 | max | peak RSS | target < 100 ms |")
        L.append("|---:|---:|---:|---:|---:|---|")
        L.append(
            f"| {v['median']*1000:.1f} ms | {v['min']*1000:.1f} ms | {v['p90']*1000:.1f} ms | {v['max']*1000:.1f} ms | "
            f"{v['rss_mb']:.1f} MB | {ok(v['median'] < 0.1)} |"
        )
        L.append("")
    if rep.lag_rows:
        L.append("## 5. Detection lag")
        L.append("")
        L.append(
            "K serverless endpoints on one instance, default parallelism; the sandbox takes the given delay to "
            "RESERVED and again to AVAILABLE (the link is then confirmed against moto). Lag: from the moment the "
            "sandbox's transition log says the state was due to the moment privlink's wait saw it and its step went "
            "on to act on it (privlink's `debug` log line), both on this machine's clock; two samples per endpoint. "
            f"Rate shares: the project's Atlas requests per minute over the apply against the refill of {BUCKET_REFILL_PER_MIN} "
            "a minute (all requests, and the status polls alone), and all requests against what the documented bucket "
            f"allows over the apply ({BUCKET_CAPACITY} + {BUCKET_REFILL_PER_MIN} a minute × wall time). Targets: p95 ≤ 1 s, "
            "max ≤ 2 s; the apply under 10 % of the bucket."
        )
        L.append("")
        L.append("| step delay | K | samples | p50 | p95 | max | apply wall | Atlas requests | of which polls | share of refill (all / polls) | share of the bucket | lag target | rate target |")
        L.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---|")
        for r in rep.lag_rows:
            good = r["samples"] == r["expected"] and r["p95"] <= 1.0 and r["max"] <= 2.0
            L.append(
                f"| {r['delay']:g} s | {r['k']} | {r['samples']}/{r['expected']} | {r['p50']:.3f} s | {r['p95']:.3f} s | "
                f"{r['max']:.3f} s | {r['wall']:.1f} s | {r['requests']} | {r['polls']} | "
                f"{r['share']*100:.1f} % / {r['poll_share']*100:.1f} % | {r['bucket_share']*100:.1f} % | {ok(good)} | "
                f"{ok(r['bucket_share'] < 0.10)} |"
            )
        L.append("")
    analysis = Path(__file__).with_name("analysis.md")
    if analysis.exists():
        L.append(analysis.read_text().rstrip())
        L.append("")
    out.write_text("\n".join(L) + "\n")
    raw = Path(os.environ.get("BENCH_RAW", "/tmp/privlink-bench.json"))
    raw.write_text(json.dumps(rep.__dict__, indent=1, default=str))
    log(f"wrote {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sizes, a few minutes")
    ap.add_argument("--out", default="BENCHMARKS.md")
    ap.add_argument("--only", default="1,2,3,4,5", help="comma-separated items to run")
    ap.add_argument("--lag-delays", default=os.environ.get("BENCH_LAG_DELAYS", "2,20,120"),
                    help="item 5's step delays in seconds (the report's figures use 2,20,120)")
    args = ap.parse_args()
    started = time.time()
    items = {int(x) for x in args.only.split(",")}

    sandbox = Sandbox(os.environ["SANDBOX_URL"])
    moto = Moto(os.environ["MOTO_URL"])
    global MOTO_URL
    MOTO_URL = moto.url
    work = Path(tempfile.mkdtemp(prefix="privlink-bench-"))
    log(f"files, states and every run's output in {work}")
    env = dict(os.environ)
    env.update({"NO_COLOR": "1", "AWS_EC2_METADATA_DISABLED": "true", "MONGODB_ATLAS_BASE_URL": sandbox.url})
    pl = Privlink(os.environ["PRIVLINK"], env, work)
    nets = make_networks(moto.url)
    rep = Report(quick=args.quick)

    if 4 in items:
        item_validate(pl, sandbox, nets, rep, work, repeats=20)
        write_report(rep, Path(args.out), started)  # partial results survive an interrupted run
    if 1 in items:
        sizes = [10, 100] if args.quick else [10, 100, 1000]
        item_plan(pl, sandbox, moto, nets, sizes, repeats=3 if args.quick else 5, rep=rep, work=work)
        write_report(rep, Path(args.out), started)
    if 2 in items:
        if args.quick:
            item_apply(pl, sandbox, nets, rep, work, ks=[1, 5], delays=(1000, 1000))
        else:
            item_apply(pl, sandbox, nets, rep, work, ks=[1, 20], delays=(2000, 2000))
        write_report(rep, Path(args.out), started)
    if 3 in items:
        if args.quick:
            item_poll(pl, sandbox, nets, rep, work, k=20, delays=(5000, 5000), par=DEFAULT_PARALLELISM)
        else:
            item_poll(pl, sandbox, nets, rep, work, k=100, delays=(20000, 20000), par=DEFAULT_PARALLELISM)
        slow = os.environ.get("SLOW_SANDBOX_URL")
        if slow:
            item_throttle(pl, Sandbox(slow), nets, rep, work, k=10 if args.quick else 20,
                          capacity=int(os.environ.get("SLOW_CAPACITY", "20")),
                          refill=os.environ.get("SLOW_REFILL", "120/60s"))
        write_report(rep, Path(args.out), started)
    if 5 in items:
        for d in [float(x) for x in args.lag_delays.split(",")]:
            item_lag(pl, sandbox, nets, rep, work, k=10 if args.quick else 100, delay_s=d)
            write_report(rep, Path(args.out), started)
    write_report(rep, Path(args.out), started)


if __name__ == "__main__":
    main()
