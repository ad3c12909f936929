//! Dev-only kit for the property tests of every inbound parser (issue 16,
//! "Bad input, fuzzed"): proptest strategies that break valid examples the
//! way a buggy sender or a changed API would — structure-aware edits of a
//! JSON document (a field removed, retyped, repeated, renamed, given an
//! extreme value), byte-level edits of its text, and arbitrary bytes — plus
//! one runner ([`run`]) that fixes the case count, the seed and the
//! figures every fuzz test reports.
//!
//! - Case count: `PROPTEST_CASES`, else the test's own (small) default, so CI
//!   stays fast and the bench (`infra/fuzz.sh`) runs the same tests at size.
//! - Seed: fixed unless `FUZZ_SEED` is set (`random`, or a number): CI sees
//!   the same cases every run and never flakes; the bench explores, and
//!   prints its seed so a failure can be replayed with `FUZZ_SEED=<seed>`.
//! - Figures: every run prints `fuzz <name>: <cases> cases in <s> s` and,
//!   when `FUZZ_FIGURES` names a file, appends `name<TAB>cases<TAB>seconds`
//!   to it (the bench's table in BENCHMARKS.md).
//!
//! Generated string values often carry [`SENTINEL`]: a parser's error text
//! must never quote it (errors name fields, never values).
//!
//! Used only as a dev-dependency; production crates never depend on it.

use std::io::Write;
use std::time::Instant;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use serde_json::{Map, Number, Value};

/// A marker inside generated values: an error message that contains it
/// quoted a value from the input.
pub const SENTINEL: &str = "Zq7Sentinel";

/// The seed of CI's runs (any fixed number: the same cases every run).
const CI_SEED: u64 = 0x5EED_F022;

/// The number of cases: `PROPTEST_CASES` if set, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

fn seed() -> u64 {
    match std::env::var("FUZZ_SEED").ok().as_deref().map(str::trim) {
        None | Some("") => CI_SEED,
        Some("random") => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            // Mix in the thread, so tests started in the same instant differ.
            let thread = format!("{:?}", std::thread::current().id());
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in nanos.to_le_bytes().iter().chain(thread.as_bytes()) {
                h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
            }
            h
        }
        Some(n) => n.parse().unwrap_or(CI_SEED),
    }
}

/// The proptest configuration of a fuzz test: its case count, the seed,
/// no regression files written into the source tree (a failure found
/// becomes a named regression test instead).
pub fn config(default_cases: u32, seed: u64) -> Config {
    Config {
        cases: cases(default_cases),
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        max_shrink_iters: 10_000,
        ..Config::default()
    }
}

/// Runs `test` on `cases` values of `strategy`, prints (and records) the
/// figures, and panics with the smallest failing input if one fails.
pub fn run<S>(
    name: &str,
    default_cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let seed = seed();
    let config = config(default_cases, seed);
    let cases = config.cases;
    let mut runner = TestRunner::new(config);
    let start = Instant::now();
    let result = runner.run(&strategy, test);
    let seconds = start.elapsed().as_secs_f64();
    eprintln!(
        "fuzz {name}: {cases} cases in {seconds:.2} s ({:.0} cases/s, seed {seed})",
        f64::from(cases) / seconds.max(1e-9)
    );
    if let Ok(path) = std::env::var("FUZZ_FIGURES")
        && !path.is_empty()
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
    {
        let ok = if result.is_ok() { "ok" } else { "FAILED" };
        let _ = writeln!(f, "{name}\t{cases}\t{seconds:.3}\t{seed}\t{ok}");
    }
    if let Err(e) = result {
        panic!("fuzz {name} (FUZZ_SEED={seed}): {e}");
    }
}

// ---- values ------------------------------------------------------------------

/// Strings a careless or hostile sender produces: empty, blank, padded,
/// control characters, lone surrogates' replacement, very long, digits
/// only, id-like, date-like but wrong, and arbitrary Unicode — often with
/// the [`SENTINEL`] in them.
pub fn nasty_string() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(vec![
        "",
        " ",
        "\t\n",
        "\u{0}",
        "\u{7f}\u{9f}",
        "\u{feff}",
        "🚚📦",
        "null",
        "1e999",
        "-0",
        "NaN",
        "2026-02-30T25:61:61Z",
        "2026-09-01T14:00:00",
        "2026-09-01",
        "2026-09-01T14:00:00+24:00",
        "9999-12-31T23:59:59Z",
        "0000-01-01T00:00:00Z",
    ])
    .prop_map(str::to_string);
    let plain = prop_oneof![
        fixed,
        "[0-9]{1,40}",
        "[A-Z0-9]{1,25}",
        "[0-9]{3}-[0-9]{7}-[0-9]{7}",
        "-?[0-9]{1,20}\\.[0-9]{0,20}",
        "[a-zA-Z0-9 ._:/#-]{0,70}",
        ".{0,24}",
        (1usize..5000).prop_map(|n| "x".repeat(n)),
    ];
    prop_oneof![
        3 => plain.clone(),
        1 => plain.clone().prop_map(|s| format!("{SENTINEL}{s}")),
        1 => plain.prop_map(|s| format!(" {s}{SENTINEL} ")),
    ]
}

