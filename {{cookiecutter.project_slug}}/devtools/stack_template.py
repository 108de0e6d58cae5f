"""template.yaml read the way `sam deploy` and `sam local` read it: the one source of the function.

Parameters take their defaults from the template, then samconfig.toml's `parameter_overrides`, then
what the caller gives (`make deploy|simulate PARAMS="MaxHops=5000"`), and every value is checked
against the template's own constraints before anything uses it. Intrinsics (`!Ref`, `!Sub`, `!If`,
conditions) are resolved for the function's properties, so the emulator runs what would deploy.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

ACCOUNT_ID = "123456789012"
NO_VALUE = object()  # AWS::NoValue: the property or list item is left out


class TemplateError(ValueError):
    """A parameter value or a part of template.yaml the function cannot be built from."""


@dataclass(frozen=True)
class Trigger:
    """The upload filter: only keys with this prefix and suffix start a run."""

    prefix: str
    suffix: str

    def matches(self, key: str) -> bool:
        return key.startswith(self.prefix) and key.endswith(self.suffix)


@dataclass(frozen=True)
class Function:
    name: str
    handler: str
    runtime: str
    architecture: str
    memory_mb: int
    timeout_s: int
    ephemeral_mb: int
    env: dict[str, str]
    async_retries: int
    max_event_age_s: int
    reserved_concurrency: int | None
    recursive_loop: str
    alias: str  # AutoPublishAlias: what the trigger invokes ("" = the unpublished function)
    trigger: Trigger


@dataclass(frozen=True)
class Stack:
    name: str
    region: str
    parameters: dict[str, str]
    function: Function


def parse_overrides(text: str | list[str]) -> dict[str, str]:
    """`Name=value` pairs separated by whitespace (values here never hold any), or a list of them."""
    items = text.split() if isinstance(text, str) else [str(t) for t in text]
    pairs: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise TemplateError(f"{item!r} is not Name=value (e.g. MaxHops=5000)")
        pairs[name.removeprefix("ParameterKey")] = value
    return pairs


def samconfig(root: Path, env: str = "default") -> tuple[str, str, dict[str, str]]:
    """Stack name, region and the deploy command's parameter_overrides of one samconfig.toml env."""
    config = tomllib.loads((root / "samconfig.toml").read_text(encoding="utf-8"))
    section = config.get(env, {})
    glob = section.get("global", {}).get("parameters", {})
    deploy = section.get("deploy", {}).get("parameters", {})
    stack = deploy.get("stack_name") or glob.get("stack_name") or root.name
    region = deploy.get("region") or glob.get("region") or "us-east-1"
    return stack, region, parse_overrides(deploy.get("parameter_overrides", []))


def check_parameter(name: str, spec: Mapping[str, Any], value: str) -> None:
    """CloudFormation's own constraints, checked before any resource changes."""
    hint = f" ({spec['ConstraintDescription']})" if "ConstraintDescription" in spec else ""
    if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
        allowed = ", ".join(str(v) for v in spec["AllowedValues"])
        raise TemplateError(f"{name}={value!r} must be one of: {allowed}{hint}")
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            raise TemplateError(f"{name}={value!r} must be a number{hint}") from None
        low, high = spec.get("MinValue"), spec.get("MaxValue")
        if (low is not None and number < float(low)) or (high is not None and number > float(high)):
            raise TemplateError(f"{name}={value} must be between {low} and {high}{hint}")
        return
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not re.fullmatch(str(pattern), value):
        raise TemplateError(f"{name}={value!r} does not match {pattern}{hint}")
    if len(value) > int(spec.get("MaxLength", 4096)) or len(value) < int(spec.get("MinLength", 0)):
        raise TemplateError(f"{name}={value!r} has a length outside the template's limits{hint}")


def resolve_parameters(
    template: Mapping[str, Any], *layers: Mapping[str, str], complete: bool = True
) -> dict[str, str]:
    """Defaults, then each layer of overrides; unknown names and bad values are refused.

    A deploy needs every parameter (`complete`); the emulator leaves out those without a value
    (an existing bucket's name: it makes its own bucket), and fails only if one is used.
    """
    specs = template.get("Parameters") or {}
    values = {name: str(spec.get("Default", "")) for name, spec in specs.items() if "Default" in spec}
    for layer in layers:
        for name, value in layer.items():
            if name not in specs:
                raise TemplateError(f"template.yaml has no parameter {name!r}; it has: {', '.join(specs)}")
            values[name] = value
    for name, spec in specs.items():
        if name not in values and not complete:
            continue
        if name not in values:
            raise TemplateError(f'parameter {name} has no default: give it, e.g. PARAMS="{name}=..."')
        check_parameter(name, spec, values[name])
    return values


