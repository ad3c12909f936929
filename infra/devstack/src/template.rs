//! Reading `template.yaml`: the CloudFormation/SAM document is turned into
//! plain JSON with the short intrinsic tags (`!Ref`, `!Sub`, `!GetAtt`, ...)
//! rewritten to their long forms (`{"Ref": ..}`, `{"Fn::Sub": ..}`, ...), and
//! the intrinsics the local stack needs are resolved against a [`Scope`].

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};
use serde_yaml_ng::value::TaggedValue;

use crate::DevstackError;

/// The parsed template.
#[derive(Clone, Debug)]
pub struct Template {
    doc: Value,
}

/// One resource of the template.
#[derive(Clone, Debug)]
pub struct Resource<'a> {
    pub logical_id: &'a str,
    pub kind: &'a str,
    pub properties: &'a Value,
    /// The resource's `Condition`, if it has one.
    pub condition: Option<&'a str>,
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, DevstackError> {
        let text = std::fs::read_to_string(path).map_err(|source| DevstackError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, DevstackError> {
        let yaml: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(text).map_err(|e| DevstackError::Template(e.to_string()))?;
        let doc = to_json(yaml)?;
        if !doc.get("Resources").is_some_and(Value::is_object) {
            return Err(DevstackError::Template(
                "the template has no Resources mapping".into(),
            ));
        }
        Ok(Self { doc })
    }

    /// The whole document (short tags in their long forms), for checks of
    /// the template itself (tests/it/template_rules.rs).
    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// The resources in document order of their logical ids (sorted).
    pub fn resources(&self) -> Vec<Resource<'_>> {
        let Some(map) = self.doc.get("Resources").and_then(Value::as_object) else {
            return Vec::new();
        };
        map.iter()
            .map(|(id, r)| Resource {
                logical_id: id,
                kind: r.get("Type").and_then(Value::as_str).unwrap_or(""),
                properties: r.get("Properties").unwrap_or(&Value::Null),
                condition: r.get("Condition").and_then(Value::as_str),
            })
            .collect()
    }

    pub fn resource(&self, logical_id: &str) -> Option<Resource<'_>> {
        self.resources()
            .into_iter()
            .find(|r| r.logical_id == logical_id)
    }

    /// Parameter defaults (`Parameters.X.Default`), as strings.
    pub fn parameter_defaults(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let Some(params) = self.doc.get("Parameters").and_then(Value::as_object) {
            for (name, p) in params {
                if let Some(d) = p.get("Default") {
                    out.insert(name.clone(), scalar_string(d));
                }
            }
        }
        out
    }

    /// The environment variables a function gets: `Globals.Function.Environment`
    /// merged with the function's own, unresolved, plus the two Lambda sets
    /// from the function's logging configuration ([`logging_environment`]).
    pub fn function_environment(
        &self,
        logical_id: &str,
    ) -> Result<Map<String, Value>, DevstackError> {
        let resource = self.function(logical_id)?;
        let mut vars = self
            .doc
            .pointer("/Globals/Function/Environment/Variables")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(own) = resource
            .properties
            .pointer("/Environment/Variables")
            .and_then(Value::as_object)
        {
            for (k, v) in own {
                vars.insert(k.clone(), v.clone());
            }
        }
        let logging = self.logging_config(logical_id)?;
        for (k, v) in logging_environment(&logging) {
            vars.insert(k.to_string(), Value::String(v));
        }
        Ok(vars)
    }

    /// A function's `LoggingConfig`: `Globals.Function.LoggingConfig` merged
    /// with the function's own (key by key, as SAM merges maps), unresolved.
    pub fn logging_config(&self, logical_id: &str) -> Result<Map<String, Value>, DevstackError> {
        let resource = self.function(logical_id)?;
        let mut config = self
            .doc
            .pointer("/Globals/Function/LoggingConfig")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(own) = resource
            .properties
            .get("LoggingConfig")
            .and_then(Value::as_object)
        {
            for (k, v) in own {
                config.insert(k.clone(), v.clone());
            }
        }
        Ok(config)
    }

    fn function(&self, logical_id: &str) -> Result<Resource<'_>, DevstackError> {
        self.resource(logical_id)
            .filter(|r| r.kind == "AWS::Serverless::Function")
            .ok_or_else(|| DevstackError::UnknownResource(logical_id.to_string()))
    }

    /// A function's property as deployed: its own `Properties.<key>`, else
    /// `Globals.Function.<key>` (unresolved).
    pub fn function_setting(&self, logical_id: &str, key: &str) -> Option<&Value> {
        let own = self
            .doc
            .pointer(&format!("/Resources/{logical_id}/Properties/{key}"));
        own.or_else(|| self.doc.pointer(&format!("/Globals/Function/{key}")))
    }

    /// A resource's `Metadata` (e.g. a function's `BuildProperties.Binary`).
    pub fn metadata(&self, logical_id: &str) -> Option<&Value> {
        self.doc
            .pointer(&format!("/Resources/{logical_id}/Metadata"))
    }

    /// Logical ids of the functions in the template.
    pub fn functions(&self) -> Vec<String> {
        self.resources()
            .into_iter()
            .filter(|r| r.kind == "AWS::Serverless::Function")
            .map(|r| r.logical_id.to_string())
            .collect()
    }
}

