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
    """The upload filter: keys with this prefix that end with one of the suffixes start a run."""

    prefix: str
    suffixes: tuple[str, ...]  # empty: any key

    def matches(self, key: str) -> bool:
        return key.startswith(self.prefix) and (not self.suffixes or key.endswith(self.suffixes))

    @property
    def suffix(self) -> str:
        """The plain input suffix (the others add a compression extension to it)."""
        return min(self.suffixes, key=len, default="")


@dataclass(frozen=True)
class LogicalRef:
    """`!Ref` of a resource (e.g. `Processor.Alias`): only which resource it names matters here."""

    name: str


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
        self.resources = set(template.get("Resources") or {})
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
            if arg not in self.refs and str(arg).partition(".")[0] in self.resources:
                return LogicalRef(str(arg))
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
        if fn == "Fn::Select":
            index, items = arg
            return self.value(items)[int(self.value(index))]
        if fn == "Fn::Split":
            sep, text = arg
            return str(self.value(text)).split(str(sep))
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
        trigger=_trigger(template, name, props.get("Events") or {}, r),
    )


def _trigger(template: Mapping[str, Any], function: str, events: Mapping[str, Any], r: Resolver) -> Trigger:
    """The upload filter: a bucket's notifications of the function, or its EventBridge rule."""
    filters = [*_s3_filters(template, function, r), *_eventbridge_filters(events, r)]
    if not filters:
        raise TemplateError("nothing starts a run: no bucket notifies the function and it has no EventBridgeRule")
    prefixes = {prefix for prefix, _ in filters}
    if len(prefixes) != 1:
        raise TemplateError(f"the trigger's filters use several prefixes {sorted(prefixes)}; the emulator needs one")
    suffixes = tuple(suffix for _, suffix in filters)
    return Trigger(prefixes.pop(), () if "" in suffixes else suffixes)


def _s3_filters(template: Mapping[str, Any], function: str, r: Resolver) -> list[tuple[str, str]]:
    found = []
    for res in (template.get("Resources") or {}).values():
        if res.get("Type") != "AWS::S3::Bucket":
            continue
        notify = (res.get("Properties") or {}).get("NotificationConfiguration") or {}
        for conf in r.value(notify.get("LambdaConfigurations", [])):
            target = conf.get("Function")
            if not isinstance(target, LogicalRef) or target.name.partition(".")[0] != function:
                continue
            rules = (conf.get("Filter") or {}).get("S3Key", {}).get("Rules", [])
            by_name = {str(rule["Name"]).lower(): str(rule["Value"]) for rule in rules}
            found.append((by_name.get("prefix", ""), by_name.get("suffix", "")))
    return found


def _eventbridge_filters(events: Mapping[str, Any], r: Resolver) -> list[tuple[str, str]]:
    found = []
    for event in events.values():
        if event.get("Type") != "EventBridgeRule":
            continue
        for key in r.value(event["Properties"]["Pattern"]["detail"]["object"]["key"]):
            if "wildcard" in key:
                prefix, _, suffix = str(key["wildcard"]).partition("*")
                found.append((prefix, suffix))
            else:
                found.append((str(key.get("prefix", "")), ""))
    return found
