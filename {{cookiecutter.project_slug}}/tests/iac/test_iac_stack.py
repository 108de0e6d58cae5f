"""The stack as deployed into moto's CloudFormation, and the parts moto cannot create, as translated.

Each IaC rule of the design is one test here: the function's settings, least-privilege IAM (no
wildcard action, invoke only itself, S3 only on the right prefixes), a trigger that cannot match
what the function writes, bounded retries with an on-failure queue, alarms, and the bucket's guards.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

import pytest

from .stack import (
    ACCOUNT,
    ALARM_EMAIL,
    MOTO_UNSUPPORTED,
    PROJECT,
    REGION,
    STACK,
    Deployed,
    deploy,
    emulated,
    one_resource,
    resources_of,
    stack_parameters,
    translate,
)

PKG = "{{ cookiecutter.__package_name }}"
FUNCTION_NAME = f"{STACK}-processor"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION_NAME}"


# ---------------------------------------------------------------- helpers


def _function(translated: dict[str, Any]) -> dict[str, Any]:
    return one_resource(translated, "AWS::Lambda::Function")[1]["Properties"]


def _env(deployed: Deployed) -> dict[str, str]:
    """The function's environment as CloudFormation (moto) resolved it from the parameters."""
    conf = deployed.client("lambda").get_function_configuration(FunctionName=FUNCTION_NAME)
    return _strings(conf["Environment"]["Variables"])


def _strings(env: dict[str, Any]) -> dict[str, str]:
    # Lambda keeps strings; moto keeps a Number parameter's !Ref as the number it parsed
    return {k: str(v) for k, v in env.items()}


def _bucket(deployed: Deployed) -> str:
    return deployed.outputs["BucketName"]


def _role_statements(deployed: Deployed) -> list[dict[str, Any]]:
    """Every statement the function's role holds, as moto stored it (intrinsics resolved)."""
    iam = deployed.client("iam")
    role_arn = deployed.client("lambda").get_function(FunctionName=FUNCTION_NAME)["Configuration"]["Role"]
    role = role_arn.rsplit("/", 1)[1]
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    statements: list[dict[str, Any]] = []
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        doc = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        if isinstance(doc, str):
            # moto keeps an inline policy made by CloudFormation as the repr of a dict
            doc = json.loads(doc) if doc.lstrip().startswith('{"') else ast.literal_eval(doc)
        statements.extend(doc["Statement"])
    assert statements
    return statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, case: bool = True) -> bool:
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value, 0 if case else re.IGNORECASE) is not None


