//! The local stack is created from template.yaml itself: the table has the
//! template's keys, index and TTL, the secret exists with the template's name,
//! and two stages on one moto server do not see each other.

use aws_sdk_dynamodb::types::{KeyType, TimeToLiveStatus};
use tests::moto::fresh_stack;

#[tokio::test]
async fn the_state_table_matches_the_template() {
    let stack = fresh_stack("provision-table").await;
    assert_eq!(stack.table, format!("connector-state-{}", stack.stage));
    let dynamo = stack.dynamo();
    let table = dynamo
        .describe_table()
        .table_name(&stack.table)
        .send()
        .await
        .expect("describe the table")
        .table
        .expect("a table");
    let keys: Vec<(String, KeyType)> = table
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name().to_string(), k.key_type().clone()))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("pk".to_string(), KeyType::Hash),
            ("sk".to_string(), KeyType::Range)
        ]
    );
    let gsi = table.global_secondary_indexes();
    assert_eq!(gsi.len(), 1);
    assert_eq!(gsi[0].index_name(), Some("gsi1"));
    let ttl = dynamo
        .describe_time_to_live()
        .table_name(&stack.table)
        .send()
        .await
        .expect("describe TTL")
        .time_to_live_description
        .expect("a TTL description");
    assert_eq!(ttl.attribute_name(), Some("expires_at"));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
}

#[tokio::test]
async fn the_app_secret_exists_under_the_template_name() {
    let stack = fresh_stack("provision-secret").await;
    let secret = stack
        .resources
        .secret("LwaAppSecret")
        .expect("LwaAppSecret");
    assert_eq!(secret.name, format!("connector/{}/lwa-app", stack.stage));
    let value = stack
        .secrets()
        .get_secret_value()
        .secret_id(&secret.arn)
        .send()
        .await
        .expect("read the secret by the ARN !Ref gives");
    let json: serde_json::Value =
        serde_json::from_str(value.secret_string().expect("a string")).expect("JSON");
    assert!(json.get("client_id").is_some());
}

#[tokio::test]
async fn stages_are_isolated_on_one_server() {
    let a = fresh_stack("provision-iso").await;
    let b = fresh_stack("provision-iso").await;
    assert_eq!(a.endpoint, b.endpoint, "one moto per test process");
    assert_ne!(a.table, b.table);
    let dynamo = a.dynamo();
    dynamo
        .put_item()
        .table_name(&a.table)
        .item("pk", aws_sdk_dynamodb::types::AttributeValue::S("X".into()))
        .item("sk", aws_sdk_dynamodb::types::AttributeValue::S("Y".into()))
        .send()
        .await
        .expect("put into a");
    let in_b = dynamo
        .scan()
        .table_name(&b.table)
        .send()
        .await
        .expect("scan b");
    assert_eq!(in_b.count(), 0);
}