/// Numbers at and beyond every limit the contracts care about.
pub fn nasty_number() -> impl Strategy<Value = Value> {
    let fixed = prop::sample::select(vec![
        Value::from(0),
        Value::from(-1),
        Value::from(1),
        Value::from(u64::from(u32::MAX)),
        Value::from(u64::from(u32::MAX) + 1),
        Value::from(i64::MIN),
        Value::from(i64::MAX),
        Value::from(u64::MAX),
        Value::from(0.5),
        Value::from(-0.0),
        Value::from(1e300),
        Value::from(f64::MIN_POSITIVE),
    ]);
    prop_oneof![
        3 => fixed,
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
    ]
}

/// Any JSON value, nested a few levels.
pub fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        nasty_number(),
        nasty_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-z_A-Z]{1,12}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// A replacement for one field: usually a leaf of another type or an
/// extreme value, sometimes a whole structure.
pub fn replacement() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => nasty_string().prop_map(Value::String),
        3 => nasty_number(),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Array(Vec::new())),
        1 => Just(Value::Object(Map::new())),
        1 => any_json(),
    ]
}

// ---- structure-aware edits ----------------------------------------------------

/// One edit of a JSON document.
#[derive(Clone, Debug)]
pub enum Op {
    /// Drop the field (or array element); the root becomes `null`.
    Remove,
    /// Put another value in its place.
    Replace(Value),
    /// An object gets an extra field; an array an extra element.
    Add(String, Value),
    /// Arrays and strings repeated `n` times; anything else becomes an array of `n` copies.
    Repeat(usize),
    /// The value wrapped in a one-element array.
    Wrap,
    /// The value as its JSON text in a string (`1` → `"1"`, `{..}` → `"{..}"`).
    Stringify,
    /// Numbers nudged (`+1`, `-1`, negated, ×1000, +0.5); strings changed in case and padded.
    Nudge(u8),
    /// An object's keys renamed: upper-cased, or a character dropped.
    RenameKeys(bool),
}

impl Op {
    pub fn name(&self) -> &'static str {
        match self {
            Op::Remove => "remove",
            Op::Replace(_) => "replace",
            Op::Add(..) => "add",
            Op::Repeat(_) => "repeat",
            Op::Wrap => "wrap",
            Op::Stringify => "stringify",
            Op::Nudge(_) => "nudge",
            Op::RenameKeys(_) => "rename-keys",
        }
    }
}

/// An edit; added fields are named from `keys` half of the time (the
/// field names of the contract's schema or model: a known field in a
/// place it does not belong, or an optional one the example left out).
pub fn op(keys: Vec<String>) -> impl Strategy<Value = Op> {
    let keys = if keys.is_empty() {
        vec!["extra".to_string()]
    } else {
        keys
    };
    let key = prop_oneof!["[a-z_]{1,10}", prop::sample::select(keys)];
    prop_oneof![
        3 => Just(Op::Remove),
        6 => replacement().prop_map(Op::Replace),
        2 => (key, replacement()).prop_map(|(k, v)| Op::Add(k, v)),
        1 => prop_oneof![0usize..4, 2usize..300].prop_map(Op::Repeat),
        1 => Just(Op::Wrap),
        1 => Just(Op::Stringify),
        2 => any::<u8>().prop_map(Op::Nudge),
        1 => any::<bool>().prop_map(Op::RenameKeys),
    ]
}

/// Where an edit was made: the path's segments (object keys, array indexes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub path: Vec<String>,
    pub op: &'static str,
}

impl Edit {
    /// The path as a JSON pointer (`/lines/0/sku`; `""` for the root).
    pub fn pointer(&self) -> String {
        pointer(&self.path)
    }
}

/// A valid document after one or more edits.
#[derive(Clone, Debug)]
pub struct Mutated {
    pub value: Value,
    pub edits: Vec<Edit>,
}

impl Mutated {
    pub fn text(&self) -> String {
        self.value.to_string()
    }
}