def _conditions_hold(condition: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, tests in condition.items():
        for key, wanted in tests.items():
            if key not in context:
                return False
            got = context[key]
            if operator == "StringLike":
                ok = any(_glob(w, got) for w in _as_list(wanted))
            elif operator == "StringEquals":
                ok = got in _as_list(wanted)
            elif operator == "Bool":
                ok = got.lower() == str(_as_list(wanted)[0]).lower()
            else:
                raise AssertionError(f"condition operator {operator} not understood by this test")
            if not ok:
                return False
    return True


def allowed(statements: list[dict[str, Any]], action: str, resource: str, **context: str) -> bool:
    """IAM evaluation for one request against identity statements (explicit Deny wins)."""
    verdicts = set()
    for st in statements:
        if "NotAction" in st or "NotResource" in st:
            raise AssertionError(f"NotAction/NotResource in {st}: broaden this evaluator first")
        if not any(_glob(a, action, case=False) for a in _as_list(st["Action"])):
            continue
        if not any(_glob(r, resource) for r in _as_list(st["Resource"])):
            continue
        if not _conditions_hold(st.get("Condition", {}), context):
            continue
        verdicts.add(st["Effect"])
    return "Allow" in verdicts and "Deny" not in verdicts


def _written_keys(env: dict[str, str]) -> list[str]:
    """Every kind of key the function writes, as the deployed code names them."""
    layout_mod = pytest.importorskip(f"{PKG}.layout")
    layout = layout_mod.RunLayout(
        state_prefix=env["STATE_PREFIX"],
        output_prefix=env["OUTPUT_PREFIX"],
        run_id="0123456789abcdef01234567",
    )
    keys = [
        layout.checkpoint(0),
        layout.checkpoint(999_999),
        layout.launched(7),
        layout.outcome(),
        layout.quarantine(3, "a1b2c3", 0),
        layout.ledger_page(3, "a1b2c3", 1),
        layout.manifest(),
        layout.plan(),
        layout.finished("r0003g1"),
        layout.of_chain("r0003g1").checkpoint(5),
        layout.of_chain("r0003g1").ledger_page(3, "a1b2c3", 0),
        layout.of_chain("r0003g1").part(12, 4, ".jsonl"),
    ]
    keys += [layout.part(12, 4, ext) for ext in (".jsonl", ".bin", ".json")]
    keys += [layout.staged_part(12, "a1b2c3", 4, ext) for ext in (".jsonl", ".bin", ".json")]
    return keys


# ---------------------------------------------------------------- the stack


def test_stack_reaches_create_complete(deployed: Deployed, translated: dict[str, Any]) -> None:
    from moto.cloudformation.parsing import get_model_map

    assert deployed.stack["StackStatus"] == "CREATE_COMPLETE"
    expected = {n for n, r in translated["Resources"].items() if r["Type"] not in MOTO_UNSUPPORTED}
    made = {n for n, s in deployed.resources.items() if s["ResourceStatus"] == "CREATE_COMPLETE"}
    assert expected <= made, f"not created in moto: {sorted(expected - made)}"
    # Only what moto truly cannot create is stripped (when moto learns a type, stop stripping it).
    assert not MOTO_UNSUPPORTED & set(get_model_map())


def test_outputs_name_what_was_made(deployed: Deployed, translated: dict[str, Any]) -> None:
    out = deployed.outputs
    lam = deployed.client("lambda").get_function(FunctionName=out["FunctionName"])["Configuration"]
    assert out["FunctionName"] == FUNCTION_NAME
    assert out["FunctionArn"] == lam["FunctionArn"] == FUNCTION_ARN
    sqs = deployed.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=out["OnFailureQueueUrl"], AttributeNames=["QueueArn"])
    assert attrs["Attributes"]["QueueArn"] == out["OnFailureQueueArn"]
    deployed.client("s3").head_bucket(Bucket=_bucket(deployed))
    env = _env(deployed)
    assert out["UploadPrefix"] == f"s3://{_bucket(deployed)}/{env['INPUT_PREFIX']}"
    assert out["OutputPrefix"] == env["OUTPUT_PREFIX"]
    assert out["StatePrefix"] == env["STATE_PREFIX"]
    assert out.get("InputSuffix", "") == env["INPUT_SUFFIX"]


# ---------------------------------------------------------------- the function


# Parameter sets deployed into moto and resolved by devtools.stack_template side by side: the
# defaults, and one that moves every tunable (prefixes that keep the loop rule in every mode).
OVERRIDE_SETS = {
    "defaults": {},
    "tuned": {
        "MemorySize": "3008",
        "Timeout": "60",
        "EphemeralStorage": "4096",
        "MaxHops": "5000",
        "MaxRunHours": "6",
        "ReservedConcurrency": "0",
        "AsyncRetries": "0",
        "OnObjectChange": "restart",
        "InputPrefix": "drop/(raw)/",
        "OutputPrefix": "out.put/",
        "StatePrefix": "_st!ate/",
        "StateRetentionDays": "3",
    },
}


