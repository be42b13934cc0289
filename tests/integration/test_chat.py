"""Chat copies from the real handler, through SNS, to a subscriber where Chatbot would be."""

from __future__ import annotations

import json

from localaws.lambda_runtime import Deployment
from tests.integration.test_reliability import FAST, SCHEDULED
from tests.support.estate import Estate


def test_the_handler_sends_one_chat_notification_per_message_for_people(estate: Estate, deployment: Deployment) -> None:
    # Given an instance with numbers, and a Chatbot-like subscriber of the chat topic
    alpha = estate.instance("alpha")
    estate.claim(alpha["Arn"], 2)
    assert deployment.env["CHAT_TOPIC_ARN"].endswith("-chat")
    # When the baseline night runs, and a night with a claim and a description meant for the channel
    first = deployment.invoke(SCHEDULED, **FAST)
    (claimed,) = estate.claim(alpha["Arn"], 1)
    estate.describe(claimed, "@here <!channel> [click](https://evil.example)")
    second = deployment.invoke(SCHEDULED, **FAST)
    # Then the channel got the baseline, then the digest, each once, in Chatbot's format
    chats = [message["body"] for message in deployment.received(deployment.chat_queue)]
    assert [(c["version"], c["source"], c["metadata"]["eventType"]) for c in chats] == [
        ("1.0", "custom", "BASELINE"),
        ("1.0", "custom", "DIGEST"),
    ]
    assert (first["chat_messages_sent"], second["chat_messages_sent"]) == (1, 1)
    assert "Connect numbers: 1 claimed" in chats[1]["content"]["title"]
    # And the description's mention, channel ping and link are inert
    text = json.dumps(chats[1], ensure_ascii=False)
    assert all(markup not in text for markup in ("@here", "<!channel>", "](https"))
    assert claimed.e164 in chats[1]["content"]["description"]
