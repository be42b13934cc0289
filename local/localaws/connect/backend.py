"""State and behaviour of the emulated Amazon Connect: instances, replicas, traffic distribution
groups (TDGs), contact flows, phone numbers and their flow associations, per account and Region.

Each public method named after an API operation takes the validated request parameters and
returns the response body, or raises `ApiError` exactly as the service would. Asynchronous work
(claims, moves, metadata updates, instance creation, TDG creation and deletion) is settled lazily
against the clock.

A TDG's status decides what it answers: ListPhoneNumbersV2 lists a TDG that is ACTIVE,
UPDATE_IN_PROGRESS, DELETION_FAILED or CREATION_IN_PROGRESS (which has no numbers yet) and answers
ResourceNotFoundException for one that is CREATION_FAILED or PENDING_DELETION; ClaimPhoneNumber,
UpdatePhoneNumber and SearchAvailablePhoneNumbers accept a TDG that is ACTIVE, UPDATE_IN_PROGRESS
or DELETION_FAILED, answer InvalidParameterException while it is CREATION_IN_PROGRESS and
ResourceNotFoundException once it failed or is being deleted (InvalidParameterException from
SearchAvailablePhoneNumbers, whose model lists no ResourceNotFoundException). Describe and List
show every status.

Contact flows and flow associations live per instance and Region. A replica instance is a mirror:
ReplicateInstance copies the instance's flows to it, and a flow created or deleted in either instance
of the pair is created or deleted in the other, with the same id (AWS: "ReplicateInstance copies the
Amazon Connect configuration across AWS Regions"). A number claimed to an instance is associated in
that instance only; one claimed to a TDG is associated in either of its Regions and the association
is mirrored to the TDG's instance in the other Region (AWS: "The phone number to flow association
will be mirrored between Amazon Connect instances across AWS Regions"). So each Region's instance
lists it, under its own instance id. A move drops the number's associations (UpdatePhoneNumber
"doesn't migrate the flow configuration"); deleting a flow does not: the association then names a
flow that no longer exists.

DescribePhoneNumber and Associate/DisassociatePhoneNumberContactFlow name a number claimed to a TDG
by id or ARN in the TDG's home Region, by ARN only in its other Region (ResourceNotFoundException for
an id), as AWS documents for these three; the other operations take either.

A claim that fails stays claimed to the account, listed and described FAILED, for one day (AWS: "you
have one day to retry claiming the phone number before the number is released back to the
inventory"); a retry within the day claims it afresh, under a new id.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from ..page_tokens import Tokens, request_scope
from ..service_model import ApiError
from . import numbering
from .limits import EstateChange

# A failed claim holds its number for the account this long, then the number returns to the pool.
FAILED_CLAIM_HOLD_SECONDS = 24 * 3600
FLOW_ASSOCIATION_FORMS = ("ARN", "ID")

# Region pairs between which Connect Global Resiliency replicates instances.
REPLICATION_PAIRS = frozenset(
    {
        frozenset({"us-east-1", "us-west-2"}),
        frozenset({"eu-central-1", "eu-west-2"}),
        frozenset({"ap-southeast-2", "ap-northeast-1"}),
        frozenset({"ca-central-1", "us-east-1"}),
    }
)


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def connect_arn(region: str, account: str, resource: str) -> str:
    return f"arn:{partition_of(region)}:connect:{region}:{account}:{resource}"


def parse_arn(arn: str) -> tuple[str, str, str, str] | None:
    """(region, account, resource type, id) of a Connect ARN, or None."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "connect":
        return None
    kind, _, ident = parts[5].partition("/")
    if not ident or "/" in ident:
        return None
    return parts[3], parts[4], kind, ident


@dataclass
class Instance:
    id: str
    arn: str
    region: str
    alias: str
    identity_management_type: str
    inbound: bool
    outbound: bool
    created: float
    ready_at: float
    fails: bool = False
    replicas: dict[str, str] = field(default_factory=dict)  # the instance's id in each of its other Regions
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def replica_regions(self) -> set[str]:
        return set(self.replicas)

    def status(self, now: float) -> str:
        if now < self.ready_at:
            return "CREATION_IN_PROGRESS"
        return "CREATION_FAILED" if self.fails else "ACTIVE"


class TdgStatus(StrEnum):
    CREATION_IN_PROGRESS = "CREATION_IN_PROGRESS"
    ACTIVE = "ACTIVE"
    CREATION_FAILED = "CREATION_FAILED"
    PENDING_DELETION = "PENDING_DELETION"
    DELETION_FAILED = "DELETION_FAILED"
    UPDATE_IN_PROGRESS = "UPDATE_IN_PROGRESS"


TDG_GONE = frozenset({TdgStatus.CREATION_FAILED, TdgStatus.PENDING_DELETION})
TDG_NOT_READY = frozenset({TdgStatus.CREATION_IN_PROGRESS})


@dataclass
class Transition:
    """A TDG's next status and when it takes it; `to` None: the TDG is deleted then."""

    at: float
    to: TdgStatus | None


@dataclass
class TrafficDistributionGroup:
    id: str
    arn: str
    name: str
    description: str | None
    instance_id: str
    instance_arn: str
    home_region: str
    is_default: bool
    status: TdgStatus
    transition: Transition | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Pending:
    """An asynchronous change to a number, applied when its time comes (or failed)."""

    kind: str  # CLAIM | MOVE | METADATA
    completes_at: float
    fails: bool
    target_arn: str | None = None
    description: str | None = None


@dataclass
class Number:
    id: str
    arn: str
    region: str
    e164: str
    country: str
    type: str
    target_arn: str
    description: str | None
    source_arn: str | None
    tags: dict[str, str] = field(default_factory=dict)
    status: str = "CLAIMED"
    message: str | None = None
    visible: bool = True  # a claim becomes visible once it has completed, or failed
    pending: Pending | None = None
    claim_failed_until: float | None = None  # a failed claim: when its number returns to the pool


@dataclass
class Flow:
    id: str
    arn: str
    name: str
    type: str
    description: str | None
    content: str
    status: str
    tags: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "Arn": self.arn,
            "Name": self.name,
            "ContactFlowType": self.type,
            "ContactFlowState": "ACTIVE",
            "ContactFlowStatus": self.status,
        }


InstanceKey = tuple[str, str]  # (Region, instance id): where flows and associations live


