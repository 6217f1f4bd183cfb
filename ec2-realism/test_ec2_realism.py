"""Self-test of the EC2 realism layer: starts it on a free port and talks to
it with boto3, one test per behaviour.

Run with moto's Python: ``.venv/bin/python ec2-realism/test_ec2_realism.py``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import unittest
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
LAYER = os.path.join(HERE, "ec2_realism.py")
REGION = "us-east-1"
#: Another account's endpoint service (not created in moto).
FOREIGN = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"
#: Short windows so the suite stays quick; tests wait them out.
SETTINGS = {"consistency_ms": 700, "eni_ms": 700, "linger_ms": 900, "auto_accept_ms": None}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Layer:
    """The layer as a child process."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(os.environ.get("TMPDIR", "/tmp"), f"ec2-realism-{self.port}.log"), "w")
        self.proc = subprocess.Popen(
            [sys.executable, LAYER, "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.http("GET", "/_realism/config")
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"layer did not start; see {self.log.name}")
                time.sleep(0.1)

    def http(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"null")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


LAYER_PROC: Layer | None = None


def setUpModule() -> None:
    global LAYER_PROC
    LAYER_PROC = Layer()


def tearDownModule() -> None:
    if LAYER_PROC is not None:
        LAYER_PROC.stop()


def wait_ms(ms: int) -> None:
    time.sleep(ms / 1000.0 + 0.15)


class RealismTest(unittest.TestCase):
    layer: Layer

    def setUp(self) -> None:
        assert LAYER_PROC is not None
        self.layer = LAYER_PROC
        self.layer.http("PUT", "/_realism/config", SETTINGS)
        self.layer.http("POST", "/_realism/reset-counters")
        self.ec2 = boto3.client(
            "ec2",
            region_name=REGION,
            endpoint_url=self.layer.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=BotoConfig(retries={"max_attempts": 1, "mode": "standard"}),
        )
        self.vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        self.subnets = [
            self.ec2.create_subnet(VpcId=self.vpc, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"]
            for i in (1, 2)
        ]

    def counters(self) -> dict:
        return self.layer.http("GET", "/_realism/counters")

    def group(self, name: str | None = None) -> str:
        return self.ec2.create_security_group(
            VpcId=self.vpc, GroupName=name or f"g-{uuid.uuid4().hex[:8]}", Description="test"
        )["GroupId"]

    def endpoint(self, groups: list[str], token: str | None = None, service: str = FOREIGN, **extra) -> dict:
        args = dict(
            VpcId=self.vpc,
            ServiceName=service,
            VpcEndpointType="Interface",
            SubnetIds=self.subnets,
            SecurityGroupIds=groups,
            **extra,
        )
        if token:
            args["ClientToken"] = token
        return self.ec2.create_vpc_endpoint(**args)["VpcEndpoint"]

    def error_code(self, call, **kwargs) -> str:
        with self.assertRaises(ClientError) as caught:
            call(**kwargs)
        self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        return caught.exception.response["Error"]["Code"]

    # ---- eventual consistency ------------------------------------------------

    def test_new_group_not_found_then_found(self) -> None:
        sg = self.group()
        describe = self.ec2.describe_security_groups
        self.assertEqual(self.error_code(describe, GroupIds=[sg]), "InvalidGroup.NotFound")
        self.assertEqual(
            self.error_code(
                self.ec2.authorize_security_group_ingress,
                GroupId=sg,
                IpPermissions=[{"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}],
            ),
            "InvalidGroup.NotFound",
        )
        self.assertEqual(
            self.error_code(self.ec2.create_tags, Resources=[sg], Tags=[{"Key": "k", "Value": "v"}]),
            "InvalidGroup.NotFound",
        )
        filtered = describe(Filters=[{"Name": "vpc-id", "Values": [self.vpc]}])["SecurityGroups"]
        self.assertNotIn(sg, [g["GroupId"] for g in filtered])
        self.assertEqual(self.counters()["consistency_not_found"], 3)
        self.assertEqual(self.counters()["consistency_unlisted"], 1)
        wait_ms(SETTINGS["consistency_ms"])
        self.assertEqual(describe(GroupIds=[sg])["SecurityGroups"][0]["GroupId"], sg)
        filtered = describe(Filters=[{"Name": "vpc-id", "Values": [self.vpc]}])["SecurityGroups"]
        self.assertIn(sg, [g["GroupId"] for g in filtered])

    def test_new_endpoint_not_found_and_unlisted(self) -> None:
        sg = self.group()
        wait_ms(SETTINGS["consistency_ms"])
        run = uuid.uuid4().hex
        vpce = self.endpoint(
            [sg], TagSpecifications=[{"ResourceType": "vpc-endpoint", "Tags": [{"Key": "run", "Value": run}]}]
        )["VpcEndpointId"]
        describe = self.ec2.describe_vpc_endpoints
        self.assertEqual(self.error_code(describe, VpcEndpointIds=[vpce]), "InvalidVpcEndpointId.NotFound")
        self.assertEqual(
            self.error_code(describe, Filters=[{"Name": "vpc-endpoint-id", "Values": [vpce]}]),
            "InvalidVpcEndpointId.NotFound",
        )
        by_tag = describe(Filters=[{"Name": "tag:run", "Values": [run]}])["VpcEndpoints"]
        self.assertEqual(by_tag, [])
        c = self.counters()
        self.assertEqual((c["consistency_not_found"], c["consistency_unlisted"]), (2, 1))
        wait_ms(SETTINGS["consistency_ms"])
        self.assertEqual(describe(VpcEndpointIds=[vpce])["VpcEndpoints"][0]["VpcEndpointId"], vpce)
        by_tag = describe(Filters=[{"Name": "tag:run", "Values": [run]}])["VpcEndpoints"]
        self.assertEqual([e["VpcEndpointId"] for e in by_tag], [vpce])

    # ---- network interfaces ------------------------------------------------

    def test_eni_count_grows(self) -> None:
        self.layer.http("PUT", "/_realism/config", {"consistency_ms": 0, "eni_ms": 800})
        sg = self.group()
        created = self.endpoint([sg])
        vpce, enis = created["VpcEndpointId"], created["NetworkInterfaceIds"]
        self.assertEqual(len(enis), 2)
        first = self.ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce])["VpcEndpoints"][0]
        self.assertEqual(first["NetworkInterfaceIds"], enis[:1])
        listed = self.ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [self.vpc]}])
        ids = [n["NetworkInterfaceId"] for n in listed["NetworkInterfaces"]]
        self.assertIn(enis[0], ids)
        self.assertNotIn(enis[1], ids)
        self.assertEqual(self.counters()["eni_partial"], 2)
        wait_ms(800)
        later = self.ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce])["VpcEndpoints"][0]
        self.assertEqual(sorted(later["NetworkInterfaceIds"]), sorted(enis))
        listed = self.ec2.describe_network_interfaces(NetworkInterfaceIds=enis)["NetworkInterfaces"]
        self.assertEqual(len(listed), 2)

    # ---- ClientToken -------------------------------------------------------

    def test_same_token_replays_original_answer_even_after_delete(self) -> None:
        sg = self.group()
        wait_ms(SETTINGS["consistency_ms"])
        token = uuid.uuid4().hex
        first = self.endpoint([sg], token=token)
        again = self.endpoint([sg], token=token)
        self.assertEqual(again["VpcEndpointId"], first["VpcEndpointId"])
        self.assertEqual(again, first)
        wait_ms(SETTINGS["consistency_ms"])
        self.ec2.delete_vpc_endpoints(VpcEndpointIds=[first["VpcEndpointId"]])
        after = self.endpoint([sg], token=token)
        self.assertEqual(after, first)
        listed = self.ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [self.vpc]}])
        self.assertEqual(len(listed["VpcEndpoints"]), 1, "no second endpoint was created")
        self.assertEqual(self.counters()["token_replay"], 2)

    def test_concurrent_calls_with_one_token_create_one_endpoint(self) -> None:
        self.layer.http("PUT", "/_realism/config", {"consistency_ms": 0})
        sg = self.group()
        token = uuid.uuid4().hex
        with ThreadPoolExecutor(max_workers=5) as pool:
            ids = list(pool.map(lambda _: self.endpoint([sg], token=token)["VpcEndpointId"], range(5)))
        self.assertEqual(len(set(ids)), 1, ids)
        self.assertEqual(self.counters()["token_replay"], 4)

    def test_same_token_other_parameters_is_a_mismatch(self) -> None:
        sg, other = self.group(), self.group()
        token = uuid.uuid4().hex
        self.endpoint([sg], token=token)
        code = self.error_code(self.endpoint, groups=[other], token=token)
        self.assertEqual(code, "IdempotentParameterMismatch")
        self.assertEqual(self.counters()["token_mismatch"], 1)

    # ---- lingering network interfaces ----------------------------------------

    def test_delete_group_waits_for_lingering_interfaces(self) -> None:
        self.layer.http("PUT", "/_realism/config", {"consistency_ms": 0, "linger_ms": 900})
        sg = self.group()
        vpce = self.endpoint([sg])["VpcEndpointId"]
        self.ec2.delete_vpc_endpoints(VpcEndpointIds=[vpce])
        with self.assertRaises(ClientError) as caught:
            self.ec2.delete_security_group(GroupId=sg)
        err = caught.exception.response["Error"]
        self.assertEqual(err["Code"], "DependencyViolation")
        self.assertEqual(err["Message"], f"resource {sg} has a dependent object")
        self.assertEqual(self.counters()["dependency_violation"], 1)
        wait_ms(900)
        self.ec2.delete_security_group(GroupId=sg)

    # ---- connection acceptance -----------------------------------------------

    def state(self, vpce: str) -> str:
        return self.ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce])["VpcEndpoints"][0]["State"]

    def test_pending_acceptance_then_accepted(self) -> None:
        self.layer.http("PUT", "/_realism/config", {"consistency_ms": 0})
        sg = self.group()
        created = self.endpoint([sg])
        vpce = created["VpcEndpointId"]
        self.assertEqual(created["State"], "pendingAcceptance")
        self.assertEqual(self.state(vpce), "pendingAcceptance")
        answer = self.ec2.accept_vpc_endpoint_connections(
            ServiceId="vpce-svc-0123456789abcdef0", VpcEndpointIds=[vpce]
        )
        self.assertEqual(answer["Unsuccessful"], [])
        self.assertEqual(self.state(vpce), "available")
        again = self.ec2.accept_vpc_endpoint_connections(
            ServiceId="vpce-svc-0123456789abcdef0", VpcEndpointIds=[vpce, "vpce-0000000000000000f"]
        )
        self.assertEqual(len(again["Unsuccessful"]), 2)
        c = self.counters()
        self.assertEqual((c["pending_acceptance"], c["accepted"]), (1, 1))

    def test_state_filter_sees_the_layer_s_states(self) -> None:
        self.layer.http("PUT", "/_realism/config", {"consistency_ms": 0})
        sg = self.group()
        pending = self.endpoint([sg])["VpcEndpointId"]
        aws = self.endpoint([sg], service="com.amazonaws.us-east-1.s3")["VpcEndpointId"]

        def ids(*states: str) -> list[str]:
            found = self.ec2.describe_vpc_endpoints(
                Filters=[
                    {"Name": "vpc-id", "Values": [self.vpc]},
                    {"Name": "vpc-endpoint-state", "Values": list(states)},
                ]
            )["VpcEndpoints"]
            return sorted(e["VpcEndpointId"] for e in found)

        self.assertEqual(ids("pendingAcceptance"), [pending])
        self.assertEqual(ids("available"), [aws])
        self.assertEqual(ids("available", "pendingAcceptance"), sorted([pending, aws]))

    def test_pending_acceptance_then_rejected(self) -> None:
        self.layer.http("PUT", "/_realism/config", {"consistency_ms": 0})
        vpce = self.endpoint([self.group()])["VpcEndpointId"]
        answer = self.ec2.reject_vpc_endpoint_connections(
            ServiceId="vpce-svc-0123456789abcdef0", VpcEndpointIds=[vpce]
        )
        self.assertEqual(answer["Unsuccessful"], [])
        self.assertEqual(self.state(vpce), "rejected")
        self.assertEqual(self.counters()["rejected"], 1)

    def test_auto_accept(self) -> None:
        self.layer.http("PUT", "/_realism/config", {"consistency_ms": 0, "auto_accept_ms": 500})
        vpce = self.endpoint([self.group()])["VpcEndpointId"]
        self.assertEqual(self.state(vpce), "pendingAcceptance")
        wait_ms(500)
        self.assertEqual(self.state(vpce), "available")
        self.assertEqual(self.counters()["accepted"], 1)

    def test_own_and_aws_services_are_available_at_once(self) -> None:
        self.layer.http("PUT", "/_realism/config", {"consistency_ms": 0})
        sg = self.group()
        aws = self.endpoint([sg], service="com.amazonaws.us-east-1.s3")
        self.assertEqual(aws["State"], "available")
        # elbv2 is a Query API too: it passes through the layer untouched.
        elb = boto3.client(
            "elbv2",
            region_name=REGION,
            endpoint_url=self.layer.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        nlb = elb.create_load_balancer(
            Name=f"n-{uuid.uuid4().hex[:8]}", Subnets=self.subnets, Type="network"
        )["LoadBalancers"][0]["LoadBalancerArn"]
        own = self.ec2.create_vpc_endpoint_service_configuration(
            NetworkLoadBalancerArns=[nlb], AcceptanceRequired=False
        )["ServiceConfiguration"]
        mine = self.endpoint([sg], service=own["ServiceName"])
        self.assertEqual(mine["State"], "available")
        self.assertEqual(self.counters()["pending_acceptance"], 0)

    # ---- control API and pass-through ------------------------------------------

    def test_config_round_trip_and_bad_values(self) -> None:
        got = self.layer.http("PUT", "/_realism/config", {"eni_ms": 5})
        self.assertEqual(got, {**SETTINGS, "eni_ms": 5})
        self.assertEqual(self.layer.http("GET", "/_realism/config"), got)
        with self.assertRaises(urllib.error.HTTPError) as caught:
            self.layer.http("PUT", "/_realism/config", {"eni_ms": "soon"})
        self.assertEqual(caught.exception.code, 400)
        self.assertEqual(
            sorted(self.counters()),
            sorted(
                [
                    "consistency_not_found",
                    "consistency_unlisted",
                    "eni_partial",
                    "token_replay",
                    "token_mismatch",
                    "dependency_violation",
                    "pending_acceptance",
                    "accepted",
                    "rejected",
                ]
            ),
        )

    def test_other_services_pass_through(self) -> None:
        s3 = boto3.client(
            "s3",
            region_name=REGION,
            endpoint_url=self.layer.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        bucket = f"b-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="k", Body=b"hello")
        self.assertEqual(s3.get_object(Bucket=bucket, Key="k")["Body"].read(), b"hello")
        with urllib.request.urlopen(self.layer.url + "/moto-api/", timeout=30) as r:
            self.assertEqual(r.status, 200)


if __name__ == "__main__":
    unittest.main()
