"""Every SDK call made in this process, recorded through botocore's event hooks on boto3's
default session (so the handler's own clients are counted too, without a line in product code)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3


@dataclass
class Call:
    service: str
    operation: str
    params: dict[str, Any]
    response: dict[str, Any]


@dataclass
class AwsCallLog:
    calls: list[Call] = field(default_factory=list)
    installed: bool = False

    def install(self) -> None:
        if self.installed:
            return
        boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
        assert session is not None
        session.events.register("provide-client-params", self._remember_params)
        session.events.register("after-call", self._record)
        self.installed = True

    def _remember_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["recorded_params"] = dict(params)

    def _record(self, event_name: str, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        _event, service, operation = event_name.split(".", 2)
        self.calls.append(Call(service, operation, context.get("recorded_params", {}), parsed))

    def clear(self) -> None:
        self.calls.clear()

    def of(self, service: str) -> list[Call]:
        return [c for c in self.calls if c.service == service]

    def operations(self, service: str) -> Counter[str]:
        return Counter(c.operation for c in self.of(service))

    def items_read(self) -> int:
        """Items DynamoDB returned: queries' and batch gets' items, and single gets that found one."""
        total = 0
        for call in self.of("dynamodb"):
            if call.operation == "Query":
                total += len(call.response.get("Items", []))
            elif call.operation == "BatchGetItem":
                total += sum(len(v) for v in call.response.get("Responses", {}).values())
            elif call.operation == "GetItem":
                total += 1 if call.response.get("Item") else 0
        return total

    def items_written(self) -> int:
        total = 0
        for call in self.of("dynamodb"):
            if call.operation == "TransactWriteItems":
                total += sum(1 for i in call.params["TransactItems"] if "ConditionCheck" not in i)
            elif call.operation == "BatchWriteItem":
                total += sum(len(v) for v in call.params["RequestItems"].values())
            elif call.operation in ("PutItem", "DeleteItem", "UpdateItem"):
                total += 1
        return total

    def written_items(self) -> list[dict[str, Any]]:
        items = []
        for call in self.of("dynamodb"):
            if call.operation == "TransactWriteItems":
                items += [i["Put"]["Item"] for i in call.params["TransactItems"] if "Put" in i]
            elif call.operation == "PutItem":
                items.append(call.params["Item"])
        return items


AWS_CALLS = AwsCallLog()
