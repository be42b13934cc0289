"""Chat copies of the messages for people, as AWS Chatbot (Amazon Q Developer in chat applications)
custom notifications. Pure.

One notification per digest, baseline summary and mass-release alert: built from that message itself
(its subject is the title, its email text, already made safe by `render`, is the description), so chat
says exactly what the email says. The format is Chatbot's: `version` "1.0" and `source` "custom" are
required (Chatbot drops anything else without a word), `content.textType` "client-markdown" (the only
one), `title`, `description`, `nextSteps`, and `metadata` (`threadId`, `summary`, `eventType`,
`additionalContext`). Chatbot renders the text in the chat client's markdown, so text written by the
people we report on (descriptions, names, tags inside the email text) must not become markup, a
mention or a link: the description is a code block, where neither Slack nor Teams renders markdown,
and in every field the characters that make mentions, links, code spans and emphasis (` < > @ & [ ] *
_ ~ | #) are replaced by look-alikes that do nothing (`@here` shows with a fullwidth at sign,
`<!channel>` between angle quotation marks). Lengths are capped (our caps, below the chat clients'
own: a Slack header holds 150 characters, a Slack section 3,000) with "... more in the email" where
the description is cut.
"""

from __future__ import annotations

import json
from typing import Any

from .events import OutboxMessage
from .models import EventType

VERSION = "1.0"
SOURCE = "custom"
TEXT_TYPE = "client-markdown"
TITLE_LIMIT = 150
DESCRIPTION_LIMIT = 3000
NEXT_STEP_LIMIT = 300
FENCE = "```"
CUT = "... more in the email and in the JSON events"
# What makes markup in Slack's mrkdwn or Teams' markdown, and its inert look-alike.
_INERT = str.maketrans(
    {
        "`": "\u02cb",  # modifier letter grave accent
        "<": "\u2039",  # single left-pointing angle quotation mark
        ">": "\u203a",  # single right-pointing angle quotation mark
        "@": "\uff20",  # fullwidth commercial at
        "&": "\uff06",  # fullwidth ampersand
        "[": "\uff3b",  # fullwidth square brackets
        "]": "\uff3d",
        "*": "\u2217",  # asterisk operator
        "_": "\uff3f",  # fullwidth low line
        "~": "\u223c",  # tilde operator
        "|": "\uff5c",  # fullwidth vertical line
        "#": "\uff03",  # fullwidth number sign
    }
)
CHAT_EVENT_TYPES = (
    EventType.DIGEST,
    EventType.BASELINE,
    EventType.SUSPECTED_MASS_RELEASE,
    EventType.ORGANIZATION_DIGEST,
)
NEXT_STEPS = {
    EventType.DIGEST: [
        "Who made a change: numberwatch history NUMBER",
        "Numbers no flow answers: numberwatch unrouted",
    ],
    EventType.BASELINE: ["The numbers recorded: numberwatch inventory"],
    EventType.ORGANIZATION_DIGEST: [
        "An account not observed: check its member role (member-role.yaml), then its scan's log",
        "Who made a change: numberwatch history NUMBER",
    ],
    EventType.SUSPECTED_MASS_RELEASE: [
        "If this is an API or permission problem, fix it before the next run: nothing is reported then",
        "Releases held, runs and messages: numberwatch status",
    ],
}


def inert(text: str) -> str:
    """`text` with every character that could make chat markup replaced by an inert look-alike."""
    return text.translate(_INERT)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _description(email_text: str) -> str:
    room = DESCRIPTION_LIMIT - 2 * (len(FENCE) + 1)
    body = inert(email_text)
    if len(body) > room:
        kept = body[: room - len(CUT) - 1].rsplit("\n", 1)[0]
        body = f"{kept}\n{CUT}"
    return f"{FENCE}\n{body}\n{FENCE}"


def notification(message: OutboxMessage) -> dict[str, Any] | None:
    """The chat copy of a message for people; None for a message chat does not get (per-number events)."""
    if message.event_type not in CHAT_EVENT_TYPES:
        return None
    account = str(message.body.get("account", ""))
    title = inert(message.subject or message.event_type.value)
    return {
        "version": VERSION,
        "source": SOURCE,
        "id": message.message_id,
        "content": {
            "textType": TEXT_TYPE,
            "title": _cut(title, TITLE_LIMIT),
            "description": _description(message.email_text),
            "nextSteps": [_cut(inert(step), NEXT_STEP_LIMIT) for step in NEXT_STEPS[message.event_type]],
        },
        "metadata": {
            "threadId": f"connect-number-watch-{account}",
            "summary": _cut(title, TITLE_LIMIT),
            "eventType": message.event_type.value,
            "additionalContext": {"account": account, "run_id": message.run_id},
        },
    }


def chat_message(message: OutboxMessage) -> str | None:
    """The SNS message body (JSON) Chatbot reads, or None."""
    found = notification(message)
    return None if found is None else json.dumps(found, ensure_ascii=False, separators=(",", ":"))