@pytest.mark.parametrize("name", sorted(OVERRIDE_SETS))
def test_emulator_resolves_the_function_as_cloudformation_does(sam_template: dict[str, Any], name: str) -> None:
    """`make simulate` and `make deploy PARAMS=` read template.yaml themselves: what they resolve
    must be what the SAM transform and CloudFormation make of the same parameters (moto's
    CloudFormation stands in for AWS's)."""
    values = stack_parameters(sam_template, OVERRIDE_SETS[name])
    translated = translate(sam_template, parameters=values)
    invoke = _invoke_configs(translated)["live"]
    with deploy(translated, OVERRIDE_SETS[name], stack_name=f"iac-{name}") as stack:
        got = stack.client("lambda").get_function(FunctionName=f"iac-{name}-processor")
        conf = got["Configuration"]
        view = emulated(stack.parameters)
        fn = view.function
        assert fn.name == f"{view.name}-processor"  # the stack's name comes from samconfig.toml
        assert (conf["Runtime"], conf["Handler"]) == (fn.runtime, fn.handler)
        assert (conf["MemorySize"], conf["Timeout"]) == (fn.memory_mb, fn.timeout_s)
        assert _strings(conf["Environment"]["Variables"]) == fn.env
        reserved = got.get("Concurrency", {}).get("ReservedConcurrentExecutions")
        assert reserved == fn.reserved_concurrency
        props = invoke["Properties"]  # moto cannot create it: compare with the transform's output
        assert (int(props["MaximumRetryAttempts"]), int(props["MaximumEventAgeInSeconds"])) == (
            fn.async_retries,
            fn.max_event_age_s,
        )
        for key, value in OVERRIDE_SETS[name].items():
            assert stack.parameters[key] == value
        if "MaxHops" in OVERRIDE_SETS[name]:
            assert fn.env["MAX_HOPS"] == "5000"
            assert fn.trigger.prefix == "drop/(raw)/"


def test_function_settings_as_deployed(deployed: Deployed) -> None:
    got = deployed.client("lambda").get_function(FunctionName=FUNCTION_NAME)
    conf = got["Configuration"]
    assert re.fullmatch(r"python3\.(11|12|13)", conf["Runtime"])
    assert conf["Handler"] == f"{PKG}.handler.lambda_handler"
    assert 128 <= conf["MemorySize"] <= 10240
    assert 1 <= conf["Timeout"] <= 900
    reserved = got.get("Concurrency", {}).get("ReservedConcurrentExecutions")
    assert reserved is None or reserved > 0


def test_handler_module_exists() -> None:
    handler = PROJECT / "src" / PKG / "handler.py"
    assert handler.is_file(), f"template.yaml's Handler points at {handler}, which is missing"
    assert re.search(r"^(def lambda_handler\(|lambda_handler = )", handler.read_text(), re.MULTILINE)


def test_function_properties_moto_ignores(translated: dict[str, Any]) -> None:
    # moto's CloudFormation drops these four properties, so they are checked as translated.
    fn = _function(translated)
    assert fn["RecursiveLoop"] == "Allow", "Lambda would stop the chain after ~16 hops"
    assert fn["LoggingConfig"]["LogFormat"] == "JSON"
    assert fn["Architectures"] in (["arm64"], ["x86_64"])
    assert fn["EphemeralStorage"] == {"Size": {"Ref": "EphemeralStorage"}}
    assert fn["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-processor"}
    emulator = emulated({}).function
    assert (emulator.recursive_loop, [emulator.architecture]) == ("Allow", fn["Architectures"])
    assert 512 <= emulator.ephemeral_mb <= 10240


