"""The benchmark's estates, seeded through the local stack's Connect emulator, and its nightly changes.

Two layouts. The standard one (any size): 3 instances, one replicated to the second Region (so 4
listed), 2 TDGs, in 2 Regions, with the shares of `LAYOUT`. The million: 10 instances of 100,000
numbers each in one account, 5 per Region. Numbers are seeded in bulk (the emulator's seeding
bypasses the API); the nightly changes are made through the public API by a client exempt from the
quota, so that only the runs measured are paced.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from localaws.demo import create_instance

ROOT = Path(__file__).resolve().parents[1]
HOME, WEST = "us-east-1", "us-west-2"
ACCOUNT = "123456789012"
SEEDER = "AKIABENCHSEEDER00000"
# Share of the standard estate per target: (name, share)
LAYOUT = (("alpha", 0.30), ("bravo", 0.20), ("charlie", 0.15), ("alpha-replica", 0.05), ("default-tdg", 0.10),
          ("global-tdg", 0.20))  # fmt: skip
MILLION_TARGETS = 10
SEED_LIMIT = 100_000  # numbers the emulator seeds in one call


@dataclass
class Estate:
    size: int
    targets: dict[str, str] = field(default_factory=dict)  # name -> ARN
    counts: dict[str, int] = field(default_factory=dict)
    instances: dict[str, list[str]] = field(default_factory=dict)  # region -> instance ids
    tdgs_per_instance: dict[str, int] = field(default_factory=dict)
    changed_ids: dict[str, set[str]] = field(default_factory=dict)  # tonight's change kind -> phone-number ids

    def minimum_calls(self) -> dict[str, int]:
        """The fewest Connect calls a complete listing needs: per Region ⌈instances/10⌉ ListInstances
        pages, per instance ⌈TDGs/10⌉ ListTrafficDistributionGroups pages, per target ⌈numbers/1000⌉
        ListPhoneNumbersV2 pages, and per instance one ListFlowAssociations and one ListContactFlows
        page (fewer than 1,000 associations and flows in these estates)."""
        instances = sum(len(ids) for ids in self.instances.values())
        return {
            "ListInstances": sum(max(1, math.ceil(len(ids) / 10)) for ids in self.instances.values()),
            "ListTrafficDistributionGroups": sum(max(1, math.ceil(n / 10)) for n in self.tdgs_per_instance.values()),
            "ListPhoneNumbersV2": sum(max(1, math.ceil(n / 1000)) for n in self.counts.values()),
            "ListFlowAssociations": instances,
            "ListContactFlows": instances,
        }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def control(endpoint: str, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        endpoint + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=1800) as response:
        body = response.read()
    return json.loads(body) if body else None


def start_stack() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "local")}
    process = subprocess.Popen(
        [sys.executable, "-m", "localaws", "--port", str(port)], env=env, stdout=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            control(endpoint, "GET", "/connect-emulator/quotas")
            return process, endpoint
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the local stack did not start")


def seeder(region: str) -> Any:
    return boto3.client("connect", region_name=region, aws_access_key_id=SEEDER, aws_secret_access_key="x")


def _seed(endpoint: str, arn: str, count: int) -> None:
    for start in range(0, count, SEED_LIMIT):
        control(endpoint, "POST", "/connect-emulator/seed", {
            "account": ACCOUNT, "region": arn.split(":")[3], "target_arn": arn, "count": min(SEED_LIMIT, count - start),
            "countries": ["US", "GB", "DE", "CA"], "types": ["DID", "TOLL_FREE"], "description_every": 5,
            "imported_every": 40,
        })  # fmt: skip


def _reset(endpoint: str) -> None:
    control(endpoint, "POST", "/connect-emulator/reset", {})
    control(endpoint, "POST", "/moto-api/reset", {})
    control(endpoint, "POST", "/connect-emulator/quotas", {"unlimited_access_keys": [SEEDER]})


def build_estate(endpoint: str, size: int) -> Estate:
    _reset(endpoint)
    home, west = seeder(HOME), seeder(WEST)
    alpha, bravo = create_instance(home, "alpha"), create_instance(home, "bravo")
    charlie = create_instance(west, "charlie")
    replica = home.replicate_instance(InstanceId=alpha["Id"], ReplicaRegion=WEST)
    default_tdg = home.list_traffic_distribution_groups(InstanceId=alpha["Id"])["TrafficDistributionGroupSummaryList"][
        0
    ]
    global_tdg = home.create_traffic_distribution_group(Name="global", InstanceId=alpha["Id"])
    estate = Estate(size)
    estate.targets = {
        "alpha": alpha["Arn"], "bravo": bravo["Arn"], "charlie": charlie["Arn"], "alpha-replica": replica["Arn"],
        "default-tdg": default_tdg["Arn"], "global-tdg": global_tdg["Arn"],
    }  # fmt: skip
    estate.instances = {HOME: [alpha["Id"], bravo["Id"]], WEST: [charlie["Id"], replica["Id"]]}
    estate.tdgs_per_instance = {"alpha": 2, "bravo": 0, "charlie": 0, "alpha-replica": 2}
    for name, share in LAYOUT:
        estate.counts[name] = round(size * share)
        _seed(endpoint, estate.targets[name], estate.counts[name])
    return estate


def build_million(endpoint: str, per_target: int = 100_000) -> Estate:
    """10 instances of `per_target` numbers, 5 in each Region; the 1% night changes the first two (both in
    the home Region: a move is between instances of one Region)."""
    _reset(endpoint)
    estate = Estate(per_target * MILLION_TARGETS)
    clients = {HOME: seeder(HOME), WEST: seeder(WEST)}
    names = ("alpha", "bravo", *(f"instance-{i}" for i in range(3, MILLION_TARGETS + 1)))
    for index, name in enumerate(names):
        region = HOME if index < MILLION_TARGETS // 2 else WEST
        instance = create_instance(clients[region], name)
        estate.targets[name] = instance["Arn"]
        estate.instances.setdefault(region, []).append(instance["Id"])
        estate.tdgs_per_instance[name] = 0
        estate.counts[name] = per_target
        _seed(endpoint, instance["Arn"], per_target)
    return estate


def change_one_percent(estate: Estate) -> dict[str, int]:
    """1% of the estate: 40% claims, 30% releases, 15% moves, 15% description edits (public API), in
    `alpha` and `bravo` (both in the home Region)."""
    total = max(4, estate.size // 100)
    plan = {"claims": total * 40 // 100, "releases": total * 30 // 100, "moves": total * 15 // 100}
    plan["updates"] = total - sum(plan.values())
    home = seeder(HOME)
    listed = [
        n
        for page in home.get_paginator("list_phone_numbers_v2").paginate(
            TargetArn=estate.targets["alpha"], PaginationConfig={"PageSize": 1000}
        )
        for n in page["ListPhoneNumbersSummaryList"]
    ]
    victims = iter(listed)
    changed: dict[str, set[str]] = {"released": set(), "moved": set(), "updated": set(), "claimed": set()}
    for _ in range(plan["releases"]):
        number = next(victims)["PhoneNumberId"]
        home.release_phone_number(PhoneNumberId=number)
        changed["released"].add(number)
    for _ in range(plan["moves"]):
        number = next(victims)["PhoneNumberId"]
        home.update_phone_number(PhoneNumberId=number, TargetArn=estate.targets["bravo"])
        changed["moved"].add(number)
    for _ in range(plan["updates"]):
        number = next(victims)["PhoneNumberId"]
        home.update_phone_number_metadata(PhoneNumberId=number, PhoneNumberDescription="edited")
        changed["updated"].add(number)
    while len(changed["claimed"]) < plan["claims"]:
        offers = home.search_available_phone_numbers(
            TargetArn=estate.targets["bravo"], PhoneNumberCountryCode="US", PhoneNumberType="DID",
            MaxResults=min(10, plan["claims"] - len(changed["claimed"])),
        )["AvailableNumbersList"]  # fmt: skip
        for offer in offers:
            claimed = home.claim_phone_number(TargetArn=estate.targets["bravo"], PhoneNumber=offer["PhoneNumber"])
            changed["claimed"].add(claimed["PhoneNumberId"])
    estate.counts["alpha"] -= plan["releases"] + plan["moves"]
    estate.counts["bravo"] += plan["moves"] + plan["claims"]
    estate.changed_ids = changed
    return plan
