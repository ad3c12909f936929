//! A small XSD structure checker for the XML feeds: reads the reference
//! schemas in `shared/amazon/xsd` (read at test time, never copied) and
//! checks a document against the parts they define — element order and
//! choices (`sequence`, `choice`, `minOccurs`, `maxOccurs`, `ref`), and
//! simple values (enumerations, patterns, `maxLength`, the built-in types the
//! feeds use). Global elements a schema includes but this folder lacks
//! (Product.xsd, ...) simply never match, which is what a feed of one
//! message type needs. Not a full XSD validator: there is none offline here
//! (no xmllint, no lxml), and this covers every construct the
//! order-fulfilment schemas use.

use std::collections::HashMap;
use std::path::Path;

use quick_xml::Reader;
use quick_xml::events::Event;

/// An XML element, namespace prefixes dropped.
#[derive(Clone, Debug, Default)]
pub struct Node {
    pub name: String,
    pub attrs: HashMap<String, String>,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(String::as_str)
    }
}

/// Parses a document into a tree (the root element).
pub fn parse(xml: &[u8]) -> Result<Node, String> {
    let mut reader = Reader::from_reader(xml);
    let mut stack = vec![Node::default()];
    let mut buf = Vec::new();
    let open = |e: &quick_xml::events::BytesStart<'_>| -> Result<Node, String> {
        let mut attrs = HashMap::new();
        for a in e.attributes() {
            let a = a.map_err(|e| e.to_string())?;
            let key = a.key.local_name().as_ref().to_string();
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| e.to_string())?
                .into_owned();
            attrs.insert(key, value);
        }
        Ok(Node {
            name: e.local_name().as_ref().to_string(),
            attrs,
            ..Node::default()
        })
    };
    loop {
        match reader
            .read_event_into(&mut buf)
            .map_err(|e| e.to_string())?
        {
            Event::Start(e) => stack.push(open(&e)?),
            Event::Empty(e) => {
                let node = open(&e)?;
                stack.last_mut().ok_or("unbalanced")?.children.push(node);
            }
            Event::End(_) => {
                let node = stack.pop().ok_or("unbalanced")?;
                stack.last_mut().ok_or("unbalanced")?.children.push(node);
            }
            Event::Text(t) => {
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let decoded = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::unescape(&format!("&{};", r.xml10_content()))
                        .map_err(|e| e.to_string())?
                        .into_owned(),
                };
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&decoded);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    let mut root = stack.pop().ok_or("empty document")?;
    if !stack.is_empty() || root.children.len() != 1 {
        return Err("not exactly one root element".into());
    }
    Ok(root.children.remove(0))
}

/// The global elements and simple types of a set of schema files.
pub struct Schema {
    elements: HashMap<String, Node>,
    simple_types: HashMap<String, Node>,
}

impl Schema {
    /// Loads `files` (later files override earlier ones with the same names).
    pub fn load(dir: &Path, files: &[&str]) -> Schema {
        let mut schema = Schema {
            elements: HashMap::new(),
            simple_types: HashMap::new(),
        };
        for f in files {
            let path = dir.join(f);
            let bytes =
                std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            let root = parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for child in root.children {
                let Some(name) = child.attr("name").map(str::to_string) else {
                    continue;
                };
                match child.name.as_str() {
                    "element" => {
                        schema.elements.insert(name, child);
                    }
                    "simpleType" => {
                        schema.simple_types.insert(name, child);
                    }
                    _ => {}
                }
            }
        }
        schema
    }

    /// Checks `doc` against the global element of the same name.
    pub fn validate(&self, doc: &Node) -> Result<(), String> {
        let decl = self
            .elements
            .get(&doc.name)
            .ok_or_else(|| format!("no global element {} in the schema", doc.name))?;
        self.element(decl, doc, &format!("/{}", doc.name))
    }

    fn element(&self, decl: &Node, node: &Node, at: &str) -> Result<(), String> {
        if let Some(reference) = decl.attr("ref") {
            let global = self
                .elements
                .get(reference)
                .ok_or_else(|| format!("{at}: the schema lacks element {reference}"))?;
            return self.element(global, node, at);
        }
        if let Some(ty) = decl.attr("type") {
            return self.simple_value(ty, None, node, at);
        }
        if let Some(complex) = decl.children.iter().find(|c| c.name == "complexType") {
            return self.complex(complex, node, at);
        }
        if let Some(simple) = decl.children.iter().find(|c| c.name == "simpleType") {
            return self.simple_value("", Some(simple), node, at);
        }
        Ok(())
    }

