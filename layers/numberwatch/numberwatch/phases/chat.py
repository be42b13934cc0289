"""Chat: a copy of each message for people that SNS took this invocation, sent to the chat topic.

A convenience copy, sent after the outbox, outside it, at most once. The outbox is what guarantees
that every change reaches its subscribers exactly once (per id); chat must never weaken that, so a
chat copy is not an outbox message: a chat topic that refuses (a wrong key policy, a deleted topic)
can then never hold a change event or the digest in the outbox, never set one aside and never trips
`MessagesPending`. It costs this: a run that dies between publishing and chatting, or a chat publish
that fails, loses that chat copy (the email and the JSON events still have it); the failure is in the
summary (`chat_messages_failed`) and the `ChatMessagesFailed` metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..chat import chat_message
from ..events import OutboxMessage
from ..observability import logger
from ..ports import Chat, ChatUnavailable


@dataclass
class ChatOutcome:
    sent: int = 0
    failed: list[str] = field(default_factory=list)  # ids of the messages whose chat copy did not go


def copy_to_chat(chat: Chat | None, delivered: Sequence[OutboxMessage]) -> ChatOutcome:
    """The chat copies of what SNS took; none when the stack has no chat topic."""
    outcome = ChatOutcome()
    if chat is None:
        return outcome
    for message in delivered:
        body = chat_message(message)
        if body is None:
            continue
        try:
            chat.send(body)
        except ChatUnavailable as exc:
            logger.warning("Chat copy not sent", extra={"id": message.message_id, "reason": str(exc)})
            outcome.failed.append(message.message_id)
            continue
        outcome.sent += 1
    return outcome
