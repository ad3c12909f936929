//! The production rules of template.yaml, checked on the template itself (no
//! AWS needed): every dead-letter queue has an alarm, an output and a README
//! line; every function has error and throttle alarms, its own log group and
//! role; every alarm notifies the alert topic and says what to do; queues
//! give consumers 6x their timeout; everything with order or buyer data is
//! under the customer-managed key; IAM names exact actions; scheduled runs are
//! retried and dead-lettered; the logging settings keep EMF metrics.

use std::collections::BTreeSet;

use devstack::Template;
use serde_json::Value;

fn template() -> Template {
    Template::load(&devstack::template_path()).expect("template.yaml parses")
}

fn readme() -> String {
    std::fs::read_to_string(devstack::workspace_root().join("README.md")).expect("README.md")
}

/// The logical id a `{"Ref": id}` or `{"Fn::GetAtt": [id, attr]}` points to.
fn target(v: &Value) -> Option<(&str, Option<&str>)> {
    if let Some(id) = v.get("Ref").and_then(Value::as_str) {
        return Some((id, None));
    }
    let parts = v.get("Fn::GetAtt")?.as_array()?;
    Some((parts.first()?.as_str()?, parts.get(1)?.as_str()))
}

fn refers_to(v: &Value, id: &str, attr: Option<&str>) -> bool {
    target(v) == Some((id, attr))
}

fn resources_of<'a>(doc: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    doc["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(id, r)| (id.as_str(), &r["Properties"]))
        .collect()
}

/// The text of a `!Sub` (or a plain string).
fn sub_text(v: &Value) -> &str {
    v.as_str()
        .or_else(|| v.get("Fn::Sub").and_then(Value::as_str))
        .unwrap_or_default()
}

/// Every dead-letter queue: redrive targets, functions' DLQs, schedule DLQs.
fn dead_letter_queues(doc: &Value) -> BTreeSet<String> {
    let mut dlqs = BTreeSet::new();
    for (_, q) in resources_of(doc, "AWS::SQS::Queue") {
        if let Some((id, _)) = q
            .pointer("/RedrivePolicy/deadLetterTargetArn")
            .and_then(target)
        {
            dlqs.insert(id.to_string());
        }
    }
    for (_, f) in resources_of(doc, "AWS::Serverless::Function") {
        if let Some((id, _)) = f.pointer("/DeadLetterQueue/TargetArn").and_then(target) {
            dlqs.insert(id.to_string());
        }
        for (_, e) in f["Events"].as_object().into_iter().flatten() {
            if let Some((id, _)) = e
                .pointer("/Properties/DeadLetterConfig/Arn")
                .and_then(target)
            {
                dlqs.insert(id.to_string());
            }
        }
    }
    dlqs
}

fn alarms(doc: &Value) -> Vec<(&str, &Value)> {
    resources_of(doc, "AWS::CloudWatch::Alarm")
}

fn alarm_on<'a>(
    doc: &'a Value,
    namespace: &str,
    metric: &str,
    dimension: &str,
    id: &str,
    attr: Option<&str>,
) -> Option<&'a Value> {
    alarms(doc).into_iter().map(|(_, a)| a).find(|a| {
        a["Namespace"] == namespace
            && a["MetricName"] == metric
            && a["Dimensions"].as_array().is_some_and(|d| {
                d.iter()
                    .any(|d| d["Name"] == dimension && refers_to(&d["Value"], id, attr))
            })
    })
}

#[test]
fn every_dead_letter_queue_has_an_alarm_an_output_and_a_readme_line() {
    let t = template();
    let doc = t.document();
    let readme = readme();
    let dlqs = dead_letter_queues(doc);
    // The WMS order DLQ, the job DLQs, the shipment DLQ, the schedule DLQs.
    assert!(dlqs.len() >= 6, "dead-letter queues found: {dlqs:?}");
    for dlq in &dlqs {
        let alarm = alarm_on(
            doc,
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            dlq,
            Some("QueueName"),
        )
        .unwrap_or_else(|| panic!("no depth alarm on {dlq}"));
        assert_eq!(alarm["Threshold"], 0, "{dlq}: alarm when depth > 0");
        assert_eq!(alarm["ComparisonOperator"], "GreaterThanThreshold");
        let output = doc["Outputs"]
            .as_object()
            .expect("Outputs")
            .iter()
            .find(|(_, o)| refers_to(&o["Value"], dlq, None))
            .map(|(name, _)| name.clone())
            .unwrap_or_else(|| panic!("no output gives {dlq}'s URL"));
        assert!(
            readme.contains(&output),
            "README.md does not mention the output {output} ({dlq})"
        );
    }
}