/// `seed` with 1 to `max_edits` structure-aware edits at random places;
/// `keys` names the fields an edit may add (see [`op`], [`schema_keys`]).
pub fn mutated(seed: Value, keys: Vec<String>, max_edits: usize) -> impl Strategy<Value = Mutated> {
    prop::collection::vec((any::<Index>(), op(keys)), 1..=max_edits.max(1)).prop_map(move |edits| {
        let mut value = seed.clone();
        let mut done = Vec::with_capacity(edits.len());
        for (at, op) in edits {
            let paths = paths(&value);
            let path = at.get(&paths).clone();
            let name = op.name();
            apply(&mut value, &path, op);
            done.push(Edit { path, op: name });
        }
        Mutated { value, edits: done }
    })
}

/// One of `seeds`, mutated.
pub fn mutated_any(
    seeds: Vec<Value>,
    keys: Vec<String>,
    max_edits: usize,
) -> impl Strategy<Value = Mutated> {
    assert!(!seeds.is_empty(), "at least one seed");
    (0..seeds.len()).prop_flat_map(move |i| mutated(seeds[i].clone(), keys.clone(), max_edits))
}

/// Every property name a JSON Schema (or a Swagger model's `definitions`)
/// declares, at any depth, sorted and without duplicates.
pub fn schema_keys(schema: &Value) -> Vec<String> {
    let mut keys = std::collections::BTreeSet::new();
    let mut stack = vec![schema];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(m) => {
                if let Some(Value::Object(props)) = m.get("properties") {
                    keys.extend(props.keys().cloned());
                }
                stack.extend(m.values());
            }
            Value::Array(a) => stack.extend(a),
            _ => {}
        }
    }
    keys.into_iter().collect()
}

/// Every node's path, the root (empty path) first.
pub fn paths(value: &Value) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![(Vec::new(), value)];
    while let Some((path, v)) = stack.pop() {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    let mut p = path.clone();
                    p.push(k.clone());
                    stack.push((p, child));
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    let mut p = path.clone();
                    p.push(i.to_string());
                    stack.push((p, child));
                }
            }
            _ => {}
        }
        out.push(path);
    }
    out
}

