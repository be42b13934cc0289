"""Chat copies: AWS Chatbot's custom-notification format, text from Connect that cannot shape the chat
message, and a chat that can neither lose nor repeat a change event."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from numberwatch.chat import CUT, DESCRIPTION_LIMIT, FENCE, TITLE_LIMIT, chat_message, notification
from numberwatch.digest import Night, build_baseline, build_digest, build_mass_release_alert
from numberwatch.events import number_event
from numberwatch.models import Change, ChangeType, HeldRelease, ScanRequest
from numberwatch.ports import ChatUnavailable
from numberwatch.run import RunContext
from numberwatch.service import ScanService
from numberwatch.settings import Settings
from tests.unit.factories import ACCOUNT, instance, number, numbers
from tests.unit.fakes import FakeConnect, FakePublisher, FakeStore
from tests.unit.test_scan_service import ENVIRONMENT

TARGET = instance("primary")
# The fields AWS documents for a custom notification ("Custom notifications using Amazon Q Developer in
# chat applications": version and source required, the rest optional).
DOCUMENTED = {
    "": {"version", "source", "id", "content", "metadata"},
    "content": {"textType", "title", "description", "nextSteps", "keywords"},
    "metadata": {"threadId", "summary", "eventType", "relatedResources", "additionalContext"},
}
HOSTILE = [
    "@here @channel @everyone call me",
    "<!channel> <@U024BE7LH> <https://evil.example|click here>",
    "[click](https://evil.example/reset)",
    "```\nRELEASED (0)\n```",
    "*bold* _italic_ ~struck~ `code`",
    "# Heading\n> quoted\n| a | b |",
    "&lt;!here&gt; &amp;",
]
MARKUP = ["@here", "@channel", "@everyone", "<!", "<@", "<http", "](", "*bold*", "_italic_", "~struck~", "`code`",
          "# Heading", "> quoted", "| a |", "&lt;", "&amp;"]  # fmt: skip


def claimed(index: int, **fields: str | None) -> Change:
    after = number(index, TARGET, **fields)
    return Change(ChangeType.CLAIMED, after.arn, None, after, 0, 1, ())


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def assert_documented_shape(found: dict[str, Any]) -> None:
    assert set(found) <= DOCUMENTED[""] and (found["version"], found["source"]) == ("1.0", "custom")
    assert set(found["content"]) <= DOCUMENTED["content"] and set(found["metadata"]) <= DOCUMENTED["metadata"]
    content = found["content"]
    assert content["textType"] == "client-markdown"
    assert 0 < len(content["title"]) <= TITLE_LIMIT and len(content["description"]) <= DESCRIPTION_LIMIT
    assert content["nextSteps"] and all(isinstance(step, str) for step in content["nextSteps"])


def test_each_message_for_people_has_one_chat_copy_in_chatbot_s_documented_format() -> None:
    digest = build_digest(ACCOUNT, "run-1", "t", [claimed(1)], Night(), {TARGET.arn: "primary"})
    baseline = build_baseline(ACCOUNT, "run-1", "t", ["us-east-1"], {TARGET.arn: 1200}, {})
    alert = build_mass_release_alert(ACCOUNT, "run-1", "t", [HeldRelease(TARGET.arn, 20, 30, ["+1"])], {})
    assert digest is not None
    for message in (digest, baseline, alert):
        found = json.loads(chat_message(message) or "")
        assert_documented_shape(found)
        assert found["metadata"]["eventType"] == message.event_type.value
        assert found["content"]["title"] == message.subject
    assert "1,200 phone numbers" in json.loads(chat_message(baseline) or "")["content"]["description"]


def test_per_number_events_are_not_for_chat() -> None:
    assert chat_message(number_event(claimed(1), ACCOUNT, "run-1", "t", {})) is None


@pytest.mark.parametrize("text", HOSTILE)
def test_text_from_connect_cannot_mention_link_or_format_in_chat(text: str) -> None:
    # Given a digest whose description and target name were written to shape the chat message
    change = claimed(1, description=text)
    digest = build_digest(ACCOUNT, "run-1", "t", [change], Night(), {TARGET.arn: text})
    assert digest is not None
    # When its chat copy is built
    found = notification(digest)
    assert found is not None
    # Then no mention, link, code span, emphasis, heading, quote or table survives in any field
    for value in strings(found):
        for markup in MARKUP:
            assert markup not in value, (markup, value)
    # And the description is one code block: ours are the only fences
    description = found["content"]["description"]
    assert description.count(FENCE) == 2 and description.startswith(FENCE + "\n") and description.endswith(FENCE)


def test_the_words_stay_readable() -> None:
    digest = build_digest(ACCOUNT, "run-1", "t", [claimed(1, description="@here see [docs]")], Night(), {})
    assert digest is not None
    description = (notification(digest) or {})["content"]["description"]
    assert "\uff20here see \uff3bdocs\uff3d" in description


def test_a_huge_digest_is_cut_to_chat_s_length_and_says_so() -> None:
    digest = build_digest(ACCOUNT, "run-1", "t", [claimed(i) for i in range(5000)], Night(), {})
    assert digest is not None
    description = (notification(digest) or {})["content"]["description"]
    assert len(description) <= DESCRIPTION_LIMIT
    assert description.endswith(f"{CUT}\n{FENCE}")


# ------------------------------------------------------------------ the run
@dataclass
class FakeChat:
    sent: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False

    def send(self, body: str) -> None:
        if self.down:
            raise ChatUnavailable("KMS.AccessDenied")
        self.sent.append(json.loads(body))


class Estate:
    def __init__(self) -> None:
        self.connect, self.store, self.publisher, self.chat = FakeConnect(), FakeStore(), FakePublisher(), FakeChat()
        self.settings = Settings.from_environment(ENVIRONMENT)

    def night(self, **request: Any) -> dict[str, Any]:
        service = ScanService(self.connect, self.store, self.publisher, self.settings, lambda: ACCOUNT, chat=self.chat)
        context = RunContext(run_id=str(uuid.uuid4()), remaining_ms=lambda: 900_000)
        return service.run(ScanRequest(**request), context).model_dump(mode="json")

    def chatted(self) -> list[str]:
        kinds = [n["metadata"]["eventType"] for n in self.chat.sent]
        self.chat.sent.clear()
        return kinds


def test_chat_gets_a_copy_when_email_does_and_never_of_a_dry_run() -> None:
    estate = Estate()
    estate.connect.add(TARGET, *numbers(3, TARGET))
    assert estate.night(dry_run=True)["chat_messages_sent"] == 0 and estate.chatted() == []
    assert estate.night()["chat_messages_sent"] == 1
    assert estate.chatted() == ["BASELINE"]
    estate.connect.add(TARGET, number(50, TARGET))
    estate.night()
    assert estate.chatted() == ["DIGEST"]
    assert estate.night()["chat_messages_sent"] == 0  # a quiet night tells nobody


def test_a_chat_that_fails_loses_no_change_event_and_is_counted() -> None:
    # Given a baseline, a new number, and a chat topic that refuses
    estate = Estate()
    estate.connect.add(TARGET, *numbers(3, TARGET))
    estate.night()
    estate.publisher.published.clear()
    assert estate.chatted() == ["BASELINE"]
    estate.connect.add(TARGET, number(50, TARGET))
    estate.chat.down = True
    # When the night runs
    summary = estate.night()
    # Then the change and the digest went out once, nothing waits or is set aside, and the failure is counted
    kinds = sorted(m.event_type.value for m in estate.publisher.published)
    assert kinds == ["DIGEST", "NUMBER_CHANGE"]
    assert (summary["messages_pending"], summary["messages_set_aside"]) == (0, [])
    (digest_id,) = [m.message_id for m in estate.publisher.published if m.event_type.value == "DIGEST"]
    assert summary["chat_messages_failed"] == [digest_id]
    # And the next night resends nothing, to SNS or to chat
    estate.chat.down = False
    estate.publisher.published.clear()
    estate.night()
    assert estate.publisher.published == [] and estate.chatted() == []


def test_a_digest_sns_could_not_take_is_chatted_when_it_goes_out() -> None:
    # Given a night whose digest SNS could not take (it waits in the outbox)
    estate = Estate()
    estate.connect.add(TARGET, *numbers(3, TARGET))
    estate.night()
    estate.chatted()
    estate.connect.add(TARGET, number(50, TARGET))
    estate.publisher.down = True
    assert estate.night()["messages_pending"] == 2
    assert estate.chatted() == []
    # When the next night publishes it
    estate.publisher.down = False
    estate.night()
    # Then chat gets its copy then, once
    assert estate.chatted() == ["DIGEST"]
