"""What the local stack refuses to strangers (the security review's findings), checked against its
WSGI app in-process: clients at addresses a test cannot bind, and binds refused before any socket."""

from __future__ import annotations

import json
from io import BytesIO
from typing import Any

import pytest
from moto.utilities.docker_utilities import DockerModel
from werkzeug.test import Client, TestResponse

from localaws.__main__ import main
from localaws.guard import NonLoopbackBind
from localaws.moto_fixes import ContainersRefused
from localaws.stack import LocalStack, LocalStackApp

SIGNED_DYNAMODB = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host, Signature=0",
    "X-Amz-Target": "DynamoDB_20120810.ListTables",
    "Content-Type": "application/x-amz-json-1.0",
}
CONTROL_CALLS = [
    ("POST", "/connect-emulator/reset"),
    ("POST", "/connect-emulator/seed"),
    ("GET", "/moto-api/data.json"),
    ("POST", "/moto-api/reset"),
    ("POST", "/local-stack/consistency"),
]


@pytest.fixture(scope="module")
def app() -> LocalStackApp:
    return LocalStackApp(max_request_bytes=1000)


class ClientAt:
    """A client of `app` calling from `address`."""

    def __init__(self, app: LocalStackApp, address: str) -> None:
        self.client = Client(app)
        self.address = address

    def open(self, path: str, method: str = "GET", **kwargs: Any) -> TestResponse:
        return self.client.open(path, method=method, environ_base={"REMOTE_ADDR": self.address}, **kwargs)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.open(path, "GET", **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.open(path, "POST", **kwargs)

    def options(self, path: str, **kwargs: Any) -> TestResponse:
        return self.open(path, "OPTIONS", **kwargs)


def client_at(app: LocalStackApp, address: str) -> ClientAt:
    return ClientAt(app, address)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.213.7.1", "::", "stack.example.com"])
def test_a_non_loopback_bind_without_the_flag_fails_with_a_clear_message(host: str) -> None:
    with pytest.raises(NonLoopbackBind) as refused:
        LocalStack(host, 0)
    assert f"refusing to listen on {host}" in str(refused.value)
    assert "--allow-non-loopback" in str(refused.value)


def test_the_command_line_refuses_a_non_loopback_host_without_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--host", "0.0.0.0", "--port", "0"])
    assert exited.value.code == 2
    assert "refusing to listen on 0.0.0.0" in capsys.readouterr().err


@pytest.mark.parametrize(("method", "path"), CONTROL_CALLS)
def test_control_calls_from_a_non_loopback_client_are_refused(app: LocalStackApp, method: str, path: str) -> None:
    response = client_at(app, "10.213.7.2").open(path, method=method, json={})
    assert response.status_code == 403
    assert json.loads(response.data)["__type"] == "ControlRefused"


def test_control_calls_from_loopback_and_aws_calls_from_anywhere_are_answered(app: LocalStackApp) -> None:
    assert client_at(app, "127.0.0.1").get("/local-stack/consistency").status_code == 200
    assert client_at(app, "::1").get("/connect-emulator/quotas").status_code == 200
    answered = client_at(app, "10.213.7.2").post("/", headers=SIGNED_DYNAMODB, data="{}")
    assert (answered.status_code, list(json.loads(answered.data))) == (200, ["TableNames"])


def test_a_browser_cannot_drive_the_stack_and_no_cors_header_leaves_it(app: LocalStackApp) -> None:
    local = client_at(app, "127.0.0.1")
    # A page's request carries Origin (and a preflight is OPTIONS): refused
    from_page = local.post("/connect-emulator/reset", headers={"Origin": "https://evil.example"}, json={})
    assert from_page.status_code == 403
    assert local.options("/", headers={"Access-Control-Request-Method": "POST"}).status_code == 403
    # A DNS-rebinding page names its own host: refused
    assert local.get("/moto-api/data.json", headers={"Host": "evil.example:4566"}).status_code == 403
    # And moto's any-origin CORS headers are stripped from what is answered
    answered = local.post("/", headers=SIGNED_DYNAMODB, data="{}")
    assert answered.status_code == 200
    assert [k for k, _ in answered.headers.items() if k.lower().startswith("access-control-")] == []


def test_a_body_past_the_bound_is_refused_with_413_chunked_or_not(app: LocalStackApp) -> None:
    local = client_at(app, "127.0.0.1")
    sized = local.post("/", headers=SIGNED_DYNAMODB, data="x" * 1001)
    assert sized.status_code == 413
    assert "at most 1000 bytes" in json.loads(sized.data)["message"]
    chunked = local.post(
        "/", headers={**SIGNED_DYNAMODB, "Transfer-Encoding": "chunked"}, input_stream=BytesIO(b"x" * 1001)
    )
    assert chunked.status_code == 413
    small = local.post("/", headers={**SIGNED_DYNAMODB, "Transfer-Encoding": "chunked"}, input_stream=BytesIO(b"{}"))
    assert small.status_code == 200


def test_moto_never_starts_a_container() -> None:
    LocalStackApp()
    with pytest.raises(ContainersRefused, match="never starts containers"):
        _ = DockerModel().docker_client
