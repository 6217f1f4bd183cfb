"""Creates the AWS side a privlink example needs in moto (a VPC, two subnets,
a client security group) and prints shell exports for the example's ${VAR}s;
with --count-left, counts the VPC endpoints (not deleted) and privlink-tagged
security groups still in moto instead."""
import os
import sys
import time

import boto3

ec2 = boto3.client("ec2", endpoint_url=os.environ["AWS_ENDPOINT_URL_EC2"], region_name=os.environ.get("AWS_REGION", "us-east-1"))

if "--count-left" in sys.argv:
    eps = [e for e in ec2.describe_vpc_endpoints()["VpcEndpoints"] if e["State"].lower() != "deleted"]
    sgs = ec2.describe_security_groups(Filters=[{"Name": "tag-key", "Values": ["privlink:stack"]}])["SecurityGroups"]
    print(len(eps) + len(sgs))
    sys.exit(0)

vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
a = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24", AvailabilityZone="us-east-1b")["Subnet"]["SubnetId"]
sg = ec2.create_security_group(GroupName="app-clients", Description="application servers", VpcId=vpc)["GroupId"]
# EC2 is eventually consistent: a user's group is visible well before
# privlink runs against it, so wait until it is.
for _ in range(300):
    try:
        ec2.describe_security_groups(GroupIds=[sg])
        break
    except ec2.exceptions.ClientError:
        time.sleep(0.1)
print(f"export PRIVLINK_VPC_ID={vpc} PRIVLINK_SUBNET_A={a} PRIVLINK_SUBNET_B={b} PRIVLINK_CLIENT_SG={sg}")
