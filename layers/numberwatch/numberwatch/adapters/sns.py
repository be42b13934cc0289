"""Publisher adapter: SNS PublishBatch with `MessageStructure=json`.

PublishBatch answers 200 even when some entries failed, so `Failed` is read and those entries
are retried with backoff; what still fails is reported back and stays in the outbox. An entry SNS
refuses as the sender's fault (too large, a bad attribute) can never succeed: it is reported apart
(`refused`), so that the outbox sets it aside instead of retrying it every night."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..events import OutboxMessage
from ..observability import logger
from ..ports import ChatUnavailable, PublishResult, Subscription

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


class SnsPublisher:
    max_batch = 10

    def __init__(
        self,
        client: SNSClient,
        topic_arn: str,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.topic_arn = topic_arn
        self.attempts = attempts
        self.sleep = sleep

    def publish(self, messages: Sequence[OutboxMessage]) -> PublishResult:
        if len(messages) > self.max_batch:
            raise ValueError(f"at most {self.max_batch} messages per batch")
        waiting = {str(index): message for index, message in enumerate(messages)}
        result = PublishResult()
        last_reason: dict[str, str] = {}
        permanent: dict[str, str] = {}
        for attempt in range(self.attempts):
            if attempt:
                self.sleep(min(0.2 * 2**attempt, 5.0))
            try:
                response = self.client.publish_batch(
                    TopicArn=self.topic_arn,
                    PublishBatchRequestEntries=[self._entry(entry_id, m) for entry_id, m in waiting.items()],  # type: ignore[misc]
                )
            except (ClientError, BotoCoreError) as exc:
                logger.warning("PublishBatch failed; retrying", extra={"attempt": attempt + 1, "error": str(exc)})
                last_reason.update({m.message_id: str(exc) for m in waiting.values()})
                continue
            for success in response.get("Successful", []):
                result.sent.append(waiting.pop(success["Id"]).message_id)
            for failure in response.get("Failed", []):
                reason = f"{failure.get('Code')}: {failure.get('Message', '')}"
                if failure.get("SenderFault"):
                    # Our fault (too big, bad attribute): the same entry cannot succeed on a retry.
                    permanent[waiting.pop(failure["Id"]).message_id] = reason
                else:
                    last_reason[waiting[failure["Id"]].message_id] = reason
            if not waiting:
                break
        result.refused = permanent
        result.failed = {m.message_id: last_reason.get(m.message_id, "not published") for m in waiting.values()}
        return result

    def _entry(self, entry_id: str, message: OutboxMessage) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "Id": entry_id,
            "Message": message.envelope,
            "MessageStructure": "json",
            "MessageAttributes": {
                name: {"DataType": "String", "StringValue": value}
                for name, value in message.message_attributes().items()
            },
        }
        if message.subject:
            entry["Subject"] = message.subject
        return entry

    def subscription(self, email: str) -> Subscription:
        try:
            pages = self.client.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=self.topic_arn)
            found = [
                s
                for page in pages
                for s in page.get("Subscriptions", [])
                if s.get("Protocol") == "email" and s.get("Endpoint", "").lower() == email.lower()
            ]
        except (ClientError, BotoCoreError) as exc:
            logger.warning("Could not list the topic's subscriptions", extra={"error": str(exc)})
            return Subscription.UNKNOWN
        if not found:
            return Subscription.MISSING
        if all(s.get("SubscriptionArn") == "PendingConfirmation" for s in found):
            return Subscription.PENDING
        return Subscription.CONFIRMED


class SnsChat:
    """The chat topic: one plain SNS message per notification (Chatbot reads the message as JSON)."""

    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self.client = client
        self.topic_arn = topic_arn

    def send(self, body: str) -> None:
        try:
            self.client.publish(TopicArn=self.topic_arn, Message=body)
        except (ClientError, BotoCoreError) as exc:
            raise ChatUnavailable(f"SNS refused the chat copy: {exc}") from exc