#[test]
fn every_function_has_error_and_throttle_alarms_its_log_group_and_its_role() {
    let t = template();
    let doc = t.document();
    let functions = resources_of(doc, "AWS::Serverless::Function");
    assert_eq!(functions.len(), 7);
    for (id, f) in functions {
        for metric in ["Errors", "Throttles"] {
            assert!(
                alarm_on(doc, "AWS/Lambda", metric, "FunctionName", id, None).is_some(),
                "no {metric} alarm on {id}"
            );
        }
        let (group, _) = f
            .pointer("/LoggingConfig/LogGroup")
            .and_then(target)
            .unwrap_or_else(|| panic!("{id} names no log group"));
        let g = &doc["Resources"][group];
        assert_eq!(g["Type"], "AWS::Logs::LogGroup", "{id}");
        assert!(refers_to(
            &g["Properties"]["RetentionInDays"],
            "LogRetentionDays",
            None
        ));
        assert!(refers_to(
            &g["Properties"]["KmsKeyId"],
            "ConnectorKey",
            Some("Arn")
        ));
        // The key policy lets CloudWatch Logs use the key for this group's name.
        let name = sub_text(&g["Properties"]["LogGroupName"]);
        let key_policy = serde_json::to_string(&doc["Resources"]["ConnectorKey"]).expect("json");
        assert!(key_policy.contains(&format!("log-group:{name}")), "{name}");
        // Its own role, and no SAM policy templates (whose SQS poller policy
        // grants on every queue).
        let (role, _) = target(&f["Role"]).unwrap_or_else(|| panic!("{id} has no Role"));
        assert_eq!(doc["Resources"][role]["Type"], "AWS::IAM::Role");
        assert!(
            f.get("Policies").is_none(),
            "{id}: Policies would be ignored"
        );
    }
}

#[test]
fn every_alarm_is_named_for_the_stage_notifies_the_topic_and_says_what_to_do() {
    let t = template();
    let doc = t.document();
    let readme = readme();
    let all = alarms(doc);
    assert!(all.len() >= 20, "{} alarms", all.len());
    for (id, a) in all {
        let name = sub_text(&a["AlarmName"]);
        // The key and topic policies let CloudWatch publish for these names only.
        let suffix = name
            .strip_prefix("connector-${Stage}-")
            .unwrap_or_else(|| panic!("{id}: name {name:?} must start connector-${{Stage}}-"));
        assert!(
            readme.contains(suffix),
            "README.md's Operate section does not list alarm {suffix}"
        );
        for actions in ["AlarmActions", "OKActions"] {
            assert!(
                a[actions]
                    .as_array()
                    .is_some_and(|v| v.iter().any(|x| refers_to(x, "AlertTopic", None))),
                "{id}: {actions} must notify AlertTopic"
            );
        }
        let description = sub_text(&a["AlarmDescription"]);
        assert!(
            description.contains("connector-admin --stage ${Stage}")
                || description.contains("aws "),
            "{id}: the description names no command to run"
        );
        // CloudWatch's limit, counted before ${...} expansion plus a margin.
        assert!(description.len() < 900, "{id}: description too long");
    }
}

#[test]
fn the_agreed_metric_alarms_exist() {
    let t = template();
    let doc = t.document();
    let alarms = alarms(doc);
    let on_metric = |metric: &str| {
        alarms
            .iter()
            .filter(|(_, a)| a["Namespace"] == "WmsAmazonConnector" && a["MetricName"] == metric)
            .map(|(_, a)| *a)
            .collect::<Vec<_>>()
    };
    let stale = on_metric("OrderPullMaxAgeSeconds");
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0]["TreatMissingData"], "breaching");
    assert!(refers_to(
        &stale[0]["Threshold"],
        "OrderPullStaleAfterSeconds",
        None
    ));
    assert_eq!(on_metric("AuthorizationFailures").len(), 1);
    let stuck: BTreeSet<String> = on_metric("FeedsStuck")
        .iter()
        .flat_map(|a| a["Dimensions"].as_array().into_iter().flatten())
        .filter(|d| d["Name"] == "Job")
        .filter_map(|d| d["Value"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        stuck,
        BTreeSet::from(["inventory-push".to_string(), "shipment-confirm".to_string()])
    );
    let math = |metric: &str| {
        alarms
            .iter()
            .find(|(_, a)| a.get("Metrics").is_some() && a.to_string().contains(metric))
            .map(|(_, a)| *a)
    };
    let ratio = math("SpApiThrottled").expect("the 429 ratio alarm (metric math)");
    let text = serde_json::to_string(ratio).expect("json");
    for needle in ["SpApiThrottled", "SpApiCalls", "ThrottleAlarmMinCalls"] {
        assert!(text.contains(needle), "ratio alarm lacks {needle}");
    }
    assert!(refers_to(&ratio["Threshold"], "ThrottleRatioAlarm", None));
    // The weekly SKU reconciliation's three gauges, one alarm.
    let skus = math("SkusOnlyOnAmazon").expect("the SKU mismatch alarm (metric math)");
    let text = serde_json::to_string(skus).expect("json");
    for needle in ["SkusOnlyInWms", "SkuMapDangling", "inventory-push"] {
        assert!(text.contains(needle), "SKU alarm lacks {needle}");
    }
    assert_eq!(skus["TreatMissingData"], "notBreaching");
}