fn get_mut<'a>(value: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut v = value;
    for seg in path {
        v = match v {
            Value::Object(m) => m.get_mut(seg)?,
            Value::Array(a) => a.get_mut(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(v)
}

fn apply(value: &mut Value, path: &[String], op: Op) {
    if let Op::Remove = op {
        match path.split_last() {
            None => *value = Value::Null,
            Some((last, parent)) => match get_mut(value, parent) {
                Some(Value::Object(m)) => {
                    m.remove(last);
                }
                Some(Value::Array(a)) => {
                    if let Ok(i) = last.parse::<usize>()
                        && i < a.len()
                    {
                        a.remove(i);
                    }
                }
                _ => {}
            },
        }
        return;
    }
    let Some(target) = get_mut(value, path) else {
        return;
    };
    match op {
        Op::Remove => {}
        Op::Replace(v) => *target = v,
        Op::Add(k, v) => match target {
            Value::Object(m) => {
                m.insert(k, v);
            }
            Value::Array(a) => a.push(v),
            other => *other = v,
        },
        Op::Repeat(n) => match target {
            Value::Array(a) => {
                let items = a.clone();
                a.clear();
                for _ in 0..n {
                    a.extend(items.iter().cloned());
                }
            }
            // Long, but not so long that building it costs more than parsing it.
            Value::String(s) => *s = s.repeat(n.min(65_536 / s.len().max(1))),
            other => *other = Value::Array(vec![other.clone(); n]),
        },
        Op::Wrap => *target = Value::Array(vec![target.clone()]),
        Op::Stringify => *target = Value::String(target.to_string()),
        Op::Nudge(k) => match target {
            Value::Number(n) => {
                *target = if let Some(i) = n.as_i64() {
                    match k % 5 {
                        0 => Value::from(i.wrapping_add(1)),
                        1 => Value::from(i.wrapping_sub(1)),
                        2 => Value::from(i.wrapping_neg()),
                        3 => Value::from(i.wrapping_mul(1000)),
                        _ => Number::from_f64(i as f64 + 0.5).map_or(Value::Null, Value::Number),
                    }
                } else if let Some(u) = n.as_u64() {
                    Value::from(u.wrapping_add(1))
                } else {
                    let f = n.as_f64().unwrap_or_default();
                    Number::from_f64(-f * 1000.0).map_or(Value::Null, Value::Number)
                };
            }
            Value::String(s) => {
                *s = match k % 4 {
                    0 => s.to_uppercase(),
                    1 => s.to_lowercase(),
                    2 => format!(" {s} "),
                    _ => s.chars().rev().collect(),
                };
            }
            Value::Bool(b) => *b = !*b,
            other => *other = Value::from(i64::from(k)),
        },
        Op::RenameKeys(upper) => {
            if let Value::Object(m) = target {
                let renamed: Map<String, Value> = std::mem::take(m)
                    .into_iter()
                    .map(|(k, v)| {
                        let k = if upper {
                            k.to_uppercase()
                        } else {
                            k.chars().skip(1).collect()
                        };
                        (k, v)
                    })
                    .collect();
                *m = renamed;
            }
        }
    }
}

// ---- text and bytes -----------------------------------------------------------

/// Byte-level edits of a text (truncated, bytes inserted, deleted,
/// replaced, a slice repeated), read back as UTF-8 with replacement
/// characters: what a broken transport or a hand-edited message looks like.
pub fn text_edits(text: String) -> impl Strategy<Value = String> {
    let edit = (
        0u8..5,
        any::<Index>(),
        any::<Index>(),
        prop::collection::vec(any::<u8>(), 1..8),
    );
    prop::collection::vec(edit, 1..4).prop_map(move |edits| {
        let mut bytes = text.clone().into_bytes();
        for (kind, a, b, insert) in edits {
            let len = bytes.len();
            let i = if len == 0 { 0 } else { a.index(len + 1) };
            let j = if len == 0 { 0 } else { b.index(len + 1) };
            let (lo, hi) = (i.min(j), i.max(j));
            match kind {
                0 => bytes.truncate(i),
                1 => {
                    let tail = bytes.split_off(i);
                    bytes.extend(insert);
                    bytes.extend(tail);
                }
                2 => {
                    bytes.drain(lo..hi);
                }
                3 => {
                    if i < len {
                        bytes[i] = insert[0];
                    }
                }
                _ => {
                    let slice = bytes[lo..hi.min(lo + 256)].to_vec();
                    let tail = bytes.split_off(hi);
                    bytes.extend(slice);
                    bytes.extend(tail);
                }
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Arbitrary bytes, and byte strings made of JSON's tokens (so the parser
/// gets past the first character often).
pub fn arbitrary_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        "\"",
        ":",
        ",",
        "null",
        "true",
        "1e999",
        "-",
        "0",
        "\\u0000",
        "\\ud800",
        "\"schema\"",
        "1",
        " ",
        "\u{0}",
    ]);
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..600),
        prop::collection::vec(token, 0..80).prop_map(|t| t.concat().into_bytes()),
        // Deeper than any parser's recursion limit (serde_json: 128).
        (1usize..2_000).prop_map(|n| "[".repeat(n).into_bytes()),
    ]
}

/// Arbitrary text (the bytes above as UTF-8, lossily).
pub fn arbitrary_text() -> impl Strategy<Value = String> {
    arbitrary_bytes().prop_map(|b| String::from_utf8_lossy(&b).into_owned())
}

// ---- paths ---------------------------------------------------------------------

/// Segments as a JSON pointer (`~` and `/` escaped).
pub fn pointer(path: &[String]) -> String {
    path.iter()
        .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// A JSON pointer's segments (`"/"` and `""` are the root).
pub fn pointer_segments(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .filter(|s| !s.is_empty())
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// `serde_path_to_error`'s path (`payload.rates[0].totalCharge`, `.` for the
/// root) as segments.
pub fn serde_segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (name, rest) = part.split_once('[').unwrap_or((part, ""));
        if !name.is_empty() {
            out.push(name.to_string());
        }
        for index in rest.split('[').filter(|s| !s.is_empty()) {
            out.push(index.trim_end_matches(']').to_string());
        }
    }
    out
}

/// Whether one path contains the other (the error is about the edited
/// field, one of its parents, or something inside it).
pub fn related(a: &[String], b: &[String]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_edit_lands_where_it_says() {
        let seed = json!({"a": {"b": [1, 2]}, "c": "x"});
        let mut v = seed.clone();
        apply(&mut v, &["a".into(), "b".into(), "0".into()], Op::Remove);
        assert_eq!(v, json!({"a": {"b": [2]}, "c": "x"}));
        let mut v = seed.clone();
        apply(&mut v, &["c".into()], Op::Repeat(3));
        assert_eq!(v["c"], "xxx");
        let mut v = seed.clone();
        apply(&mut v, &["a".into()], Op::Stringify);
        assert_eq!(v["a"], r#"{"b":[1,2]}"#);
        let mut v = seed;
        apply(&mut v, &[], Op::Remove);
        assert_eq!(v, Value::Null);
    }

    #[test]
    fn paths_are_parsed_both_ways() {
        assert_eq!(
            serde_segments("payload.rates[0].totalCharge"),
            vec!["payload", "rates", "0", "totalCharge"]
        );
        assert!(serde_segments(".").is_empty());
        assert_eq!(pointer_segments("/lines/0/sku"), vec!["lines", "0", "sku"]);
        assert_eq!(pointer(&["a/b".into(), "0".into()]), "/a~1b/0");
        assert!(related(&["a".into()], &["a".into(), "b".into()]));
        assert!(!related(&["a".into()], &["b".into()]));
    }
}
