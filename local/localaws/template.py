"""template.yaml (and member-role.yaml) as data: CloudFormation short tags read as their long forms,
and a small resolver for the intrinsic functions the function's environment and the roles use."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]  # the repository: local/localaws/template.py
TEMPLATE = ROOT / "template.yaml"
MEMBER_ROLE_TEMPLATE = ROOT / "member-role.yaml"


NO_VALUE = object()  # what AWS::NoValue resolves to


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)  # type: ignore[no-untyped-call]


@cache
def load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(path.read_text(), Loader=_CfnLoader)  # a SafeLoader subclass
    return loaded


def template() -> dict[str, Any]:
    return load(TEMPLATE)


def member_role_template() -> dict[str, Any]:
    return load(MEMBER_ROLE_TEMPLATE)


def resource(logical_id: str) -> dict[str, Any]:
    found: dict[str, Any] = template()["Resources"][logical_id]
    return found


def parameter_defaults() -> dict[str, Any]:
    return {name: spec.get("Default") for name, spec in template()["Parameters"].items()}


def resolve(value: Any, refs: dict[str, Any]) -> Any:
    """Evaluate Ref / If / Equals / Not / Sub against `refs` (parameters, resources, pseudo-parameters)."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return NO_VALUE if argument == "AWS::NoValue" else refs[argument]
        if key == "Fn::If":
            condition, when_true, when_false = argument
            return resolve(when_true if resolve(template()["Conditions"][condition], refs) else when_false, refs)
        if key == "Fn::Equals":
            return resolve(argument[0], refs) == resolve(argument[1], refs)
        if key == "Fn::Not":
            return not resolve(argument[0], refs)
        if key == "Fn::Sub":
            text = argument
            for name, replacement in refs.items():
                text = text.replace("${" + name + "}", str(replacement))
            return text
    return value


def resolve_all(value: Any, refs: dict[str, Any]) -> Any:
    """`resolve` at every depth of a document (a policy, a definition)."""
    value = resolve(value, refs)
    if isinstance(value, dict):
        return {k: resolve_all(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_all(v, refs) for v in value]
    return value


def function_environment(logical_id: str, refs: dict[str, Any]) -> dict[str, str]:
    """The function's environment as CloudFormation would set it (AWS::NoValue leaves a variable out)."""
    variables = resource(logical_id)["Properties"]["Environment"]["Variables"]
    merged = {**parameter_defaults(), **refs}
    resolved = {name: resolve(value, merged) for name, value in variables.items()}
    return {name: str(value) for name, value in resolved.items() if value is not NO_VALUE}


def table_definition(logical_id: str = "SnapshotTable") -> dict[str, Any]:
    """CreateTable arguments from the template's own key schema, so tests and template cannot drift."""
    properties = resource(logical_id)["Properties"]
    return {
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "GlobalSecondaryIndexes": properties["GlobalSecondaryIndexes"],
        "BillingMode": properties["BillingMode"],
    }