/// The variables Lambda sets in a function's environment from its
/// `LoggingConfig` (advanced logging controls): `AWS_LAMBDA_LOG_FORMAT` from
/// `LogFormat`, and with JSON logs `AWS_LAMBDA_LOG_LEVEL` from
/// `ApplicationLogLevel` (INFO when unset, Lambda's default). The template
/// sets them there, not under `Environment`, so a deploy and a local run
/// (which reads this) configure the code's logs the same way.
pub fn logging_environment(logging: &Map<String, Value>) -> Vec<(&'static str, String)> {
    let Some(format) = logging.get("LogFormat").and_then(Value::as_str) else {
        return Vec::new();
    };
    let mut vars = vec![("AWS_LAMBDA_LOG_FORMAT", format.to_string())];
    if format.eq_ignore_ascii_case("json") {
        let level = logging
            .get("ApplicationLogLevel")
            .and_then(Value::as_str)
            .unwrap_or("INFO");
        vars.push(("AWS_LAMBDA_LOG_LEVEL", level.to_string()));
    }
    vars
}

/// What intrinsics resolve against.
pub trait Scope {
    fn parameter(&self, name: &str) -> Option<String>;
    /// `!Ref LogicalId` of a resource.
    fn reference(&self, logical_id: &str) -> Option<String>;
    /// `!GetAtt LogicalId.Attribute`.
    fn attribute(&self, logical_id: &str, attribute: &str) -> Option<String>;
}

/// Resolves a property value to a string (`!Ref`, `!Sub`, `!GetAtt`,
/// `!Join`, pseudo parameters, plain scalars).
pub fn resolve_string(value: &Value, scope: &dyn Scope) -> Result<String, DevstackError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(_) | Value::Bool(_) => Ok(scalar_string(value)),
        Value::Object(map) if map.len() == 1 => {
            let (name, arg) = map.iter().next().ok_or_else(|| unsupported(value))?;
            match name.as_str() {
                "Ref" => {
                    let target = arg.as_str().ok_or_else(|| unsupported(value))?;
                    resolve_ref(target, scope)
                }
                "Fn::GetAtt" => {
                    let (id, attr) = getatt_parts(arg).ok_or_else(|| unsupported(value))?;
                    scope
                        .attribute(&id, &attr)
                        .ok_or(DevstackError::Unresolved(format!("{id}.{attr}")))
                }
                "Fn::Sub" => sub(arg, scope),
                "Fn::Join" => {
                    let parts = arg.as_array().ok_or_else(|| unsupported(value))?;
                    let [sep, list] = parts.as_slice() else {
                        return Err(unsupported(value));
                    };
                    let sep = sep.as_str().ok_or_else(|| unsupported(value))?;
                    let list = list.as_array().ok_or_else(|| unsupported(value))?;
                    let items = list
                        .iter()
                        .map(|v| resolve_string(v, scope))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(items.join(sep))
                }
                _ => Err(unsupported(value)),
            }
        }
        _ => Err(unsupported(value)),
    }
}