def test_environment_is_what_the_code_accepts(deployed: Deployed) -> None:
    fn = emulated(deployed.parameters).function
    env = _env(deployed)
    config = pytest.importorskip(f"{PKG}.config")
    # Lambda adds the memory size; the rest is the template's (raises on a filter that matches its writes)
    cfg = config.Config.from_env({**env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb)})
    assert cfg.input_prefix == env["INPUT_PREFIX"] and cfg.input_suffix == env["INPUT_SUFFIX"]
    assert int(env["EPHEMERAL_STORAGE_MB"]) == fn.ephemeral_mb
    assert cfg.cache_memory_bytes == (fn.memory_mb // 4) << 20
    assert int(env["MAX_HOPS"]) >= 1
    assert cfg.max_run_seconds == int(env["MAX_RUN_HOURS"]) * 3600
    assert env["ON_OBJECT_CHANGE"] in ("fail", "restart")
    assert env["POWERTOOLS_SERVICE_NAME"] and env["POWERTOOLS_METRICS_NAMESPACE"]
    assert "SELF_FUNCTION_ARN" not in env, "the chain must invoke the version it runs as"


def _alias(translated: dict[str, Any]) -> str:
    name, alias = one_resource(translated, "AWS::Lambda::Alias")
    assert alias["Properties"]["Name"] == "live"
    return name


def _version(translated: dict[str, Any]) -> str:
    return one_resource(translated, "AWS::Lambda::Version")[0]


def _invoke_configs(translated: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The function's async invoke configs by what they cover: the live alias, the current version."""
    found = resources_of(translated, "AWS::Lambda::EventInvokeConfig").values()
    return {"live" if r["Properties"]["Qualifier"] == "live" else "version": r for r in found}


def test_each_deploy_publishes_a_version_and_keeps_the_old_ones(translated: dict[str, Any]) -> None:
    """Runs stay on the version that started them, so a deploy must not delete it under them."""
    name, version = one_resource(translated, "AWS::Lambda::Version")
    assert version["DeletionPolicy"] == "Retain"
    assert version["Properties"]["FunctionName"] == {"Ref": "Processor"}
    alias = resources_of(translated, "AWS::Lambda::Alias")[_alias(translated)]["Properties"]
    assert alias["FunctionVersion"] == {"Fn::GetAtt": [name, "Version"]}
    # The role may invoke any version of itself (continuations name the number), nothing else.
    assert translated["Outputs"]["LiveAliasArn"]["Value"] == {"Ref": _alias(translated)}


# ---------------------------------------------------------------- IAM


def test_no_wildcard_actions_anywhere(translated: dict[str, Any], deployed: Deployed) -> None:
    docs: list[dict[str, Any]] = []
    for res in translated["Resources"].values():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::IAM::Role":
            assert not props.get("ManagedPolicyArns"), "managed policies grant more than the function needs"
            docs += [p["PolicyDocument"] for p in props.get("Policies", [])]
        if res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            docs.append(props["PolicyDocument"])
    assert docs
    for doc in docs:
        for st in doc["Statement"]:
            for action in _as_list(st["Action"]):
                assert "*" not in action and "?" not in action, f"wildcard action {action} in {st}"
    for st in _role_statements(deployed):
        assert st["Effect"] == "Allow"
        for resource in _as_list(st["Resource"]):
            assert resource != "*", f"statement on every resource: {st}"


def test_function_may_invoke_only_itself(deployed: Deployed) -> None:
    st = _role_statements(deployed)
    assert allowed(st, "lambda:InvokeFunction", FUNCTION_ARN)
    assert allowed(st, "lambda:InvokeFunction", f"{FUNCTION_ARN}:$LATEST")
    assert allowed(st, "lambda:InvokeFunction", f"{FUNCTION_ARN}:live")
    other = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
    for name in ("another-function", f"{FUNCTION_NAME}-x", f"{STACK}-processo", f"x{FUNCTION_NAME}"):
        assert not allowed(st, "lambda:InvokeFunction", other + name), name
    assert not allowed(st, "lambda:InvokeFunction", f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:{FUNCTION_NAME}")
    invoke = [s for s in st if "lambda:InvokeFunction" in _as_list(s["Action"])]
    assert len(invoke) == 1 and _as_list(invoke[0]["Action"]) == ["lambda:InvokeFunction"]
    for action in ("lambda:UpdateFunctionCode", "lambda:InvokeAsync", "lambda:CreateFunction"):
        assert not allowed(st, action, FUNCTION_ARN)


def test_s3_access_is_limited_to_its_prefixes(deployed: Deployed, translated: dict[str, Any]) -> None:
    st = _role_statements(deployed)
    env = _env(deployed)
    obj = f"arn:aws:s3:::{_bucket(deployed)}/"
    inp, out, state = env["INPUT_PREFIX"], env["OUTPUT_PREFIX"], env["STATE_PREFIX"]
    # reads the input, never writes it
    assert allowed(st, "s3:GetObject", obj + inp + "data" + env["INPUT_SUFFIX"])
    assert allowed(st, "s3:GetObjectVersion", obj + inp + "data" + env["INPUT_SUFFIX"])
    assert not allowed(st, "s3:PutObject", obj + inp + "data" + env["INPUT_SUFFIX"])
    # reads and writes state, writes output
    assert allowed(st, "s3:GetObject", obj + state + "runs/x/checkpoints/000001.json")
    for prefix in (out, state):
        assert allowed(st, "s3:PutObject", obj + prefix + "runs/x/checkpoints/000001.json")
    # nothing elsewhere in the bucket, nothing in another bucket, deletes nothing but a failure record
    for key in ("other/file.csv", "secrets.json", "x" + inp + "a", "x" + out + "a"):
        if not any(key.startswith(p) for p in (inp, out, state)):
            for action in ("s3:GetObject", "s3:PutObject"):
                assert not allowed(st, action, obj + key), (action, key)
    assert not allowed(st, "s3:GetObject", f"arn:aws:s3:::another-bucket/{inp}a")
    for prefix in (inp, out, state):
        assert not allowed(st, "s3:DeleteObject", obj + prefix + "a")
        assert not allowed(st, "s3:DeleteObject", obj + prefix + "runs/x/checkpoints/000001.json")
    # ...but a resume may clear a run's failure record (runs.py / handler.resume_run), nothing else
    assert allowed(st, "s3:DeleteObject", obj + state + "runs/0123abcd/checkpoints/outcome.json")
    assert not allowed(st, "s3:DeleteObject", obj + state + "runs/0123abcd/checkpoints/000001.json")
    assert not allowed(st, "s3:DeleteObject", obj + out + "runs/0123abcd/checkpoints/outcome.json")
    # ...and a fan-out run the parts of a range chain it reads again (fanout._redo), not the run's own
    run = "0123456789abcdef01234567"
    assert allowed(st, "s3:DeleteObject", obj + state + f"runs/{run}/ranges/r0002g0/checkpoints/outcome.json")
    assert allowed(st, "s3:DeleteObject", obj + out + f"{run}/parts/r0002g0-000003-0000.jsonl")
    for key in (f"{run}/parts/000003-0000.jsonl", f"{run}/manifest.json"):
        assert not allowed(st, "s3:DeleteObject", obj + out + key), key
    assert not allowed(st, "s3:PutBucketPolicy", obj.rstrip("/"))
    assert not allowed(st, "s3:PutObjectAcl", obj + out + "a")
    # lists the state prefix (and a non-empty input prefix), never the output or the whole bucket
    bucket_arn = obj.rstrip("/")
    assert allowed(st, "s3:ListBucket", bucket_arn, **{"s3:prefix": state + "runs/abc/checkpoints/"})
    assert not allowed(st, "s3:ListBucket", bucket_arn)
    assert not allowed(st, "s3:ListBucket", bucket_arn, **{"s3:prefix": "other/"})
    assert not allowed(st, "s3:ListBucket", bucket_arn, **{"s3:prefix": out})
    assert not allowed(st, "s3:ListBucket", bucket_arn, **{"s3:prefix": ""})
    assert allowed(st, "s3:ListBucket", bucket_arn, **{"s3:prefix": inp + "x"}) == bool(inp)
    # writes the output prefix without reading it (parts are copied in from staging)
    assert allowed(st, "s3:PutObject", obj + out + "run/parts/000001-0000.jsonl")
    assert not allowed(st, "s3:GetObject", obj + out + "run/manifest.json")
    assert allowed(st, "s3:GetObject", obj + state + "runs/r/staging/000001-a-0000.jsonl")


def test_logs_only_to_its_log_group(deployed: Deployed) -> None:
    st = _role_statements(deployed)
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{FUNCTION_NAME}"
    assert allowed(st, "logs:PutLogEvents", f"{group}:log-stream:2024/01/01/[$LATEST]abc")
    assert allowed(st, "logs:CreateLogStream", f"{group}:log-stream:x")
    assert not allowed(st, "logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/other:log-stream:x")
    assert not allowed(st, "logs:CreateLogGroup", group)


# ---------------------------------------------------------------- the trigger


def _trigger_matcher(deployed: Deployed, translated: dict[str, Any]) -> Any:
    """A function key -> bool, taken from whichever trigger the stack has (exactly one)."""
    buckets = resources_of(translated, "AWS::S3::Bucket")
    rules = resources_of(translated, "AWS::Events::Rule")
    assert len(buckets) + len(rules) == 1, "expected one trigger: the bucket notification or an EventBridge rule"
    if buckets:
        bucket = next(iter(buckets.values()))["Properties"]
        # The configurations are an !If over the prefix and suffix parameters: resolve them as
        # CloudFormation would (moto does not apply a bucket's NotificationConfiguration).
        from devtools import stack_template

        view = emulated(deployed.parameters)
        resolver = stack_template.Resolver(translated, view.parameters, STACK, REGION)
        configs = resolver.value(bucket["NotificationConfiguration"]["LambdaConfigurations"])
        filters = []
        for conf in configs:
            assert conf["Event"] == "s3:ObjectCreated:*"
            assert conf["Function"] == stack_template.LogicalRef(_alias(translated)), "the trigger invokes the alias"
            rules = {
                r["Name"].lower(): r["Value"] for r in (conf.get("Filter") or {}).get("S3Key", {}).get("Rules", [])
            }
            filters.append((rules.get("prefix", ""), rules.get("suffix", "")))
        trigger = view.function.trigger
        assert sorted(filters) == sorted((trigger.prefix, s) for s in trigger.suffixes or [""])
        # S3 rejects overlapping filters: one configuration's suffix may not end another's
        suffixes = [s for _, s in filters]
        assert not any(a != b and a.endswith(b) for a in suffixes for b in suffixes)
        assert len(set(suffixes)) == len(suffixes)
        # S3 may invoke the function's live alias, from this bucket of this account only (moto keeps
        # an alias's permissions on the function)
        permissions = resources_of(translated, "AWS::Lambda::Permission").values()
        assert [p["Properties"]["FunctionName"] for p in permissions] == [{"Ref": _alias(translated)}]
        statements = json.loads(deployed.client("lambda").get_policy(FunctionName=FUNCTION_NAME)["Policy"])["Statement"]
        s3_statements = [s for s in statements if s["Principal"] == {"Service": "s3.amazonaws.com"}]
        assert len(s3_statements) == 1
        assert s3_statements[0]["Condition"]["ArnLike"]["AWS:SourceArn"] == f"arn:aws:s3:::{_bucket(deployed)}"
        assert s3_statements[0]["Condition"]["StringEquals"]["AWS:SourceAccount"] == ACCOUNT

        def s3_match(key: str) -> bool:
            return any(key.startswith(prefix) and key.endswith(suffix) for prefix, suffix in filters)

        return s3_match
    events = deployed.client("events")
    name = deployed.physical_id(next(iter(rules)))
    rule = events.describe_rule(Name=name)
    targets = events.list_targets_by_rule(Rule=name)["Targets"]
    assert [t["Arn"] for t in targets] == [FUNCTION_ARN]  # moto's copy: the alias as the function
    translated_targets = next(iter(rules.values()))["Properties"]["Targets"]
    assert [t["Arn"] for t in translated_targets] == [{"Ref": _alias(translated)}], "the trigger invokes the alias"
    bucket = _bucket(deployed)
    # moto has no TestEventPattern API; its rule matcher (prefix, suffix, wildcard) stands in.
    from moto.events.models import EventPattern, EventPatternParser

    matcher = EventPattern(rule["EventPattern"], EventPatternParser(rule["EventPattern"]).parse())

    def eb_match(key: str) -> bool:
        event = {
            "id": "1",
            "account": ACCOUNT,
            "source": "aws.s3",
            "time": "2024-01-01T00:00:00Z",
            "region": REGION,
            "resources": [f"arn:aws:s3:::{bucket}"],
            "detail-type": "Object Created",
            "detail": {"bucket": {"name": bucket}, "object": {"key": key, "size": 1}},
        }
        return bool(matcher.matches_event(event))

    return eb_match


def test_trigger_fires_for_input_and_never_for_what_the_function_writes(
    deployed: Deployed, translated: dict[str, Any]
) -> None:
    env = _env(deployed)
    matches = _trigger_matcher(deployed, translated)
    inp, suffix = env["INPUT_PREFIX"], env["INPUT_SUFFIX"]
    assert matches(f"{inp}data{suffix}")
    assert matches(f"{inp}deep/folder/data{suffix}")
    assert not matches(f"elsewhere/data{suffix}")
    if suffix:
        assert not matches(f"{inp}data{suffix}.tmp")
        assert matches(f"{inp}data{suffix}.gz"), "a gzip upload of the same data starts a run too"
    for key in _written_keys(env):
        assert key.startswith((env["OUTPUT_PREFIX"], env["STATE_PREFIX"]))
        assert not matches(key), f"{key} would start a run: a loop through S3"
    # the same check, for any key under the written prefixes, by the code's own rule
    config = pytest.importorskip(f"{PKG}.config")
    for prefix in (env["OUTPUT_PREFIX"], env["STATE_PREFIX"]):
        assert not config.filter_matches_writes(inp, suffix, prefix)


# ---------------------------------------------------------------- failures and alarms


def test_async_retries_are_bounded_and_failures_reach_the_queue(deployed: Deployed, translated: dict[str, Any]) -> None:
    configs = _invoke_configs(translated)
    assert set(configs) == {"live", "version"}, "hop 0 runs through the alias, continuations on the version"
    version = configs["version"]
    assert version["Properties"]["Qualifier"] == {"Fn::GetAtt": [_version(translated), "Version"]}
    # a deploy replaces it with the new version's: the old one stays while that version's runs finish
    assert (version.get("DeletionPolicy"), version.get("UpdateReplacePolicy")) == ("Retain", "Retain")
    # the same settings (the transform already wrote the parameters' values into the alias's)
    from devtools import stack_template

    resolve = stack_template.Resolver(translated, emulated(deployed.parameters).parameters, STACK, REGION).value
    same = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds")
    assert [int(resolve(version["Properties"][k])) for k in same] == [
        int(configs["live"]["Properties"][k]) for k in same
    ]
    assert version["Properties"]["DestinationConfig"] == configs["live"]["Properties"]["DestinationConfig"]
    props = configs["live"]["Properties"]
    assert props["FunctionName"] == {"Ref": "Processor"}
    assert 0 <= props["MaximumRetryAttempts"] <= translated["Parameters"]["AsyncRetries"]["MaxValue"] == 2
    assert 60 <= props["MaximumEventAgeInSeconds"] <= 21600
    queue_name, _ = one_resource(translated, "AWS::SQS::Queue")
    assert props["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_name, "Arn"]}}}
    sqs = deployed.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=deployed.outputs["OnFailureQueueUrl"], AttributeNames=["All"])[
        "Attributes"
    ]
    assert attrs["MessageRetentionPeriod"] == str(14 * 24 * 3600)
    assert attrs.get("SqsManagedSseEnabled") == "true" or attrs.get("KmsMasterKeyId")
    st = _role_statements(deployed)
    assert allowed(st, "sqs:SendMessage", attrs["QueueArn"])
    assert not allowed(st, "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:another-queue")
    assert not allowed(st, "sqs:ReceiveMessage", attrs["QueueArn"])


def _alarms(translated: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["MetricName"]: r["Properties"]
        for r in resources_of(translated, "AWS::CloudWatch::Alarm").values()
    }


def test_alarms(translated: dict[str, Any], deployed: Deployed) -> None:
    alarms = _alarms(translated)
    assert set(alarms) == {"ApproximateNumberOfMessagesVisible", "Errors", "DepthGuardTripped"}
    queue_name, _ = one_resource(translated, "AWS::SQS::Queue")
    env = _env(deployed)
    expected = {
        "ApproximateNumberOfMessagesVisible": (
            "AWS/SQS",
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_name, "QueueName"]}}],
        ),
        "Errors": ("AWS/Lambda", [{"Name": "FunctionName", "Value": {"Ref": "Processor"}}]),
        "DepthGuardTripped": (
            env["POWERTOOLS_METRICS_NAMESPACE"],
            [{"Name": "service", "Value": env["POWERTOOLS_SERVICE_NAME"]}],
        ),
    }
    topic_name, _ = one_resource(translated, "AWS::SNS::Topic")
    for metric, (namespace, dimensions) in expected.items():
        alarm = alarms[metric]
        assert alarm["Namespace"] == namespace, metric
        assert alarm["Dimensions"] == dimensions, metric
        assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold", metric
        assert alarm["TreatMissingData"] == "notBreaching", metric
        assert alarm["AlarmActions"] == {"Fn::If": ["HasAlarmEmail", [{"Ref": topic_name}], {"Ref": "AWS::NoValue"}]}
    # with AlarmEmail set (the fixture sets it) the topic exists and mails it
    sns = deployed.client("sns")
    topic_arn = deployed.physical_id(topic_name)
    subs = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subs] == [("email", ALARM_EMAIL)]


