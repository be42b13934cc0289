"""`sam build` builds a layer for its `Metadata.BuildArchitecture`, x86_64 when it has none,
whatever the function's `Architecture`: an arm64 deployment would get x86_64 wheels in its layer
(pydantic-core's compiled module fails to import). Seen with SAM CLI 1.170 and `make build
ARCH=arm64`; with `BuildArchitecture: !Ref Architecture` SAM builds the layer for aarch64."""

from __future__ import annotations

from localaws.template import resource


def test_the_layer_is_built_for_the_functions_architecture() -> None:
    metadata = resource("NumberWatchLayer")["Metadata"]
    assert metadata.get("BuildArchitecture") == {"Ref": "Architecture"}