    fn complex(&self, complex: &Node, node: &Node, at: &str) -> Result<(), String> {
        let model = complex
            .children
            .iter()
            .find(|c| matches!(c.name.as_str(), "sequence" | "choice"));
        let Some(model) = model else {
            return Ok(());
        };
        let end = if model.name == "sequence" && Self::occurs(model) == (1, 1) {
            self.sequence(model, &node.children, 0, at)?
        } else {
            self.particle(model, &node.children, 0, at)?
        };
        match node.children.get(end) {
            None => Ok(()),
            Some(extra) => Err(format!(
                "{at}: element {} is not allowed here (after {} matched children)",
                extra.name, end
            )),
        }
    }

    fn occurs(p: &Node) -> (usize, usize) {
        let min = p
            .attr("minOccurs")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let max = match p.attr("maxOccurs") {
            Some("unbounded") => usize::MAX,
            Some(v) => v.parse().unwrap_or(1),
            None => 1,
        };
        (min, max)
    }

    fn element_name<'a>(&'a self, p: &'a Node) -> Option<&'a str> {
        p.attr("name").or_else(|| p.attr("ref"))
    }

    /// Matches particle `p` (repeated per its occurrences) from `pos`;
    /// returns the position after it.
    fn particle(&self, p: &Node, children: &[Node], pos: usize, at: &str) -> Result<usize, String> {
        let (min, max) = Self::occurs(p);
        let mut pos = pos;
        let mut count = 0;
        while count < max {
            match self.once(p, children, pos, at)? {
                Some(next) => {
                    count += 1;
                    let progressed = next > pos;
                    pos = next;
                    if !progressed {
                        break;
                    }
                }
                None => break,
            }
        }
        if count < min {
            let what = self
                .element_name(p)
                .map(str::to_string)
                .unwrap_or_else(|| p.name.clone());
            return Err(format!(
                "{at}: expected {what} at child {pos}, found {}",
                children
                    .get(pos)
                    .map_or("nothing".to_string(), |c| c.name.clone())
            ));
        }
        Ok(pos)
    }

    /// Every item of a sequence in order, or an error naming the first
    /// that is missing.
    fn sequence(&self, p: &Node, children: &[Node], pos: usize, at: &str) -> Result<usize, String> {
        let mut next = pos;
        for item in p.children.iter().filter(|c| is_particle(c)) {
            next = self.particle(item, children, next, at)?;
        }
        Ok(next)
    }