class Resolver:
    """Evaluates the intrinsics a function's properties use, with parameters and pseudo parameters."""

    def __init__(self, template: Mapping[str, Any], params: Mapping[str, str], stack: str, region: str):
        self.refs = {
            **params,
            "AWS::StackName": stack,
            "AWS::Region": region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.conditions = template.get("Conditions") or {}
        self._known: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._known:
            if name not in self.conditions:
                raise TemplateError(f"template.yaml has no condition {name!r}")
            self._known[name] = bool(self.value(self.conditions[name]))
        return self._known[name]

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((fn, arg),) = node.items()
            if fn == "Ref" or fn.startswith("Fn::") or fn == "Condition":
                return self._intrinsic(fn, arg)
        resolved = {k: self.value(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _intrinsic(self, fn: str, arg: Any) -> Any:
        if fn == "Ref":
            if arg == "AWS::NoValue":
                return NO_VALUE
            if arg not in self.refs:
                raise TemplateError(f"the emulator cannot resolve !Ref {arg} (not a parameter)")
            return self.refs[arg]
        if fn == "Condition":
            return self.condition(arg)
        if fn == "Fn::If":
            name, then, otherwise = arg
            return self.value(then if self.condition(name) else otherwise)
        if fn == "Fn::Equals":
            left, right = (self.value(a) for a in arg)
            return str(left) == str(right)
        if fn == "Fn::Not":
            return not self.value(arg[0])
        if fn == "Fn::And":
            return all(self.value(a) for a in arg)
        if fn == "Fn::Or":
            return any(self.value(a) for a in arg)
        if fn == "Fn::Join":
            sep, items = arg
            return str(sep).join(str(v) for v in self.value(items))
        if fn == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.value(arg[1]))
            return re.sub(r"\$\{([^}!]+)\}", lambda m: str(self._sub_ref(m.group(1), extra)), text)
        raise TemplateError(f"the emulator cannot resolve {fn} in the function's properties")

    def _sub_ref(self, name: str, extra: Mapping[str, Any]) -> Any:
        if name in extra:
            return extra[name]
        if name not in self.refs:
            raise TemplateError("the emulator cannot resolve ${" + name + "} in a !Sub")
        return self.refs[name]


def load(root: Path, overrides: str | list[str] = "", env: str = "default", *, complete: bool = True) -> Stack:
    """The stack as `sam deploy --config-env <env> --parameter-overrides <overrides>` would make it."""
    template = cfn_yaml.load(str(root / "template.yaml"))
    stack, region, configured = samconfig(root, env)
    params = resolve_parameters(template, configured, parse_overrides(overrides), complete=complete)
    resolver = Resolver(template, params, stack, region)
    return Stack(stack, region, params, _function(template, resolver))


def _function(template: Mapping[str, Any], r: Resolver) -> Function:
    functions = [
        (name, res)
        for name, res in (template.get("Resources") or {}).items()
        if res.get("Type") == "AWS::Serverless::Function"
    ]
    if len(functions) != 1:
        raise TemplateError(f"template.yaml must define one AWS::Serverless::Function, not {len(functions)}")
    name, res = functions[0]
    glob = (template.get("Globals") or {}).get("Function") or {}
    props = {**glob, **res.get("Properties", {})}
    env = {
        **((glob.get("Environment") or {}).get("Variables") or {}),
        **((res["Properties"].get("Environment") or {}).get("Variables") or {}),
    }
    invoke = props.get("EventInvokeConfig") or {}
    reserved = r.value(props.get("ReservedConcurrentExecutions", NO_VALUE))
    runtime = str(r.value(props["Runtime"]))
    if not re.fullmatch(r"python3\.[0-9]+", runtime):
        raise TemplateError(f"Runtime {runtime!r}: this function runs on a Python 3 runtime (python3.x)")
    return Function(
        name=str(r.value(props.get("FunctionName", name))),
        handler=str(r.value(props["Handler"])),
        runtime=runtime,
        architecture=str((r.value(props.get("Architectures")) or ["x86_64"])[0]),
        memory_mb=int(r.value(props.get("MemorySize", 128))),
        timeout_s=int(r.value(props.get("Timeout", 3))),
        ephemeral_mb=int(r.value((props.get("EphemeralStorage") or {}).get("Size", 512))),
        env={k: str(v) for k, v in r.value(env).items()},
        async_retries=int(r.value(invoke.get("MaximumRetryAttempts", 2))),
        max_event_age_s=int(r.value(invoke.get("MaximumEventAgeInSeconds", 21600))),
        reserved_concurrency=None if reserved is NO_VALUE else int(reserved),
        recursive_loop=str(r.value(props.get("RecursiveLoop", "Terminate"))),
        alias=str(r.value(props.get("AutoPublishAlias", ""))),
        trigger=_trigger(props.get("Events") or {}, r),
    )


def _trigger(events: Mapping[str, Any], r: Resolver) -> Trigger:
    """The prefix and suffix of the function's one upload event (S3 notification or EventBridge)."""
    for event in events.values():
        props = event.get("Properties") or {}
        if event.get("Type") == "S3":
            found = r.value(props.get("Filter") or {})  # NO_VALUE when the filter is left out
            rules = found.get("S3Key", {}).get("Rules", []) if isinstance(found, dict) else []
            by_name = {str(rule["Name"]).lower(): str(rule["Value"]) for rule in rules}
            return Trigger(by_name.get("prefix", ""), by_name.get("suffix", ""))
        if event.get("Type") == "EventBridgeRule":
            key = r.value(props["Pattern"]["detail"]["object"]["key"])[0]
            if "wildcard" in key:
                prefix, _, suffix = str(key["wildcard"]).partition("*")
                return Trigger(prefix, suffix)
            return Trigger(str(key.get("prefix", "")), "")
    raise TemplateError("the function has no S3 or EventBridgeRule event: nothing would start a run")
