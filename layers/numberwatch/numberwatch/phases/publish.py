"""Publish: the outbox, without ever reading this run's own writes through an index.

What this invocation wrote is published from memory. What earlier runs left unsent is found through
the `Unsent` index, which is eventually consistent: an entry may be missing (it is found next run) or
still listed after it was sent, so each is read again by key before it goes. No id is sent twice in
one invocation. An entry SNS refuses as our fault is set aside (kept, counted, listed) and never
blocks the others; one SNS cannot take now stays in the outbox for the next run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from ..events import OutboxMessage
from ..observability import logger
from ..ports import Outbox, Publisher
from ..run import Deadline

SNS_BATCH_BYTES = 256 * 1024


@dataclass
class OutboxPublisher:
    outbox: Outbox
    publisher: Publisher
    account: str
    deadline: Deadline
    checkpoint: Callable[[str], None]
    sent: set[str] = field(default_factory=set)
    set_aside: list[str] = field(default_factory=list)
    delivered: list[OutboxMessage] = field(default_factory=list)  # what SNS took, in order (for chat copies)
    waiting: dict[str, str] = field(default_factory=dict)  # id -> why it is still unsent

    @property
    def pending(self) -> int:
        return len(self.waiting)

    def publish(self, messages: Sequence[OutboxMessage]) -> bool:
        """Publish in batches, marking each batch sent; False when it had to stop (time, or SNS down)."""
        fresh = list({m.message_id: m for m in messages if m.message_id not in self.sent}.values())
        for message in fresh:
            self.waiting.setdefault(message.message_id, "not published yet")
        for batch in batches(fresh, self.publisher.max_batch):
            if self.deadline.passed():
                return False
            result = self.publisher.publish(batch)
            self.checkpoint("published_batch")
            sent = [m for m in batch if m.message_id in result.sent]
            self.outbox.mark_sent(self.account, sent)
            self.delivered += sent
            self._settled(m.message_id for m in sent)
            for message in batch:
                reason = result.refused.get(message.message_id)
                if reason is not None:
                    logger.error("SNS refused a message as our fault: set aside", extra={"id": message.message_id})
                    self.outbox.set_aside(self.account, message, reason)
                    self.set_aside.append(message.message_id)
                    self._settled([message.message_id])
            if result.failed:
                logger.error("Messages not published; they stay in the outbox", extra={"failed": result.failed})
                self.waiting.update(result.failed)
                if not sent:
                    return False  # SNS takes nothing now: the rest waits for the next run
        return True

    def publish_leftovers(self) -> None:
        """What earlier runs left in the outbox, page by page of the index, each checked by key."""
        for page in self.outbox.unsent_pages(self.account):
            fresh = [m for m in page if m.message_id not in self.sent]
            if fresh and not self.publish(self.outbox.still_unsent(self.account, fresh)):
                return

    def _settled(self, ids: Iterable[str]) -> None:
        for message_id in ids:
            self.sent.add(message_id)
            self.waiting.pop(message_id, None)


def batches(
    messages: Sequence[OutboxMessage], size: int, byte_limit: int = SNS_BATCH_BYTES
) -> Iterator[list[OutboxMessage]]:
    """Consecutive batches of at most `size` messages and `byte_limit` bytes in all."""
    batch: list[OutboxMessage] = []
    used = 0
    for message in messages:
        length = len(message.envelope.encode())
        if batch and (len(batch) == size or used + length > byte_limit):
            yield batch
            batch, used = [], 0
        batch.append(message)
        used += length
    if batch:
        yield batch