class AccountState:
    """One account: instances per Region, TDGs and numbers (which know their own Region)."""

    def __init__(self) -> None:
        self.instances: dict[tuple[str, str], Instance] = {}
        self.tdgs: dict[str, TrafficDistributionGroup] = {}
        self.numbers: dict[str, Number] = {}
        self.by_e164: dict[str, str] = {}
        self.by_target: dict[str, list[str]] = {}  # sorted number ids, visible numbers only
        self.pending: set[str] = set()
        self.failed_claims: set[str] = set()
        self.flows: dict[InstanceKey, dict[str, Flow]] = {}  # flow id -> flow
        self.associations: dict[InstanceKey, dict[str, str]] = {}  # number id -> flow id
        self.idempotency: dict[tuple[str, str], tuple[str, Any]] = {}

    def index(self, number: Number) -> None:
        bisect.insort(self.by_target.setdefault(number.target_arn, []), number.id)

    def unindex(self, number: Number) -> None:
        ids = self.by_target.get(number.target_arn, [])
        position = bisect.bisect_left(ids, number.id)
        if position < len(ids) and ids[position] == number.id:
            ids.pop(position)

    def disassociate(self, number_id: str) -> None:
        for associations in self.associations.values():
            associations.pop(number_id, None)


@dataclass
class Settings:
    async_delay_seconds: float = 0.0
    fail_next_async: int = 0
    # While a move is IN_PROGRESS the number is on no listing (DescribePhoneNumber still answers it).
    hide_in_progress_moves: bool = False
    # A replica instance gets an id of its own, and a TDG's numbers name the instance of the Region
    # they are listed from (AWS documents that a replica keeps the instance's id: the default).
    distinct_replica_ids: bool = False
    # What ListFlowAssociations answers as a number's ResourceId and as its FlowId: "ARN" (the model's
    # shape for both, and what callers report AWS answers) or "ID".
    flow_association_resource_id: str = "ARN"
    flow_association_flow_id: str = "ARN"

    def check(self) -> None:
        for name in ("flow_association_resource_id", "flow_association_flow_id"):
            if getattr(self, name) not in FLOW_ASSOCIATION_FORMS:
                raise ValueError(f"{name} must be one of {FLOW_ASSOCIATION_FORMS}, not {getattr(self, name)!r}")