    /// One occurrence of `p` at `pos`: `Ok(None)` if it does not start there.
    fn once(
        &self,
        p: &Node,
        children: &[Node],
        pos: usize,
        at: &str,
    ) -> Result<Option<usize>, String> {
        match p.name.as_str() {
            "element" => {
                let name = self.element_name(p).unwrap_or_default();
                match children.get(pos) {
                    Some(c) if c.name == name => {
                        let here = format!("{at}/{name}");
                        self.element(p, c, &here)?;
                        Ok(Some(pos + 1))
                    }
                    _ => Ok(None),
                }
            }
            "sequence" => match self.sequence(p, children, pos, at) {
                Ok(next) => Ok(Some(next)),
                // Nothing of it matched here: it does not start here.
                Err(_) if !self.starts_here(p, children, pos) => Ok(None),
                Err(e) => Err(e),
            },
            "choice" => {
                for alt in p.children.iter().filter(|c| is_particle(c)) {
                    if self.starts_here(alt, children, pos) {
                        return Ok(Some(self.particle(alt, children, pos, at)?));
                    }
                }
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    /// Whether the first element `p` can begin with is the child at `pos`.
    fn starts_here(&self, p: &Node, children: &[Node], pos: usize) -> bool {
        match p.name.as_str() {
            "element" => children
                .get(pos)
                .is_some_and(|c| Some(c.name.as_str()) == self.element_name(p)),
            "choice" => p
                .children
                .iter()
                .filter(|c| is_particle(c))
                .any(|alt| self.starts_here(alt, children, pos)),
            "sequence" => {
                for item in p.children.iter().filter(|c| is_particle(c)) {
                    if self.starts_here(item, children, pos) {
                        return true;
                    }
                    if Self::occurs(item).0 > 0 {
                        return false;
                    }
                }
                false
            }
            _ => false,
        }
    }

    fn simple_value(
        &self,
        ty: &str,
        inline: Option<&Node>,
        node: &Node,
        at: &str,
    ) -> Result<(), String> {
        if !node.children.is_empty() {
            return Err(format!("{at}: a simple value has no child elements"));
        }
        let value = node.text.as_str();
        let restriction = match inline {
            Some(st) => st.children.iter().find(|c| c.name == "restriction"),
            None => {
                let local = ty.rsplit(':').next().unwrap_or(ty);
                if ty.starts_with("xsd:") {
                    return builtin(local, value, at);
                }
                let st = self
                    .simple_types
                    .get(local)
                    .ok_or_else(|| format!("{at}: the schema lacks type {ty}"))?;
                st.children.iter().find(|c| c.name == "restriction")
            }
        };
        let Some(r) = restriction else {
            return Ok(());
        };
        if let Some(base) = r.attr("base") {
            self.simple_value(
                base,
                None,
                &Node {
                    text: value.to_string(),
                    ..Node::default()
                },
                at,
            )?;
        }
        let enums: Vec<&str> = r
            .children
            .iter()
            .filter(|c| c.name == "enumeration")
            .filter_map(|c| c.attr("value"))
            .collect();
        if !enums.is_empty() && !enums.contains(&value) {
            return Err(format!(
                "{at}: {value:?} is not one of the schema's {} values",
                enums.len()
            ));
        }
        for facet in &r.children {
            match (facet.name.as_str(), facet.attr("value")) {
                ("pattern", Some(pattern)) => {
                    let re = regex::Regex::new(&format!("^(?:{pattern})$"))
                        .map_err(|e| format!("{at}: pattern {pattern}: {e}"))?;
                    if !re.is_match(value) {
                        return Err(format!("{at}: {value:?} does not match {pattern}"));
                    }
                }
                ("maxLength", Some(n)) => {
                    let n: usize = n.parse().unwrap_or(usize::MAX);
                    if value.chars().count() > n {
                        return Err(format!("{at}: longer than {n} characters"));
                    }
                }
                ("minLength", Some(n)) => {
                    let n: usize = n.parse().unwrap_or(0);
                    if value.chars().count() < n {
                        return Err(format!("{at}: shorter than {n} characters"));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn is_particle(n: &Node) -> bool {
    matches!(n.name.as_str(), "element" | "sequence" | "choice")
}

fn builtin(ty: &str, value: &str, at: &str) -> Result<(), String> {
    let ok = match ty {
        "string" => true,
        "normalizedString" | "token" => !value.contains(['\r', '\n', '\t']),
        "positiveInteger" => value.parse::<u128>().is_ok_and(|n| n > 0),
        "nonNegativeInteger" => value.parse::<u128>().is_ok(),
        "integer" => value.parse::<i128>().is_ok(),
        "boolean" => matches!(value, "true" | "false" | "1" | "0"),
        "dateTime" => {
            chrono::DateTime::parse_from_rfc3339(value).is_ok()
                || chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S").is_ok()
        }
        "decimal" => value.parse::<f64>().is_ok(),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{at}: {value:?} is not an xsd:{ty}"))
    }
}

/// `shared/amazon/xsd` (read at test time).
pub fn xsd_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/amazon/xsd")
}

/// The schemas of an order-fulfilment feed: the envelope, its header, the
/// OrderFulfillment message, the processing report, and the 2022 base types
/// (the 2022 CarrierCode list, which `carrier-codes.txt` was taken from).
pub fn order_fulfillment_schema() -> Schema {
    let dir = xsd_dir();
    let mut schema = Schema::load(
        &dir,
        &[
            "amzn-base.xsd",
            "amzn-header.xsd",
            "OrderFulfillment.xsd",
            "ProcessingReport.xsd",
            "amzn-envelope.xsd",
        ],
    );
    let newer = Schema::load(&dir.join("amzn-base-2022"), &["amzn-base.xsd"]);
    schema.elements.extend(newer.elements);
    schema.simple_types.extend(newer.simple_types);
    schema
}