# ---------------------------------------------------------------- the bucket


def test_bucket_guards(translated: dict[str, Any], deployed: Deployed) -> None:
    buckets = resources_of(translated, "AWS::S3::Bucket")
    env = _env(deployed)
    if not buckets:
        # An existing bucket: the stack must change nothing on it.
        assert "ExistingBucketName" in translated["Parameters"]
        assert not resources_of(translated, "AWS::S3::BucketPolicy")
        return
    ((name, bucket),) = buckets.items()
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    enc = deployed.client("s3").get_bucket_encryption(Bucket=_bucket(deployed))
    rule = enc["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]
    assert rule["SSEAlgorithm"] in ("AES256", "aws:kms")
    lifecycle = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    state_rule = lifecycle["ExpireRunState"]
    assert state_rule["Status"] == "Enabled" and state_rule["Prefix"] == {"Ref": "StatePrefix"}
    assert state_rule["ExpirationInDays"] == {"Ref": "StateRetentionDays"}
    assert env["STATE_PREFIX"] == deployed.outputs["StatePrefix"]
    assert int(deployed.outputs["StateRetentionDays"]) >= 1
    assert lifecycle["AbortIncompleteMultipartUploads"]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] >= 1
    assert "Prefix" not in lifecycle["AbortIncompleteMultipartUploads"]
    assert props["VersioningConfiguration"] == {
        "Fn::If": ["VersioningOn", {"Status": "Enabled"}, {"Ref": "AWS::NoValue"}]
    }
    assert translated["Parameters"]["BucketVersioning"]["Default"] == "Disabled"
    # TLS only
    ((_, policy),) = resources_of(translated, "AWS::S3::BucketPolicy").items()
    assert policy["Properties"]["Bucket"] == {"Ref": name}
    deny = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert len(deny) == 1
    assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny[0]["Principal"] == "*" and deny[0]["Action"] == "s3:*"
    assert deny[0]["Resource"] == [{"Fn::GetAtt": [name, "Arn"]}, {"Fn::Sub": "${" + name + ".Arn}/*"}]


def test_names_built_from_the_stack_name_are_valid(translated: dict[str, Any]) -> None:
    """samconfig.toml's stack name must fit the names the template derives from it."""
    import tomllib

    with (PROJECT / "samconfig.toml").open("rb") as fh:
        params = tomllib.load(fh)["default"]["global"]["parameters"]
    stack, region = params["stack_name"], params["region"]
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", stack)
    assert len(f"{stack}-processor") <= 64, "function names are at most 64 characters"
    if resources_of(translated, "AWS::S3::Bucket"):
        bucket = f"{stack}-{ACCOUNT}-{region}"
        assert len(bucket) <= 63, f"bucket name {bucket} is over 63 characters: shorten stack_name"
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*[a-z0-9]", bucket), f"bucket name {bucket} must be lowercase"