class ConnectBackend:
    """The emulated service. `call(operation, account, region, params)` runs one operation."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        self.accounts: dict[str, AccountState] = {}
        self.tokens = Tokens()
        self.settings = Settings()

    def account(self, account_id: str) -> AccountState:
        return self.accounts.setdefault(account_id, AccountState())

    def configure(self, changes: dict[str, Any]) -> Settings:
        """Change settings (all or none: an unknown name or a bad value changes nothing)."""
        with self.lock:
            wanted = asdict(self.settings)
            for key, value in changes.items():
                if key not in wanted:
                    raise ValueError(f"unknown setting: {key}; known: {sorted(wanted)}")
                wanted[key] = type(wanted[key])(value)
            settings = Settings(**wanted)
            settings.check()
            self.settings = settings
            return settings

    def implemented(self, operation: str) -> bool:
        return hasattr(self, f"op_{operation}")

    def call(
        self,
        operation: str,
        account: str,
        region: str,
        params: dict[str, Any],
        invalid: Callable[[str], ApiError],
    ) -> dict[str, Any]:
        with self.lock:
            state = self.account(account)
            self._settle(state)
            handler = getattr(self, f"op_{operation}")
            result: dict[str, Any] = handler(Call(state, account, region, params, invalid))
            return result

    # ------------------------------------------------------------------ helpers
    def _async_outcome(self) -> tuple[float, bool]:
        fails = self.settings.fail_next_async > 0
        if fails:
            self.settings.fail_next_async -= 1
        return self.clock() + self.settings.async_delay_seconds, fails

    def _settle(self, state: AccountState) -> None:
        now = self.clock()
        for tdg in list(state.tdgs.values()):
            if tdg.transition is not None and tdg.transition.at <= now:
                if tdg.transition.to is None:
                    del state.tdgs[tdg.id]
                else:
                    tdg.status, tdg.transition = tdg.transition.to, None
        for number_id in list(state.pending):
            number = state.numbers[number_id]
            pending = number.pending
            if pending is None or pending.completes_at > now:
                continue
            number.pending = None
            state.pending.discard(number_id)
            if pending.kind == "MOVE" and not number.visible:  # a hidden move: listed again, wherever it ends
                number.visible = True
                state.index(number)
            if pending.fails:
                number.status = "FAILED"
                number.message = f"{pending.kind.title()} failed"
                if pending.kind == "CLAIM":
                    number.claim_failed_until = pending.completes_at + FAILED_CLAIM_HOLD_SECONDS
                    state.failed_claims.add(number_id)
                    number.visible = True
                    state.index(number)
                continue
            number.status, number.message = "CLAIMED", None
            if pending.kind == "CLAIM":
                number.visible = True
                state.index(number)
            elif pending.kind == "MOVE" and pending.target_arn:
                state.unindex(number)
                number.target_arn = pending.target_arn
                state.disassociate(number.id)
                state.index(number)
            elif pending.kind == "METADATA":
                number.description = pending.description
        for number_id in list(state.failed_claims):
            until = state.numbers[number_id].claim_failed_until
            if until is not None and until <= now:
                self._release(state, state.numbers[number_id])

    def _instance(self, call: Call, ident: str, code: str = "ResourceNotFoundException") -> Instance:
        region = call.region
        if ident.startswith("arn:"):
            parsed = parse_arn(ident)
            if parsed is None or parsed[2] != "instance" or parsed[1] != call.account:
                raise ApiError(code, f"Instance {ident} not found")
            region, ident = parsed[0], parsed[3]
        instance = call.state.instances.get((region, ident))
        if instance is None or region != call.region:
            raise ApiError(code, f"Instance {ident} not found in {call.region}")
        return instance

    def _tdg(self, call: Call, ident: str, code: str = "ResourceNotFoundException") -> TrafficDistributionGroup:
        by_arn = ident.startswith("arn:")
        tdg_id = ident.rsplit("/", 1)[-1] if by_arn else ident
        tdg = call.state.tdgs.get(tdg_id)
        if tdg is None or (by_arn and tdg.arn != ident):
            raise ApiError(code, f"Traffic distribution group {ident} not found")
        if call.region not in self._tdg_regions(call.state, tdg):
            raise ApiError(code, f"Traffic distribution group {ident} not found in {call.region}")
        if call.region != tdg.home_region and not by_arn:
            # From the replica Region a TDG must be named by ARN.
            raise ApiError(code, f"Traffic distribution group {ident} not found in {call.region}")
        return tdg

    def _tdg_regions(self, state: AccountState, tdg: TrafficDistributionGroup) -> set[str]:
        home = state.instances.get((tdg.home_region, tdg.instance_id))
        return {tdg.home_region, *(home.replica_regions if home else ())}

    def _target(self, call: Call, target_arn: str | None, instance_id: str | None, *, listing: bool = False) -> str:
        """The ARN of the target (instance or TDG) a request names, resolved for this Region: for a
        listing, or (`listing` False) to claim or move numbers to."""
        if target_arn:
            parsed = parse_arn(target_arn)
            if parsed is None or parsed[2] not in ("instance", "traffic-distribution-group"):
                raise call.invalid(f"TargetArn {target_arn} is not an instance or traffic distribution group ARN")
            if parsed[2] == "instance":
                return self._instance(call, target_arn).arn
            tdg = self._tdg(call, target_arn)
            if tdg.status in TDG_GONE:
                raise ApiError("ResourceNotFoundException", f"Traffic distribution group {tdg.arn} is {tdg.status}")
            if not listing and tdg.status in TDG_NOT_READY:
                raise call.invalid(f"Traffic distribution group {tdg.arn} is {tdg.status}, not ACTIVE")
            return tdg.arn
        if instance_id:
            return self._instance(call, instance_id).arn
        raise call.invalid("TargetArn or InstanceId is required")

    def _target_instance_id(self, call: Call, target_arn: str) -> str:
        """The InstanceId a number on this target carries when listed from the call's Region."""
        parsed = parse_arn(target_arn)
        assert parsed is not None
        if parsed[2] == "instance":
            return parsed[3]
        tdg = call.state.tdgs[parsed[3]]
        home = call.state.instances.get((tdg.home_region, tdg.instance_id))
        if home is None or call.region == tdg.home_region:
            return tdg.instance_id
        return home.replicas.get(call.region, tdg.instance_id)

    def _number(self, call: Call, ident: str, *, arn_outside_tdg_home: bool = False) -> Number:
        """The number `ident` (id or ARN) names, reachable from the call's Region. With
        `arn_outside_tdg_home`, a number claimed to a TDG is named by ARN only outside the TDG's home
        Region (AWS documents so for DescribePhoneNumber and Associate/DisassociatePhoneNumberContactFlow)."""
        by_arn = ident.startswith("arn:")
        number = call.state.numbers.get(ident.rsplit("/", 1)[-1] if by_arn else ident)
        hidden = number is None or (not number.visible and number.status != "IN_PROGRESS")
        if number is None or hidden or (by_arn and number.arn != ident):
            raise ApiError("ResourceNotFoundException", f"Phone number {ident} not found")
        if number.region != call.region and not self._reachable_from(call, number):
            raise ApiError("ResourceNotFoundException", f"Phone number {ident} not found in {call.region}")
        if arn_outside_tdg_home and not by_arn and call.region != self._tdg_home_of(call.state, number):
            raise ApiError("ResourceNotFoundException", f"Phone number {ident} not found in {call.region}")
        return number

    def _tdg_home_of(self, state: AccountState, number: Number) -> str:
        """The home Region of the TDG the number is claimed to (its own Region if it is on an instance)."""
        parsed = parse_arn(number.target_arn)
        tdg = state.tdgs.get(parsed[3]) if parsed is not None and parsed[2] == "traffic-distribution-group" else None
        return tdg.home_region if tdg is not None else number.region

    def _claimed(self, number: Number) -> None:
        """Refuses a change to a number whose claim failed (it can only be released, or claimed again)."""
        if number.claim_failed_until is not None:
            raise ApiError("InvalidParameterException", f"The claim of phone number {number.id} failed")

    def _reachable_from(self, call: Call, number: Number) -> bool:
        parsed = parse_arn(number.target_arn)
        if parsed is None or parsed[2] != "traffic-distribution-group":
            return False
        tdg = call.state.tdgs.get(parsed[3])
        return tdg is not None and call.region in self._tdg_regions(call.state, tdg)

    def _idempotent(self, call: Call, operation: str, body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        token = call.params.get("ClientToken")
        if not token:
            return body()
        key = (operation, token)
        fingerprint = request_scope(call.params)
        if key in call.state.idempotency:
            seen, result = call.state.idempotency[key]
            if seen != fingerprint:
                raise ApiError("IdempotencyException", "ClientToken was used with different parameters")
            return dict(result)
        result = body()
        call.state.idempotency[key] = (fingerprint, result)
        return result

    def _page(
        self, call: Call, items: list[Any], key: Callable[[Any], str], default_max: int
    ) -> tuple[list[Any], str | None]:
        """One page of `items` (sorted by `key`) after the cursor in NextToken."""
        scope = request_scope(call.params)
        start = 0
        if call.params.get("NextToken"):
            after = call.state_tokens_read(self.tokens, scope)
            start = bisect.bisect_right([key(i) for i in items], after)
        limit = call.params.get("MaxResults", default_max)
        page = items[start : start + limit]
        more = start + limit < len(items)
        return page, (self.tokens.issue(scope, key(page[-1])) if more and page else None)

    # --------------------------------------------------------------- instances
    def op_CreateInstance(self, call: Call) -> dict[str, Any]:
        def create() -> dict[str, Any]:
            p = call.params
            alias = p.get("InstanceAlias") or f"instance-{uuid.uuid4().hex[:8]}"
            if any(i.alias == alias for i in call.state.instances.values()):
                raise ApiError("InvalidRequestException", f"InstanceAlias {alias} is already in use")
            ident = str(uuid.uuid4())
            ready_at, fails = self._async_outcome()
            instance = Instance(
                id=ident,
                arn=connect_arn(call.region, call.account, f"instance/{ident}"),
                region=call.region,
                alias=alias,
                identity_management_type=p["IdentityManagementType"],
                inbound=p["InboundCallsEnabled"],
                outbound=p["OutboundCallsEnabled"],
                created=self.clock(),
                ready_at=ready_at,
                fails=fails,
                tags=dict(p.get("Tags", {})),
            )
            call.state.instances[(call.region, ident)] = instance
            return {"Id": ident, "Arn": instance.arn}

        return self._idempotent(call, "CreateInstance", create)

    def _instance_summary(self, instance: Instance) -> dict[str, Any]:
        return {
            "Id": instance.id,
            "Arn": instance.arn,
            "IdentityManagementType": instance.identity_management_type,
            "InstanceAlias": instance.alias,
            "CreatedTime": instance.created,
            "ServiceRole": (
                f"arn:{partition_of(instance.region)}:iam::{instance.arn.split(':')[4]}:role/aws-service-role/"
                "connect.amazonaws.com/AWSServiceRoleForAmazonConnect"
            ),
            "InstanceStatus": instance.status(self.clock()),
            "InboundCallsEnabled": instance.inbound,
            "OutboundCallsEnabled": instance.outbound,
            "InstanceAccessUrl": f"https://{instance.alias}.my.connect.aws",
        }

    def op_ListInstances(self, call: Call) -> dict[str, Any]:
        instances = sorted(
            (i for (region, _), i in call.state.instances.items() if region == call.region),
            key=lambda i: i.id,
        )
        page, token = self._page(call, instances, lambda i: i.id, 10)
        result: dict[str, Any] = {"InstanceSummaryList": [self._instance_summary(i) for i in page]}
        if token:
            result["NextToken"] = token
        return result

    def op_DescribeInstance(self, call: Call) -> dict[str, Any]:
        instance = self._instance(call, call.params["InstanceId"])
        summary = self._instance_summary(instance)
        return {
            "Instance": {
                "Id": instance.id,
                "Arn": instance.arn,
                "IdentityManagementType": instance.identity_management_type,
                "InstanceAlias": instance.alias,
                "CreatedTime": instance.created,
                "ServiceRole": summary["ServiceRole"],
                "InstanceStatus": summary["InstanceStatus"],
                "InboundCallsEnabled": instance.inbound,
                "OutboundCallsEnabled": instance.outbound,
                "InstanceAccessUrl": summary["InstanceAccessUrl"],
                "Tags": instance.tags,
            }
        }

    def op_DeleteInstance(self, call: Call) -> dict[str, Any]:
        instance = self._instance(call, call.params["InstanceId"])
        state = call.state
        doomed_targets = {instance.arn}
        for tdg in list(state.tdgs.values()):
            if tdg.instance_id == instance.id and tdg.home_region == instance.region:
                doomed_targets.add(tdg.arn)
                del state.tdgs[tdg.id]
        for number in list(state.numbers.values()):
            if number.target_arn in doomed_targets:
                self._release(state, number)
        for region, ident in instance.replicas.items():
            peer = state.instances.get((region, ident))
            if peer is not None:
                peer.replicas.pop(instance.region, None)
        del state.instances[(instance.region, instance.id)]
        state.flows.pop((instance.region, instance.id), None)
        state.associations.pop((instance.region, instance.id), None)
        return {}

    def op_ReplicateInstance(self, call: Call) -> dict[str, Any]:
        p = call.params
        instance = self._instance(call, p["InstanceId"])
        replica_region = p["ReplicaRegion"]
        if frozenset({call.region, replica_region}) not in REPLICATION_PAIRS:
            raise ApiError(
                "InvalidRequestException",
                f"Replication from {call.region} to {replica_region} is not supported",
            )
        if instance.status(self.clock()) != "ACTIVE":
            raise ApiError("ResourceNotReadyException", f"Instance {instance.id} is not ACTIVE")
        if instance.replicas or (replica_region, instance.id) in call.state.instances:
            raise ApiError("ResourceConflictException", f"Instance {instance.id} is already replicated")
        alias = p.get("ReplicaAlias") or f"{instance.alias}-replica"
        replica_id = str(uuid.uuid4()) if self.settings.distinct_replica_ids else instance.id
        replica = Instance(
            id=replica_id,
            arn=connect_arn(replica_region, call.account, f"instance/{replica_id}"),
            region=replica_region,
            alias=alias,
            identity_management_type=instance.identity_management_type,
            inbound=instance.inbound,
            outbound=instance.outbound,
            created=self.clock(),
            ready_at=self.clock(),
            replicas={call.region: instance.id},
        )
        call.state.instances[(replica_region, replica_id)] = replica
        instance.replicas[replica_region] = replica_id
        mirrored = (replica_region, replica_id)
        call.state.flows[mirrored] = {
            flow.id: replace(flow, arn=self._flow_arn(mirrored, call.account, flow.id), tags=dict(flow.tags))
            for flow in call.state.flows.get((instance.region, instance.id), {}).values()
        }
        # The default TDG takes the async delay but never fails: fail_next_async is for what a caller creates.
        ready_at = self.clock() + self.settings.async_delay_seconds
        self._new_tdg(call, instance, f"{instance.alias}-default", None, True, {}, (ready_at, False))
        return {"Id": replica.id, "Arn": replica.arn}

    # --------------------------------------------------------------------- TDGs
    def _new_tdg(
        self,
        call: Call,
        instance: Instance,
        name: str,
        description: str | None,
        is_default: bool,
        tags: dict[str, str],
        outcome: tuple[float, bool],
    ) -> TrafficDistributionGroup:
        ident = str(uuid.uuid4())
        ready_at, fails = outcome
        tdg = TrafficDistributionGroup(
            id=ident,
            arn=connect_arn(instance.region, call.account, f"traffic-distribution-group/{ident}"),
            name=name,
            description=description,
            instance_id=instance.id,
            instance_arn=instance.arn,
            home_region=instance.region,
            is_default=is_default,
            status=TdgStatus.CREATION_IN_PROGRESS,
            transition=Transition(ready_at, TdgStatus.CREATION_FAILED if fails else TdgStatus.ACTIVE),
            tags=tags,
        )
        call.state.tdgs[ident] = tdg
        self._settle(call.state)
        return tdg

    def op_CreateTrafficDistributionGroup(self, call: Call) -> dict[str, Any]:
        def create() -> dict[str, Any]:
            p = call.params
            instance = self._instance(call, p["InstanceId"])
            if not instance.replica_regions:
                raise ApiError(
                    "InvalidRequestException",
                    f"Instance {instance.id} is not replicated: "
                    "replicate it before creating a traffic distribution group",
                )
            if any(t.name == p["Name"] and t.instance_id == instance.id for t in call.state.tdgs.values()):
                raise ApiError("ResourceConflictException", f"A traffic distribution group named {p['Name']} exists")
            tags = dict(p.get("Tags", {}))
            tdg = self._new_tdg(call, instance, p["Name"], p.get("Description"), False, tags, self._async_outcome())
            return {"Id": tdg.id, "Arn": tdg.arn}

        return self._idempotent(call, "CreateTrafficDistributionGroup", create)

    def _tdg_summary(self, tdg: TrafficDistributionGroup) -> dict[str, Any]:
        return {
            "Id": tdg.id,
            "Arn": tdg.arn,
            "Name": tdg.name,
            "InstanceArn": tdg.instance_arn,
            "Status": tdg.status.value,
            "IsDefault": tdg.is_default,
        }

    def op_ListTrafficDistributionGroups(self, call: Call) -> dict[str, Any]:
        instance_id = call.params.get("InstanceId")
        wanted: set[str] | None = None
        if instance_id:
            instance = self._instance(call, instance_id, code="InvalidRequestException")
            wanted = {instance.id, *instance.replicas.values()}
        tdgs = sorted(
            (
                t
                for t in call.state.tdgs.values()
                if call.region in self._tdg_regions(call.state, t) and (wanted is None or t.instance_id in wanted)
            ),
            key=lambda t: t.id,
        )
        page, token = self._page(call, tdgs, lambda t: t.id, 10)
        result: dict[str, Any] = {"TrafficDistributionGroupSummaryList": [self._tdg_summary(t) for t in page]}
        if token:
            result["NextToken"] = token
        return result

    def op_DescribeTrafficDistributionGroup(self, call: Call) -> dict[str, Any]:
        tdg = self._tdg(call, call.params["TrafficDistributionGroupId"])
        summary = self._tdg_summary(tdg)
        summary.update({"Description": tdg.description, "Tags": tdg.tags})
        return {"TrafficDistributionGroup": {k: v for k, v in summary.items() if v is not None}}

    def op_DeleteTrafficDistributionGroup(self, call: Call) -> dict[str, Any]:
        tdg = self._tdg(call, call.params["TrafficDistributionGroupId"], code="InvalidRequestException")
        if tdg.is_default:
            raise ApiError("InvalidRequestException", "The default traffic distribution group cannot be deleted")
        if tdg.status is TdgStatus.PENDING_DELETION:
            raise ApiError("InvalidRequestException", f"Traffic distribution group {tdg.id} is already being deleted")
        if call.state.by_target.get(tdg.arn):
            raise ApiError(
                "ResourceInUseException",
                "Release or move the phone numbers claimed to this traffic distribution group first",
                ResourceType="TRAFFIC_DISTRIBUTION_GROUP",
                ResourceId=tdg.id,
            )
        gone_at, fails = self._async_outcome()
        tdg.status = TdgStatus.PENDING_DELETION
        tdg.transition = Transition(gone_at, TdgStatus.DELETION_FAILED if fails else None)
        self._settle(call.state)
        return {}

    def complete_pending(self) -> int:
        """Let every pending claim, move and metadata change end now, as it would once its time came
        (a test's "the next morning", without waiting for `async_delay_seconds`). Returns how many."""
        with self.lock:
            now, completed = self.clock(), 0
            for state in self.accounts.values():
                for number_id in state.pending:
                    pending = state.numbers[number_id].pending
                    if pending is not None:
                        pending.completes_at = min(pending.completes_at, now)
                        completed += 1
                self._settle(state)
            return completed

    def set_tdg_status(self, tdg_arn: str, status: str) -> dict[str, Any]:
        """Put a TDG in any status at once (the control API's way to reach every status)."""
        parsed = parse_arn(tdg_arn)
        if parsed is None or parsed[2] != "traffic-distribution-group":
            raise ValueError(f"not a traffic distribution group ARN: {tdg_arn}")
        try:
            wanted = TdgStatus(status)
        except ValueError:
            raise ValueError(f"status must be one of {[s.value for s in TdgStatus]}, not {status!r}") from None
        with self.lock:
            state = self.account(parsed[1])
            self._settle(state)
            tdg = state.tdgs.get(parsed[3])
            if tdg is None or tdg.arn != tdg_arn:
                raise ValueError(f"no traffic distribution group {tdg_arn}")
            tdg.status, tdg.transition = wanted, None
            return self._tdg_summary(tdg)

    # ------------------------------------------------------------ phone numbers
    def op_SearchAvailablePhoneNumbers(self, call: Call) -> dict[str, Any]:
        p = call.params
        self._target(call, p.get("TargetArn"), p.get("InstanceId"))
        scope = request_scope(p)
        skip = 0
        if p.get("NextToken"):
            skip = int(call.state_tokens_read(self.tokens, scope))
        limit = p.get("MaxResults", 10)
        found: list[dict[str, str]] = []
        seen = 0
        for candidate in numbering.supply(
            p["PhoneNumberCountryCode"], p["PhoneNumberType"], p.get("PhoneNumberPrefix")
        ):
            if candidate in call.state.by_e164:
                continue
            seen += 1
            if seen <= skip:
                continue
            found.append(
                {
                    "PhoneNumber": candidate,
                    "PhoneNumberCountryCode": p["PhoneNumberCountryCode"],
                    "PhoneNumberType": p["PhoneNumberType"],
                }
            )
            if len(found) == limit:
                break
        result: dict[str, Any] = {"AvailableNumbersList": found}
        if len(found) == limit:
            result["NextToken"] = self.tokens.issue(scope, skip + limit)
        return result

    def _add_number(
        self,
        call: Call,
        e164: str,
        country: str,
        number_type: str,
        target_arn: str,
        description: str | None,
        source_arn: str | None,
        tags: dict[str, str],
        asynchronous: bool,
        index: bool = True,
    ) -> Number:
        ident = str(uuid.uuid4())
        number = Number(
            id=ident,
            arn=connect_arn(call.region, call.account, f"phone-number/{ident}"),
            region=call.region,
            e164=e164,
            country=country,
            type=number_type,
            target_arn=target_arn,
            description=description,
            source_arn=source_arn,
            tags=tags,
        )
        state = call.state
        state.numbers[ident] = number
        state.by_e164[e164] = ident
        if asynchronous:
            completes_at, fails = self._async_outcome()
            number.status, number.visible = "IN_PROGRESS", False
            number.pending = Pending("CLAIM", completes_at, fails)
            state.pending.add(ident)
            self._settle(state)
        elif index:
            state.index(number)
        return number

    def op_ClaimPhoneNumber(self, call: Call) -> dict[str, Any]:
        def claim() -> dict[str, Any]:
            p = call.params
            target_arn = self._target(call, p.get("TargetArn"), p.get("InstanceId"))
            e164 = p["PhoneNumber"]
            held = call.state.numbers.get(call.state.by_e164.get(e164, ""))
            if held is not None and held.claim_failed_until is not None:
                self._release(call.state, held)  # the account retries its failed claim
            if e164 in call.state.by_e164:
                raise ApiError("InvalidParameterException", f"PhoneNumber {e164} is not available")
            kind = numbering.classify(e164)
            if kind is None:
                raise ApiError("InvalidParameterException", f"PhoneNumber {e164} is not available")
            number = self._add_number(
                call,
                e164,
                kind[0],
                kind[1],
                target_arn,
                p.get("PhoneNumberDescription"),
                None,
                dict(p.get("Tags", {})),
                asynchronous=True,
            )
            return {"PhoneNumberId": number.id, "PhoneNumberArn": number.arn}

        return self._idempotent(call, "ClaimPhoneNumber", claim)

    def op_ImportPhoneNumber(self, call: Call) -> dict[str, Any]:
        def import_number() -> dict[str, Any]:
            p = call.params
            instance = self._instance(call, p["InstanceId"])
            source = p["SourcePhoneNumberArn"]
            parts = source.split(":", 5)
            if len(parts) != 6 or parts[2] != "sms-voice" or not parts[5].startswith("phone-number/"):
                raise ApiError(
                    "InvalidParameterException",
                    "SourcePhoneNumberArn is not an AWS End User Messaging phone number ARN",
                )
            if parts[1] != partition_of(call.region):
                raise ApiError(
                    "InvalidParameterException",
                    f"SourcePhoneNumberArn is in partition {parts[1]}, not {partition_of(call.region)}",
                )
            if any(n.source_arn == source for n in call.state.numbers.values() if n.visible):
                raise ApiError("InvalidParameterException", f"{source} is already imported")
            digest = int(hashlib.sha256(source.encode()).hexdigest(), 16)
            e164 = f"+1{numbering.DID_AREA_CODES['US'][digest % 8]}{digest % 10**7:07d}"
            while e164 in call.state.by_e164:
                digest += 1
                e164 = f"+1{numbering.DID_AREA_CODES['US'][digest % 8]}{digest % 10**7:07d}"
            number = self._add_number(
                call,
                e164,
                "US",
                "DID",
                instance.arn,
                p.get("PhoneNumberDescription"),
                source,
                dict(p.get("Tags", {})),
                asynchronous=True,
            )
            return {"PhoneNumberId": number.id, "PhoneNumberArn": number.arn}

        return self._idempotent(call, "ImportPhoneNumber", import_number)

    def _release(self, state: AccountState, number: Number) -> None:
        if number.visible:
            state.unindex(number)
        state.pending.discard(number.id)
        state.failed_claims.discard(number.id)
        state.disassociate(number.id)
        state.by_e164.pop(number.e164, None)
        del state.numbers[number.id]

    def _busy(self, number: Number) -> None:
        if number.pending is not None:
            raise ApiError(
                "ResourceInUseException",
                f"Phone number {number.id} has an operation in progress",
                ResourceType="PHONE_NUMBER",
                ResourceId=number.id,
            )

    def op_ReleasePhoneNumber(self, call: Call) -> dict[str, Any]:
        number = self._number(call, call.params["PhoneNumberId"])
        self._busy(number)
        self._release(call.state, number)
        return {}

    def op_UpdatePhoneNumber(self, call: Call) -> dict[str, Any]:
        p = call.params
        number = self._number(call, p["PhoneNumberId"])
        self._busy(number)
        self._claimed(number)
        if number.region != call.region:
            raise ApiError("InvalidParameterException", f"Phone number {number.id} belongs to {number.region}")
        target_arn = self._target(call, p.get("TargetArn"), p.get("InstanceId"))
        completes_at, fails = self._async_outcome()
        number.status = "IN_PROGRESS"
        number.pending = Pending("MOVE", completes_at, fails, target_arn=target_arn)
        call.state.pending.add(number.id)
        if self.settings.hide_in_progress_moves:
            call.state.unindex(number)
            number.visible = False
        self._settle(call.state)
        return {"PhoneNumberId": number.id, "PhoneNumberArn": number.arn}

    def op_UpdatePhoneNumberMetadata(self, call: Call) -> dict[str, Any]:
        p = call.params
        number = self._number(call, p["PhoneNumberId"])
        self._busy(number)
        self._claimed(number)
        completes_at, fails = self._async_outcome()
        number.status = "IN_PROGRESS"
        number.pending = Pending("METADATA", completes_at, fails, description=p.get("PhoneNumberDescription"))
        call.state.pending.add(number.id)
        self._settle(call.state)
        return {}

    def op_DescribePhoneNumber(self, call: Call) -> dict[str, Any]:
        number = self._number(call, call.params["PhoneNumberId"], arn_outside_tdg_home=True)
        summary = self._summary(call, number)
        summary["Tags"] = number.tags
        summary["PhoneNumberStatus"] = {"Status": number.status}
        if number.message:
            summary["PhoneNumberStatus"]["Message"] = number.message
        return {"ClaimedPhoneNumberSummary": summary}

    def _taggable(self, call: Call) -> Number | Instance | TrafficDistributionGroup | Flow:
        arn = call.params["resourceArn"]
        parsed = parse_arn(arn)
        state = call.state
        resource: Number | Instance | TrafficDistributionGroup | Flow | None = None
        if parsed and parsed[1] == call.account:
            region, _, kind, ident = parsed
            if kind == "phone-number":
                resource = state.numbers.get(ident)
            elif kind == "instance":
                resource = state.instances.get((region, ident))
            elif kind == "traffic-distribution-group":
                resource = state.tdgs.get(ident)
        elif arn.startswith(f"arn:{partition_of(call.region)}:connect:{call.region}:{call.account}:instance/"):
            instance_id, _, flow_id = arn.split(":", 5)[5].removeprefix("instance/").partition("/contact-flow/")
            resource = state.flows.get((call.region, instance_id), {}).get(flow_id)
        if resource is None or resource.arn != arn:
            raise ApiError("ResourceNotFoundException", f"Resource {arn} not found")
        return resource

    def op_TagResource(self, call: Call) -> dict[str, Any]:
        self._taggable(call).tags.update(call.params["tags"])
        return {}

    def op_UntagResource(self, call: Call) -> dict[str, Any]:
        tags = self._taggable(call).tags
        for key in call.params["tagKeys"]:
            tags.pop(key, None)
        return {}

    def _summary(self, call: Call, number: Number) -> dict[str, Any]:
        summary = {
            "PhoneNumberId": number.id,
            "PhoneNumberArn": number.arn,
            "PhoneNumber": number.e164,
            "PhoneNumberCountryCode": number.country,
            "PhoneNumberType": number.type,
            "TargetArn": number.target_arn,
            "InstanceId": self._target_instance_id(call, number.target_arn),
            "PhoneNumberDescription": number.description,
            "SourcePhoneNumberArn": number.source_arn,
        }
        return {k: v for k, v in summary.items() if v is not None}

    def op_ListPhoneNumbersV2(self, call: Call) -> dict[str, Any]:
        p = call.params
        state = call.state
        if p.get("TargetArn") or p.get("InstanceId"):
            target_arn = self._target(call, p.get("TargetArn"), p.get("InstanceId"), listing=True)
            ids: Iterable[str] = state.by_target.get(target_arn, [])
        else:
            arns = [i.arn for (region, _), i in state.instances.items() if region == call.region]
            ids = sorted(n for arn in arns for n in state.by_target.get(arn, []))
        ids = list(ids) if not isinstance(ids, list) else ids
        countries = set(p.get("PhoneNumberCountryCodes") or ())
        types = set(p.get("PhoneNumberTypes") or ())
        prefix = p.get("PhoneNumberPrefix")
        prefix = None if prefix is None else "+" + prefix.lstrip("+")
        scope = request_scope(p)
        start = 0
        if p.get("NextToken"):
            start = bisect.bisect_right(ids, call.state_tokens_read(self.tokens, scope))
        limit = p.get("MaxResults", 100)
        page: list[dict[str, Any]] = []
        position = start
        while position < len(ids) and len(page) < limit:
            number = state.numbers[ids[position]]
            position += 1
            if countries and number.country not in countries:
                continue
            if types and number.type not in types:
                continue
            if prefix and not number.e164.startswith(prefix):
                continue
            page.append(self._summary(call, number))
        result: dict[str, Any] = {"ListPhoneNumbersSummaryList": page}
        if position < len(ids) and page:
            result["NextToken"] = self.tokens.issue(scope, page[-1]["PhoneNumberId"])
        return result

    # ------------------------------------------------------------ contact flows
    def _mirrors(self, instance: Instance) -> list[InstanceKey]:
        """The instance and its replica: where its flows live."""
        return [(instance.region, instance.id), *instance.replicas.items()]

    def _flow_arn(self, key: InstanceKey, account: str, flow_id: str) -> str:
        region, instance_id = key
        return connect_arn(region, account, f"instance/{instance_id}/contact-flow/{flow_id}")

    def _flow(self, call: Call, instance: Instance, ident: str) -> Flow:
        key = (instance.region, instance.id)
        prefix = self._flow_arn(key, call.account, "")
        flow_id = ident.removeprefix(prefix) if ident.startswith("arn:") else ident
        flow = call.state.flows.get(key, {}).get(flow_id)
        if flow is None or (ident.startswith("arn:") and flow.arn != ident):
            raise ApiError("ResourceNotFoundException", f"Contact flow {ident} not found in instance {instance.id}")
        return flow

    def op_CreateContactFlow(self, call: Call) -> dict[str, Any]:
        p = call.params
        instance = self._instance(call, p["InstanceId"])
        if any(f.name == p["Name"] for f in call.state.flows.get((instance.region, instance.id), {}).values()):
            raise ApiError("DuplicateResourceException", f"A contact flow named {p['Name']} exists in {instance.id}")
        try:
            content = json.loads(p["Content"])
        except ValueError:
            content = None
        if not isinstance(content, dict):
            raise ApiError(
                "InvalidContactFlowException",
                "The flow content is not valid",
                problems=[{"message": "Content must be a JSON object in the Amazon Connect Flow language"}],
            )
        flow_id = str(uuid.uuid4())
        for key in self._mirrors(instance):
            call.state.flows.setdefault(key, {})[flow_id] = Flow(
                id=flow_id,
                arn=self._flow_arn(key, call.account, flow_id),
                name=p["Name"],
                type=p["Type"],
                description=p.get("Description"),
                content=p["Content"],
                status=p.get("Status", "PUBLISHED"),
                tags=dict(p.get("Tags", {})),
            )
        created = call.state.flows[(instance.region, instance.id)][flow_id]
        return {
            "ContactFlowId": flow_id,
            "ContactFlowArn": created.arn,
            "FlowContentSha256": hashlib.sha256(created.content.encode()).hexdigest(),
        }

    def op_DeleteContactFlow(self, call: Call) -> dict[str, Any]:
        instance = self._instance(call, call.params["InstanceId"])
        flow = self._flow(call, instance, call.params["ContactFlowId"])
        for key in self._mirrors(instance):
            call.state.flows.get(key, {}).pop(flow.id, None)
        return {}

    def op_ListContactFlows(self, call: Call) -> dict[str, Any]:
        instance = self._instance(call, call.params["InstanceId"])
        types = set(call.params.get("ContactFlowTypes") or ())
        flows = sorted(
            (
                f
                for f in call.state.flows.get((instance.region, instance.id), {}).values()
                if f.type in (types or {f.type})
            ),
            key=lambda f: f.id,
        )
        page, token = self._page(call, flows, lambda f: f.id, 100)
        result: dict[str, Any] = {"ContactFlowSummaryList": [f.summary() for f in page]}
        if token:
            result["NextToken"] = token
        return result

    def _routed_in(self, state: AccountState, number: Number) -> list[InstanceKey]:
        """Where a number is associated with a flow: its instance; for a TDG, its instance in each Region."""
        parsed = parse_arn(number.target_arn)
        assert parsed is not None
        if parsed[2] == "instance":
            return [(parsed[0], parsed[3])]
        tdg = state.tdgs.get(parsed[3])
        if tdg is None:
            return []
        home = state.instances.get((tdg.home_region, tdg.instance_id))
        return [(tdg.home_region, tdg.instance_id), *(home.replicas.items() if home else ())]

    def _routed_number(self, call: Call) -> tuple[Number, Instance, list[InstanceKey]]:
        p = call.params
        number = self._number(call, p["PhoneNumberId"], arn_outside_tdg_home=True)
        instance = self._instance(call, p["InstanceId"])
        keys = self._routed_in(call.state, number)
        if (instance.region, instance.id) not in keys:
            raise ApiError(
                "InvalidParameterException", f"Phone number {number.id} is not claimed to instance {instance.id}"
            )
        return number, instance, keys

    def op_AssociatePhoneNumberContactFlow(self, call: Call) -> dict[str, Any]:
        number, instance, keys = self._routed_number(call)
        self._claimed(number)
        flow = self._flow(call, instance, call.params["ContactFlowId"])
        for key in keys:
            call.state.associations.setdefault(key, {})[number.id] = flow.id
        return {}

    def op_DisassociatePhoneNumberContactFlow(self, call: Call) -> dict[str, Any]:
        number, instance, keys = self._routed_number(call)
        if number.id not in call.state.associations.get((instance.region, instance.id), {}):
            raise ApiError(
                "ResourceNotFoundException", f"Phone number {number.id} has no contact flow in {instance.id}"
            )
        for key in keys:
            call.state.associations.get(key, {}).pop(number.id, None)
        return {}

    def op_ListFlowAssociations(self, call: Call) -> dict[str, Any]:
        p = call.params
        instance = self._instance(call, p["InstanceId"])
        key = (instance.region, instance.id)
        associations = []
        if p.get("ResourceType") in (None, "VOICE_PHONE_NUMBER"):
            by_arn = self.settings.flow_association_resource_id == "ARN"
            flow_by_arn = self.settings.flow_association_flow_id == "ARN"
            associations = sorted(
                (
                    {
                        "ResourceId": call.state.numbers[number_id].arn if by_arn else number_id,
                        "FlowId": self._flow_arn(key, call.account, flow_id) if flow_by_arn else flow_id,
                        "ResourceType": "VOICE_PHONE_NUMBER",
                    }
                    for number_id, flow_id in call.state.associations.get(key, {}).items()
                ),
                key=lambda a: a["ResourceId"],
            )
        page, token = self._page(call, associations, lambda a: a["ResourceId"], 100)
        result: dict[str, Any] = {"FlowAssociationSummaryList": page}
        if token:
            result["NextToken"] = token
        return result

    # ------------------------------------------------------------ estate changes
    def apply_change(self, account: str, change: EstateChange) -> Applied:
        """Make `change` (a listing change's, or one made in the admin website) through the API's own
        operations, in the Region of the resource it names: it completes at once unless the async
        settings say otherwise."""
        with self.lock:
            state = self.account(account)
            self._settle(state)
            try:
                operation, params, region = self._change_call(state, change)
            except ApiError as error:
                return Applied(change.action, "", {}, error=error)
            try:
                result = getattr(self, f"op_{operation}")(Call(state, account, region, params, _invalid))
            except ApiError as error:
                return Applied(operation, region, params, error=error)
            return Applied(operation, region, params, result=result)

    def _change_call(self, state: AccountState, change: EstateChange) -> tuple[str, dict[str, Any], str]:
        """The operation that makes `change`, its parameters and the Region to call it in."""
        if change.action == "claim":
            parsed = parse_arn(str(change.target_arn))
            if parsed is None:
                raise _invalid(f"TargetArn {change.target_arn} is not a Connect ARN")
            params = {"TargetArn": change.target_arn, "PhoneNumber": change.phone_number}
            if change.description is not None:
                params["PhoneNumberDescription"] = change.description
            return "ClaimPhoneNumber", params, parsed[0]
        number = state.numbers.get(str(change.phone_number_id))
        if number is None:
            raise ApiError("ResourceNotFoundException", f"Phone number {change.phone_number_id} not found")
        region = number.region
        if change.action == "release":
            return "ReleasePhoneNumber", {"PhoneNumberId": number.id}, region
        if change.action == "move":
            return "UpdatePhoneNumber", {"PhoneNumberId": number.id, "TargetArn": change.target_arn}, region
        if change.action == "tag":
            return "TagResource", {"resourceArn": number.arn, "tags": dict(change.tags or {})}, region
        params = {"PhoneNumberId": number.id, "PhoneNumberDescription": change.description}
        return "UpdatePhoneNumberMetadata", params, region

    # ------------------------------------------------------------- bulk seeding
    def seed_numbers(
        self,
        account: str,
        region: str,
        target_arn: str,
        count: int,
        countries: list[str],
        types: list[str],
        description_every: int,
        imported_every: int,
    ) -> list[str]:
        """Claim `count` numbers to a target at once, bypassing the API (for large estates)."""
        with self.lock:
            state = self.account(account)
            self._settle(state)
            call = Call(state, account, region, {}, _invalid)
            self._target(call, target_arn, None)
            created = []
            sequence = len(state.numbers)
            for index in range(count):
                country = countries[index % len(countries)]
                number_type = types[index % len(types)]
                code = numbering.DIAL_CODES.get(country, "99")
                while True:
                    sequence += 1
                    e164 = f"+{code}9{sequence:0{max(13 - len(code), 9) - 1}d}"[:16]
                    if e164 not in state.by_e164:
                        break
                description = f"Line {sequence}" if description_every and index % description_every == 0 else None
                source = (
                    f"arn:{partition_of(region)}:sms-voice:{region}:{account}:phone-number/phone-{uuid.uuid4().hex}"
                    if imported_every and index % imported_every == 0
                    else None
                )
                number = self._add_number(
                    call,
                    e164,
                    country,
                    number_type,
                    target_arn,
                    description,
                    source,
                    {},
                    asynchronous=False,
                    index=False,
                )
                created.append(number.id)
            listed = state.by_target.setdefault(target_arn, [])
            listed.extend(created)
            listed.sort()
            return created


def _invalid(message: str) -> ApiError:
    return ApiError("InvalidParameterException", message)


@dataclass
class Applied:
    """An estate change as made: the operation, its Region and parameters, and its answer or error."""

    operation: str
    region: str
    params: dict[str, Any]
    result: dict[str, Any] | None = None
    error: ApiError | None = None

    @property
    def outcome(self) -> str:
        return "applied" if self.error is None else f"failed: {self.error.code}: {self.error.message}"


@dataclass
class Call:
    """One request: the account's state, who asked, where, and what."""

    state: AccountState
    account: str
    region: str
    params: dict[str, Any]
    invalid: Callable[[str], ApiError]

    def state_tokens_read(self, tokens: Tokens, scope: str) -> Any:
        return tokens.read(self.params["NextToken"], scope, self.invalid)