/// Resolves every intrinsic inside a JSON value (a policy document): each
/// `{"Ref"|"Fn::GetAtt"|"Fn::Sub"|"Fn::Join": ...}` becomes its string.
pub fn resolve_value(value: &Value, scope: &dyn Scope) -> Result<Value, DevstackError> {
    match value {
        Value::Object(map)
            if map.len() == 1
                && map.keys().any(|k| {
                    matches!(k.as_str(), "Ref" | "Fn::GetAtt" | "Fn::Sub" | "Fn::Join")
                }) =>
        {
            resolve_string(value, scope).map(Value::String)
        }
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| Ok((k.clone(), resolve_value(v, scope)?)))
            .collect::<Result<serde_json::Map<String, Value>, DevstackError>>()
            .map(Value::Object),
        Value::Array(list) => list
            .iter()
            .map(|v| resolve_value(v, scope))
            .collect::<Result<Vec<Value>, DevstackError>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

fn unsupported(value: &Value) -> DevstackError {
    DevstackError::Unsupported(value.to_string())
}

fn resolve_ref(target: &str, scope: &dyn Scope) -> Result<String, DevstackError> {
    if let Some(p) = pseudo(target, scope) {
        return Ok(p);
    }
    scope
        .parameter(target)
        .or_else(|| scope.reference(target))
        .ok_or_else(|| DevstackError::Unresolved(target.to_string()))
}

fn pseudo(name: &str, scope: &dyn Scope) -> Option<String> {
    match name {
        "AWS::Region" => Some(scope.parameter("AWS::Region").unwrap_or("us-east-1".into())),
        "AWS::AccountId" => Some("123456789012".into()),
        "AWS::Partition" => Some("aws".into()),
        "AWS::URLSuffix" => Some("amazonaws.com".into()),
        "AWS::StackName" => Some(
            scope
                .parameter("AWS::StackName")
                .unwrap_or("connector".into()),
        ),
        _ => None,
    }
}

fn getatt_parts(arg: &Value) -> Option<(String, String)> {
    match arg {
        Value::String(s) => {
            let (id, attr) = s.split_once('.')?;
            Some((id.to_string(), attr.to_string()))
        }
        Value::Array(a) => match a.as_slice() {
            [Value::String(id), Value::String(attr)] => Some((id.clone(), attr.clone())),
            _ => None,
        },
        _ => None,
    }
}

/// `Fn::Sub` with a string or `[string, {vars}]`.
fn sub(arg: &Value, scope: &dyn Scope) -> Result<String, DevstackError> {
    let (text, vars) = match arg {
        Value::String(s) => (s.as_str(), None),
        Value::Array(a) => match a.as_slice() {
            [Value::String(s), Value::Object(vars)] => (s.as_str(), Some(vars)),
            _ => return Err(unsupported(arg)),
        },
        _ => return Err(unsupported(arg)),
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| DevstackError::Template(format!("unclosed ${{ in !Sub {text:?}")))?;
        let name = &after[..end];
        if let Some(literal) = name.strip_prefix('!') {
            out.push_str("${");
            out.push_str(literal);
            out.push('}');
        } else if let Some(v) = vars.and_then(|m| m.get(name)) {
            out.push_str(&resolve_string(v, scope)?);
        } else if let Some((id, attr)) = name.split_once('.').filter(|_| !name.starts_with("AWS::"))
        {
            out.push_str(
                &scope
                    .attribute(id, attr)
                    .ok_or_else(|| DevstackError::Unresolved(name.to_string()))?,
            );
        } else {
            out.push_str(&resolve_ref(name, scope)?);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn to_json(v: serde_yaml_ng::Value) -> Result<Value, DevstackError> {
    use serde_yaml_ng::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(seq) => Value::Array(seq.into_iter().map(to_json).collect::<Result<_, _>>()?),
        Y::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s,
                    other => serde_yaml_ng::to_string(&other)
                        .map_err(|e| DevstackError::Template(e.to_string()))?
                        .trim()
                        .to_string(),
                };
                out.insert(key, to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => tag_to_long_form(*tagged)?,
    })
}

fn tag_to_long_form(tagged: TaggedValue) -> Result<Value, DevstackError> {
    let tag = tagged.tag.to_string();
    let name = tag.trim_start_matches('!');
    let inner = to_json(tagged.value)?;
    let mut out = Map::new();
    match name {
        "Ref" | "Condition" => {
            out.insert(name.to_string(), inner);
        }
        "GetAtt" => {
            let parts = match inner {
                Value::String(s) => match s.split_once('.') {
                    Some((id, attr)) => Value::Array(vec![id.into(), attr.into()]),
                    None => {
                        return Err(DevstackError::Template(format!(
                            "!GetAtt {s} needs LogicalId.Attribute"
                        )));
                    }
                },
                other => other,
            };
            out.insert("Fn::GetAtt".to_string(), parts);
        }
        other => {
            out.insert(format!("Fn::{other}"), inner);
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct S;
    impl Scope for S {
        fn parameter(&self, name: &str) -> Option<String> {
            (name == "Stage").then(|| "dev".to_string())
        }
        fn reference(&self, logical_id: &str) -> Option<String> {
            (logical_id == "Q").then(|| "http://q".to_string())
        }
        fn attribute(&self, logical_id: &str, attribute: &str) -> Option<String> {
            (logical_id == "Q" && attribute == "Arn").then(|| "arn:q".to_string())
        }
    }

    const DOC: &str = r#"
Parameters:
  Stage: {Type: String, Default: prod}
Globals:
  Function:
    LoggingConfig:
      LogFormat: JSON
      ApplicationLogLevel: WARN
    Environment:
      Variables:
        A: !Ref Q
        B: plain
Resources:
  Q:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "orders-${Stage}.fifo"
  F:
    Type: AWS::Serverless::Function
    Properties:
      LoggingConfig:
        ApplicationLogLevel: DEBUG
        LogGroup: !Ref Q
      Environment:
        Variables:
          B: !GetAtt Q.Arn
          C: !Sub "${Q.Arn}/${AWS::Region}/${!Literal}"
          D: !Join ["-", [a, !Ref Stage]]
"#;

    #[test]
    fn short_tags_become_long_forms_and_resolve() {
        let t = Template::parse(DOC).unwrap();
        assert_eq!(t.parameter_defaults()["Stage"], "prod");
        let q = t.resource("Q").unwrap();
        assert_eq!(q.kind, "AWS::SQS::Queue");
        assert_eq!(
            resolve_string(&q.properties["QueueName"], &S).unwrap(),
            "orders-dev.fifo"
        );
        let env = t.function_environment("F").unwrap();
        let resolved: BTreeMap<_, _> = env
            .iter()
            .map(|(k, v)| (k.clone(), resolve_string(v, &S).unwrap()))
            .collect();
        assert_eq!(resolved["A"], "http://q");
        assert_eq!(resolved["B"], "arn:q");
        assert_eq!(resolved["C"], "arn:q/us-east-1/${Literal}");
        assert_eq!(resolved["D"], "a-dev");
        assert_eq!(t.functions(), vec!["F".to_string()]);
        // LoggingConfig: the global format, the function's own level.
        assert_eq!(resolved["AWS_LAMBDA_LOG_FORMAT"], "JSON");
        assert_eq!(resolved["AWS_LAMBDA_LOG_LEVEL"], "DEBUG");
    }

    #[test]
    fn logging_environment_follows_lambda() {
        let cfg = |v: serde_json::Value| v.as_object().cloned().unwrap();
        assert!(logging_environment(&cfg(serde_json::json!({}))).is_empty());
        assert_eq!(
            logging_environment(&cfg(serde_json::json!({"LogFormat": "Text"}))),
            vec![("AWS_LAMBDA_LOG_FORMAT", "Text".to_string())]
        );
        assert_eq!(
            logging_environment(&cfg(serde_json::json!({"LogFormat": "JSON"}))),
            vec![
                ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_string()),
                ("AWS_LAMBDA_LOG_LEVEL", "INFO".to_string())
            ]
        );
    }

    #[test]
    fn unknown_references_are_errors_not_empty_strings() {
        let v = serde_json::json!({"Ref": "Nope"});
        assert!(matches!(
            resolve_string(&v, &S),
            Err(DevstackError::Unresolved(n)) if n == "Nope"
        ));
        assert!(Template::parse("a: 1").is_err());
    }

    #[test]
    fn the_project_template_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
        let t = Template::load(&path).unwrap();
        assert_eq!(
            t.resource("StateTable").unwrap().kind,
            "AWS::DynamoDB::Table"
        );
    }
}