#[test]
fn queue_visibility_is_at_least_six_times_the_consumer_timeout() {
    let t = template();
    let doc = t.document();
    let global_timeout = doc
        .pointer("/Globals/Function/Timeout")
        .and_then(Value::as_i64)
        .unwrap_or(3);
    let mut checked = 0;
    for (id, f) in resources_of(doc, "AWS::Serverless::Function") {
        let timeout = f["Timeout"].as_i64().unwrap_or(global_timeout);
        for (event, e) in f["Events"].as_object().into_iter().flatten() {
            if e["Type"] != "SQS" {
                continue;
            }
            let (queue, _) = target(&e["Properties"]["Queue"]).expect("queue ref");
            let visibility = doc["Resources"][queue]["Properties"]["VisibilityTimeout"]
                .as_i64()
                .unwrap_or(30);
            assert!(
                visibility >= 6 * timeout,
                "{queue}: visibility {visibility} s < 6 x {id}'s {timeout} s ({event})"
            );
            let max = &e["Properties"]["ScalingConfig"]["MaximumConcurrency"];
            assert!(
                max.get("Ref").is_some(),
                "{id}/{event}: MaximumConcurrency is a parameter"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 6, "SQS triggers checked");
}

#[test]
fn order_and_buyer_data_is_under_the_customer_managed_key() {
    let t = template();
    let doc = t.document();
    let key = &doc["Resources"]["ConnectorKey"]["Properties"];
    assert_eq!(key["EnableKeyRotation"], true);
    let cmk = |v: &Value| refers_to(v, "ConnectorKey", Some("Arn"));
    let schedule_dlqs: BTreeSet<&str> = resources_of(doc, "AWS::Serverless::Function")
        .into_iter()
        .filter_map(|(_, f)| f.pointer("/DeadLetterQueue/TargetArn").and_then(target))
        .map(|(id, _)| id)
        .collect();
    for (id, q) in resources_of(doc, "AWS::SQS::Queue") {
        if schedule_dlqs.contains(id) {
            // Schedule events only: SQS-managed keys (see the template).
            assert_eq!(q["SqsManagedSseEnabled"], true, "{id}");
        } else {
            assert!(cmk(&q["KmsMasterKeyId"]), "{id} is not under ConnectorKey");
        }
    }
    let table = &doc["Resources"]["StateTable"]["Properties"]["SSESpecification"];
    assert!(cmk(&table["KMSMasterKeyId"]));
    for (id, s) in resources_of(doc, "AWS::SecretsManager::Secret") {
        assert!(cmk(&s["KmsKeyId"]), "{id}");
    }
    for (id, topic) in resources_of(doc, "AWS::SNS::Topic") {
        assert!(cmk(&topic["KmsMasterKeyId"]), "{id}");
    }
    // Buyer data: label files expire with PiiRetentionDays (at most 30), the
    // WMS order queue keeps messages 14 days at most.
    assert_eq!(doc["Parameters"]["PiiRetentionDays"]["MaxValue"], 30);
    let labels = t.function_environment("LabelsFunction").expect("env");
    assert!(refers_to(
        &labels["LABEL_DOCUMENT_RETENTION_DAYS"],
        "PiiRetentionDays",
        None
    ));
    for q in ["WmsOrderQueue", "WmsOrderDeadLetterQueue"] {
        let retention = doc["Resources"][q]["Properties"]["MessageRetentionPeriod"]
            .as_i64()
            .expect("retention");
        assert!(retention <= 14 * 24 * 3600, "{q}");
    }
    let log_days = &doc["Parameters"]["LogRetentionDays"];
    assert_eq!(log_days["Default"], 365);
    assert!(
        log_days["AllowedValues"]
            .as_array()
            .expect("values")
            .iter()
            .all(|d| d.as_i64().is_some_and(|d| d >= 90)),
        "Amazon's policy: logs kept at least 90 days"
    );
}

#[test]
fn iam_statements_name_exact_actions_and_resources() {
    let t = template();
    let doc = t.document();
    let mut statements = 0;
    for (id, p) in resources_of(doc, "AWS::IAM::Policy") {
        for s in p["PolicyDocument"]["Statement"]
            .as_array()
            .expect("statements")
        {
            statements += 1;
            let actions: Vec<&Value> = match &s["Action"] {
                Value::Array(a) => a.iter().collect(),
                one => vec![one],
            };
            for a in actions {
                let a = a.as_str().expect("action");
                assert!(!a.contains('*'), "{id}: wildcard action {a}");
            }
            let resources: Vec<&Value> = match &s["Resource"] {
                Value::Array(r) => r.iter().collect(),
                one => vec![one],
            };
            for r in resources {
                assert_ne!(r, "*", "{id}: a statement on every resource");
                // A pattern is allowed only as the seller-secret prefix.
                let text = sub_text(r);
                assert!(
                    !text.contains('*') || text.ends_with(":secret:connector/${Stage}/seller/*"),
                    "{id}: resource pattern {text}"
                );
            }
        }
    }
    assert!(statements >= 20, "{statements} statements");
}

#[test]
fn scheduled_runs_are_retried_then_dead_lettered() {
    let t = template();
    let doc = t.document();
    let mut schedules = 0;
    for (id, f) in resources_of(doc, "AWS::Serverless::Function") {
        for (event, e) in f["Events"].as_object().into_iter().flatten() {
            if e["Type"] != "Schedule" {
                continue;
            }
            schedules += 1;
            let p = &e["Properties"];
            assert!(
                p["RetryPolicy"]["MaximumRetryAttempts"].as_i64() > Some(0),
                "{event}"
            );
            let (dlq, _) = p
                .pointer("/DeadLetterConfig/Arn")
                .and_then(target)
                .unwrap_or_else(|| panic!("{id}/{event}: no DeadLetterConfig"));
            // Failures inside the function (asynchronous invoke) go there too.
            assert!(
                f.pointer("/DeadLetterQueue/TargetArn").and_then(target)
                    == Some((dlq, Some("Arn")))
            );
            assert!(f["EventInvokeConfig"]["MaximumRetryAttempts"].as_i64() > Some(0));
            // The queue policy lets exactly this rule send.
            let rule = sub_text(&p["Name"]);
            let policy = resources_of(doc, "AWS::SQS::QueuePolicy")
                .into_iter()
                .find(|(_, qp)| {
                    qp["Queues"]
                        .as_array()
                        .is_some_and(|q| q.iter().any(|q| refers_to(q, dlq, None)))
                })
                .unwrap_or_else(|| panic!("no queue policy on {dlq}"));
            let text = serde_json::to_string(policy.1).expect("json");
            assert!(
                text.contains(&format!("rule/{rule}")),
                "{dlq}: policy for {rule}"
            );
        }
    }
    assert_eq!(schedules, 3);
}

#[test]
fn logs_are_json_at_info_so_metrics_and_reports_are_kept() {
    let t = template();
    let doc = t.document();
    let logging = &doc["Globals"]["Function"]["LoggingConfig"];
    assert_eq!(logging["LogFormat"], "JSON");
    assert_eq!(logging["ApplicationLogLevel"], "INFO");
    assert_eq!(logging["SystemLogLevel"], "INFO");
    for function in t.functions() {
        let env = t.function_environment(&function).expect("env");
        assert_eq!(env["AWS_LAMBDA_LOG_FORMAT"], "JSON", "{function}");
        assert_eq!(env["AWS_LAMBDA_LOG_LEVEL"], "INFO", "{function}");
        assert!(refers_to(&env["STAGE"], "Stage", None), "{function}");
        // Set through LoggingConfig only, never twice.
        let own = &doc["Resources"][&function]["Properties"]["Environment"]["Variables"];
        let globals = &doc["Globals"]["Function"]["Environment"]["Variables"];
        for vars in [own, globals] {
            assert!(vars.get("AWS_LAMBDA_LOG_FORMAT").is_none(), "{function}");
            assert!(vars.get("AWS_LAMBDA_LOG_LEVEL").is_none(), "{function}");
        }
    }
}

#[test]
fn samconfig_has_dev_and_prod_each_deploying_its_own_stage() {
    let text = std::fs::read_to_string(devstack::workspace_root().join("samconfig.toml"))
        .expect("samconfig.toml");
    for env in ["dev", "prod"] {
        let start = text
            .find(&format!("[{env}.deploy.parameters]"))
            .unwrap_or_else(|| panic!("no [{env}.deploy.parameters]"));
        let section = &text[start..];
        let section = &section[..section[1..].find("\n[").map_or(section.len(), |i| i + 1)];
        assert!(
            section.contains(&format!("parameter_overrides = \"Stage={env}")),
            "{env}: parameter_overrides must set Stage={env} first"
        );
        // The roles have names: CloudFormation needs CAPABILITY_NAMED_IAM.
        assert!(
            section.contains("capabilities = \"CAPABILITY_NAMED_IAM\""),
            "{env}"
        );
        assert!(
            text.contains(&format!("[{env}.build.parameters]\nbeta_features = true")),
            "{env}: sam build needs --beta-features for cargo-lambda"
        );
    }
}
