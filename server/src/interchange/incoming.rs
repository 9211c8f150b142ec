//! Reading annotations other tools wrote (W3C Web Annotations one by one, in pages or
//! collections; Annotorious v2 and v3 exports; IIIF AnnotationPages such as Mirador's)
//! into new shapes and comment threads of ours. Our own export comes back exactly, from
//! its `hugepic:` terms. What cannot be drawn is reported per annotation with a reason;
//! nothing here fails the whole import but input that is not annotations at all.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::export::author_of_agent_id;
use super::model::{Geometry, Kind};
use super::svg;
use crate::auth::new_id;
use crate::store::times::parse_time;

/// Why an import was refused whole.
#[derive(Debug, thiserror::Error)]
pub enum IncomingError {
    /// Not annotations at all.
    #[error("{0}")]
    NotAnnotations(String),
    /// More annotations than an import takes.
    #[error("the import has {found} annotations; at most {most} are taken at once")]
    TooMany { found: usize, most: usize },
}

/// An annotation that was not imported, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// The annotation's id, or `#n` (its place, from 0) when it has none.
    pub id: String,
    pub reason: String,
}

/// A new entry of the document: its id and fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: String,
    pub fields: Map<String, Value>,
}

/// What an import makes.
#[derive(Debug, Default)]
pub struct Incoming {
    pub shapes: Vec<Entry>,
    pub threads: Vec<Entry>,
    pub skipped: Vec<Skipped>,
    /// Per imported annotation: its id, the shape and threads made from it.
    pub made: Vec<Value>,
}

impl Incoming {
    /// Comment messages made.
    pub fn messages(&self) -> usize {
        self.threads
            .iter()
            .map(|t| {
                t.fields
                    .get("messages")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len)
            })
            .sum()
    }
}

/// Bounds of one import.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The picture's full-resolution size, for percent regions.
    pub size: Option<(u32, u32)>,
    /// Now, ms since 1970: the time of what carries none.
    pub now_ms: f64,
    /// Most annotations one import takes.
    pub most: usize,
    /// Who imports (name, id): the author of what names none.
    pub importer: (&'a str, &'a str),
}

impl Context<'_> {
    fn importer(&self) -> Author {
        Author {
            name: cut(self.importer.0, MAX_NAME),
            id: cut(self.importer.1, MAX_ID),
        }
    }
}

/// Longest comment kept, characters.
const MAX_TEXT: usize = 10_000;
/// Longest name kept, characters.
const MAX_NAME: usize = 100;
/// Longest id kept, characters.
const MAX_ID: usize = 64;
/// Coordinates past this (pixels) are not a picture's.
const MAX_COORDINATE: f64 = 1e9;

fn cut(text: &str, most: usize) -> String {
    text.chars().take(most).collect()
}

/// `value` as a list: itself, or its items when it is an array.
fn listed(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        one => vec![one],
    }
}

/// Whether `value`'s `type` (or JSON-LD `@type`) is or contains `name`.
fn has_type(value: &Value, name: &str) -> bool {
    let types = value.get("type").or_else(|| value.get("@type"));
    types.is_some_and(|t| listed(t).iter().any(|t| t.as_str() == Some(name)))
}

fn has_motivation(value: &Value, name: &str) -> bool {
    value
        .get("motivation")
        .is_some_and(|m| listed(m).iter().any(|m| m.as_str() == Some(name)))
}

/// The annotations in what was posted.
fn annotations(root: &Value) -> Result<Vec<&Value>, IncomingError> {
    if root.is_array() {
        return Ok(listed(root));
    }
    if !root.is_object() {
        return Err(IncomingError::NotAnnotations(
            "post a W3C annotation, annotation page or collection, a IIIF annotation page, or an array of annotations".into(),
        ));
    }
    if has_type(root, "Annotation") {
        return Ok(vec![root]);
    }
    if has_type(root, "AnnotationPage") {
        return match root.get("items") {
            Some(items @ Value::Array(_)) => Ok(listed(items)),
            _ => Err(IncomingError::NotAnnotations(
                "the annotation page has no items array".into(),
            )),
        };
    }
    if has_type(root, "AnnotationCollection") {
        if let Some(items @ Value::Array(_)) = root.get("items") {
            return Ok(listed(items));
        }
        return match root.get("first") {
            Some(first) if first.is_object() => annotations(first),
            Some(Value::String(link)) => Err(IncomingError::NotAnnotations(format!(
                "the collection only links its first page ({link}); post the pages themselves"
            ))),
            _ => Ok(Vec::new()),
        };
    }
    let found = root
        .get("type")
        .or_else(|| root.get("@type"))
        .map_or_else(|| "no type".to_string(), |t| format!("type {t}"));
    Err(IncomingError::NotAnnotations(format!(
        "expected a W3C Annotation, AnnotationPage or AnnotationCollection (or an array of annotations); got an object with {found}"
    )))
}

/// An author read from a W3C `creator`.
#[derive(Debug, Clone, Default, PartialEq)]
struct Author {
    name: String,
    id: String,
}

impl Author {
    fn read(creator: Option<&Value>) -> Option<Author> {
        let creator = listed(creator?).into_iter().next()?;
        let (name, id) = match creator {
            Value::String(id) => (id.as_str(), id.as_str()),
            agent => {
                let text = |k: &str| agent.get(k).and_then(Value::as_str);
                let id = text("id").or_else(|| text("@id")).unwrap_or("");
                let name = text("name")
                    .or_else(|| text("nickname"))
                    .or_else(|| agent.get("label").and_then(Value::as_str))
                    .unwrap_or(id);
                (name, id)
            }
        };
        let id = author_of_agent_id(id).unwrap_or_else(|| id.to_string());
        Some(Author {
            name: cut(name, MAX_NAME),
            id: cut(&id, MAX_ID),
        })
    }
}

/// `value` as ms since 1970, if it is an ISO 8601 time.
fn time(value: Option<&Value>) -> Option<f64> {
    parse_time(value?.as_str()?).map(|micros| micros as f64 / 1000.0)
}

/// Plain text of an HTML body: tags dropped, entities decoded, breaks kept as lines.
fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let tag_end = rest[open..].find('>').map_or(rest.len(), |e| open + e + 1);
        let tag = rest[open..tag_end].to_ascii_lowercase();
        if tag.starts_with("<br") || tag.starts_with("</p") || tag.starts_with("</div") {
            out.push('\n');
        }
        rest = &rest[tag_end..];
    }
    out.push_str(rest);
    svg::unescape(out.trim())
}

/// A comment message read from a body.
#[derive(Debug, Clone)]
struct Said {
    text: String,
    author: Option<Author>,
    at: Option<f64>,
    edited: Option<f64>,
}

/// What the bodies of an annotation say.
#[derive(Debug, Default)]
struct Bodies {
    messages: Vec<Said>,
    /// A `describing` text, for a label on a point.
    describing: Option<String>,
    tags: Vec<String>,
}

fn bodies(annotation: &Value) -> Bodies {
    let mut read = Bodies::default();
    if let Some(text) = annotation.get("bodyValue").and_then(Value::as_str) {
        read.messages.push(Said {
            text: cut(text, MAX_TEXT),
            author: None,
            at: None,
            edited: None,
        });
    }
    for body in annotation.get("body").map(listed).unwrap_or_default() {
        let Some(value) = body.get("value").and_then(Value::as_str) else {
            continue; // not a textual body (an image, a link): nothing we show
        };
        if body.get("source").is_some() {
            continue;
        }
        let html = body
            .get("format")
            .and_then(Value::as_str)
            .is_some_and(|f| f.contains("html"))
            || value.trim_start().starts_with('<');
        let text = cut(
            &if html {
                plain_text(value)
            } else {
                value.to_string()
            },
            MAX_TEXT,
        );
        let purposes: Vec<&str> = body
            .get("purpose")
            .map(listed)
            .unwrap_or_default()
            .into_iter()
            .filter_map(Value::as_str)
            .collect();
        if purposes.contains(&"tagging") {
            read.tags.push(text);
        } else if purposes.contains(&"describing") && read.describing.is_none() {
            read.describing = Some(text);
        } else if !text.is_empty() {
            read.messages.push(Said {
                text,
                author: Author::read(body.get("creator")),
                at: time(body.get("created")),
                edited: time(body.get("modified")),
            });
        }
    }
    read
}

/// A region read from a media fragment (`xywh=[pixel:|percent:]x,y,w,h`).
fn fragment(value: &str, size: Option<(u32, u32)>) -> Result<Geometry, String> {
    let spec = value
        .rsplit_once("xywh=")
        .map(|(_, s)| s)
        .ok_or_else(|| format!("the fragment {value:?} is not an xywh region"))?;
    let spec = spec.split('&').next().unwrap_or(spec);
    let (percent, numbers) = match spec.split_once(':') {
        Some(("percent", n)) => (true, n),
        Some(("pixel", n)) => (false, n),
        Some((unit, _)) => {
            return Err(format!(
                "the region's unit {unit:?} is neither pixel nor percent"
            ))
        }
        None => (false, spec),
    };
    let n: Vec<f64> = numbers
        .split(',')
        .map(|n| n.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("the region {spec:?} is not four numbers"))?;
    let [mut x, mut y, mut w, mut h] = n[..] else {
        return Err(format!("the region {spec:?} is not four numbers"));
    };
    if percent {
        let (width, height) = size
            .ok_or("a percent region needs the picture's size, which is known once it is tiled")?;
        let (fw, fh) = (f64::from(width) / 100.0, f64::from(height) / 100.0);
        (x, y, w, h) = (x * fw, y * fh, w * fw, h * fh);
    }
    if w < 0.0 || h < 0.0 {
        return Err(format!("the region {spec:?} has a negative size"));
    }
    Ok(Geometry::Rect { x, y, w, h })
}

/// A shape read from one selector: the SVG drawing, or the region, or the point.
fn selector(selector: &Value, size: Option<(u32, u32)>) -> Result<svg::Drawn, String> {
    let value = selector.get("value").and_then(Value::as_str);
    if has_type(selector, "SvgSelector") {
        return svg::read(value.ok_or("an SvgSelector without a value")?);
    }
    if has_type(selector, "FragmentSelector") {
        return fragment(value.ok_or("a FragmentSelector without a value")?, size)
            .map(|g| svg::Drawn::plain(Kind::Rectangle, g));
    }
    if has_type(selector, "PointSelector") {
        let coordinate = |k: &str| selector.get(k).and_then(Value::as_f64);
        return match (coordinate("x"), coordinate("y")) {
            (Some(x), Some(y)) => Ok(svg::Drawn::plain(Kind::Marker, Geometry::Point { x, y })),
            _ => Err("a PointSelector without x and y (a point in time is not a place)".into()),
        };
    }
    let kind = selector.get("type").map_or_else(
        || "an untyped selector".to_string(),
        |t| format!("selector {t}"),
    );
    Err(format!("{kind} does not select a region of an image"))
}

/// The shape an annotation's target selects: SVG drawings first, then points, then
/// regions (tools often put a bounding region beside the drawing).
fn drawn(annotation: &Value, size: Option<(u32, u32)>) -> Result<svg::Drawn, String> {
    let targets = annotation.get("target").map(listed).unwrap_or_default();
    if targets.is_empty() {
        return Err("the annotation has no target".into());
    }
    let mut reasons = Vec::new();
    for target in targets {
        let Some(candidates) = target.get("selector").map(listed) else {
            // No selector: the target's IRI may carry the region (`…#xywh=`).
            let iri = target.as_str().or_else(|| {
                target
                    .get("id")
                    .or_else(|| target.get("source"))
                    .and_then(Value::as_str)
            });
            match iri {
                Some(iri) if iri.contains("#xywh=") => match fragment(iri, size) {
                    Ok(g) => return Ok(svg::Drawn::plain(Kind::Rectangle, g)),
                    Err(reason) => reasons.push(reason),
                },
                Some(_) if target.is_string() => {
                    reasons.push("the target is the whole image, not a region of it".into())
                }
                _ => reasons.push("the target has no selector".into()),
            }
            continue;
        };
        let rank = |s: &&Value| {
            if has_type(s, "SvgSelector") {
                0
            } else if has_type(s, "PointSelector") {
                1
            } else {
                2
            }
        };
        let mut ordered = candidates;
        ordered.sort_by_key(rank);
        for candidate in ordered {
            match selector(candidate, size) {
                Ok(shape) => return Ok(shape),
                Err(reason) => reasons.push(reason),
            }
        }
    }
    Err(reasons.join("; "))
}

fn finite_and_near(geometry: &Geometry) -> bool {
    let (l, t, r, b) = geometry.bounds();
    [l, t, r, b]
        .iter()
        .all(|v| v.is_finite() && v.abs() <= MAX_COORDINATE)
}

/// What one imported annotation became, for replies to find.
#[derive(Debug, Clone)]
struct Made {
    shape: Option<String>,
    threads: Vec<usize>,
}

/// Reads `root` into new entries.
pub fn read(root: &Value, context: Context) -> Result<Incoming, IncomingError> {
    let all = annotations(root)?;
    if all.len() > context.most {
        return Err(IncomingError::TooMany {
            found: all.len(),
            most: context.most,
        });
    }
    let mut incoming = Incoming::default();
    let mut made: HashMap<String, Made> = HashMap::new();
    let mut replies = Vec::new();
    for (n, annotation) in all.into_iter().enumerate() {
        let id = annotation
            .get("id")
            .or_else(|| annotation.get("@id"))
            .and_then(Value::as_str)
            .map_or_else(|| format!("#{n}"), str::to_string);
        let skip = |incoming: &mut Incoming, reason: String| {
            incoming.skipped.push(Skipped {
                id: id.clone(),
                reason,
            });
        };
        if !annotation.is_object() {
            skip(&mut incoming, "not a JSON object".into());
            continue;
        }
        if annotation.get("type").is_some() && !has_type(annotation, "Annotation") {
            skip(&mut incoming, "its type is not Annotation".into());
            continue;
        }
        let ours = annotation.get("hugepic:shape").is_some()
            || annotation.get("hugepic:threads").is_some();
        if has_motivation(annotation, "replying") && !ours {
            replies.push((id, annotation));
            continue;
        }
        let result = if ours {
            exact(annotation, &mut incoming)
        } else {
            foreign(annotation, context, &mut incoming)
        };
        match result {
            Ok(m) => {
                incoming.made.push(json!({
                    "id": id,
                    "shape_id": m.shape,
                    "thread_ids": m.threads.iter().map(|&i| incoming.threads[i].id.clone()).collect::<Vec<_>>(),
                }));
                made.insert(id, m);
            }
            Err(reason) => skip(&mut incoming, reason),
        }
    }
    for (id, reply) in replies {
        let parent = reply
            .get("target")
            .map(listed)
            .unwrap_or_default()
            .into_iter()
            .find_map(|t| {
                t.as_str()
                    .or_else(|| t.get("id").and_then(Value::as_str))
                    .or_else(|| t.get("source").and_then(Value::as_str))
            });
        let Some(found) = parent.and_then(|p| made.get(p)) else {
            incoming.skipped.push(Skipped {
                id,
                reason: format!(
                    "it replies to {}, which this import does not contain",
                    parent.unwrap_or("nothing it names")
                ),
            });
            continue;
        };
        let author = Author::read(reply.get("creator"));
        let at = time(reply.get("created"));
        let said: Vec<Value> = bodies(reply)
            .messages
            .into_iter()
            .map(|s| message(s, author.as_ref(), at, &context))
            .collect();
        match found.threads.first() {
            Some(&thread) => {
                let messages = incoming.threads[thread]
                    .fields
                    .entry("messages")
                    .or_insert_with(|| json!([]));
                if let Value::Array(list) = messages {
                    for m in said {
                        // Already there when the parent carried its replies as bodies.
                        let same = |o: &Value| {
                            ["text", "author", "at"]
                                .iter()
                                .all(|k| o.get(k) == m.get(k))
                        };
                        if !list.iter().any(same) {
                            list.push(m);
                        }
                    }
                }
            }
            None => match &found.shape {
                Some(shape) if !said.is_empty() => {
                    incoming.threads.push(thread(shape.clone().into(), said));
                }
                _ => incoming.skipped.push(Skipped {
                    id,
                    reason: "the annotation it replies to has no place for a reply".into(),
                }),
            },
        }
    }
    Ok(incoming)
}

fn thread(target: Value, messages: Vec<Value>) -> Entry {
    let mut fields = Map::new();
    fields.insert("target".into(), target);
    fields.insert("messages".into(), messages.into());
    Entry {
        id: new_id(),
        fields,
    }
}

fn message(said: Said, fallback: Option<&Author>, at: Option<f64>, context: &Context) -> Value {
    let author = said
        .author
        .or_else(|| fallback.cloned())
        .unwrap_or_else(|| context.importer());
    let mut m = json!({
        "id": new_id(),
        "author": author.name,
        "author_id": author.id,
        "text": said.text,
        "at": super::model::num(said.at.or(at).unwrap_or(context.now_ms)),
    });
    if let Some(edited) = said.edited {
        m["edited"] = super::model::num(edited);
    }
    m
}

/// Our own export: the entries as they were, under new ids.
fn exact(annotation: &Value, incoming: &mut Incoming) -> Result<Made, String> {
    let mut made = Made {
        shape: None,
        threads: Vec::new(),
    };
    if let Some(stored) = annotation.get("hugepic:shape") {
        let mut fields = stored
            .as_object()
            .cloned()
            .ok_or("hugepic:shape is not an object")?;
        fields.remove("id");
        let kind = fields
            .get("type")
            .and_then(Value::as_str)
            .and_then(Kind::parse)
            .ok_or("hugepic:shape has no type the viewer draws")?;
        let geometry = fields
            .get("geometry")
            .and_then(|g| Geometry::read(kind, g))
            .ok_or("hugepic:shape has no geometry the viewer draws")?;
        if !finite_and_near(&geometry) {
            return Err("the shape lies billions of pixels away".into());
        }
        let id = new_id();
        incoming.shapes.push(Entry {
            id: id.clone(),
            fields,
        });
        made.shape = Some(id);
    }
    for stored in annotation
        .get("hugepic:threads")
        .map(listed)
        .unwrap_or_default()
    {
        let mut fields = stored
            .as_object()
            .cloned()
            .ok_or("an entry of hugepic:threads is not an object")?;
        fields.remove("id");
        match (&made.shape, fields.get("target")) {
            (Some(shape), _) => {
                fields.insert("target".into(), shape.clone().into());
            }
            (None, Some(point))
                if point.get("x").and_then(Value::as_f64).is_some()
                    && point.get("y").and_then(Value::as_f64).is_some() => {}
            _ => return Err("a thread of hugepic:threads is pinned nowhere".into()),
        }
        if !fields.get("messages").is_some_and(Value::is_array) {
            return Err("a thread of hugepic:threads has no messages array".into());
        }
        made.threads.push(incoming.threads.len());
        incoming.threads.push(Entry {
            id: new_id(),
            fields,
        });
    }
    Ok(made)
}

/// Another tool's annotation: a shape from its selector, a thread from its bodies.
fn foreign(annotation: &Value, context: Context, incoming: &mut Incoming) -> Result<Made, String> {
    let mut shape = drawn(annotation, context.size)?;
    if !finite_and_near(&shape.geometry) {
        return Err("the shape lies billions of pixels away".into());
    }
    let read = bodies(annotation);
    let author = Author::read(annotation.get("creator"));
    let created = time(annotation.get("created"));
    let mut fields = Map::new();
    if let (Geometry::Point { .. }, Some(label)) = (&shape.geometry, &read.describing) {
        shape.kind = Kind::Text;
        fields.insert("text".into(), label.clone().into());
    }
    let mut messages: Vec<Said> = read.messages;
    if shape.kind != Kind::Text {
        if let Some(text) = read.describing {
            messages.insert(
                0,
                Said {
                    text,
                    author: None,
                    at: None,
                    edited: None,
                },
            );
        }
    }
    if !read.tags.is_empty() {
        messages.push(Said {
            text: format!("Tags: {}", read.tags.join(", ")),
            author: None,
            at: None,
            edited: None,
        });
    }
    let defaults = super::model::Style::default();
    let author_fields = author.clone().unwrap_or_else(|| context.importer());
    fields.insert("type".into(), shape.kind.name().into());
    fields.insert("geometry".into(), shape.geometry.to_value());
    fields.insert(
        "style".into(),
        super::model::Style {
            color: shape.color.unwrap_or(defaults.color),
            weight: shape.weight.unwrap_or(defaults.weight),
            fill: shape.fill.unwrap_or(defaults.fill),
        }
        .to_value(),
    );
    fields.insert("author".into(), author_fields.name.into());
    fields.insert("author_id".into(), author_fields.id.into());
    fields.insert(
        "created".into(),
        super::model::num(created.unwrap_or(context.now_ms)),
    );
    if let Some(modified) = time(annotation.get("modified")) {
        fields.insert("modified".into(), super::model::num(modified));
    }
    let id = new_id();
    incoming.shapes.push(Entry {
        id: id.clone(),
        fields,
    });
    let mut made = Made {
        shape: Some(id.clone()),
        threads: Vec::new(),
    };
    if !messages.is_empty() {
        let said = messages
            .into_iter()
            .map(|s| message(s, author.as_ref(), created, &context))
            .collect();
        made.threads.push(incoming.threads.len());
        incoming.threads.push(thread(id.into(), said));
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTEXT: Context = Context {
        size: Some((2000, 1000)),
        now_ms: 1_000.0,
        most: 100,
        importer: ("Importer", "u-imp"),
    };

    fn one(annotation: Value) -> Incoming {
        read(&annotation, CONTEXT).unwrap()
    }

    #[test]
    fn annotorious_v2_region_with_a_comment() {
        let got = one(json!({
            "@context": "http://www.w3.org/ns/anno.jsonld",
            "id": "#a88b",
            "type": "Annotation",
            "body": [{"type": "TextualBody", "value": "Hallstatt church", "purpose": "commenting",
                      "creator": {"id": "http://example.org/ana", "name": "Ana"}, "created": "2020-05-01T10:00:00Z"}],
            "target": {"source": "http://example.org/image.jpg",
                       "selector": {"type": "FragmentSelector", "conformsTo": "http://www.w3.org/TR/media-frags/",
                                    "value": "xywh=pixel:270,120,90,170"}},
        }));
        assert_eq!(got.shapes.len(), 1);
        let shape = &got.shapes[0].fields;
        assert_eq!(shape["type"], "rectangle");
        assert_eq!(
            shape["geometry"],
            json!({"x": 270, "y": 120, "width": 90, "height": 170})
        );
        let thread = &got.threads[0].fields;
        assert_eq!(thread["target"], json!(got.shapes[0].id));
        assert_eq!(thread["messages"][0]["author"], "Ana");
        assert_eq!(thread["messages"][0]["at"], json!(1_588_327_200_000i64));
    }

    #[test]
    fn percent_regions_use_the_picture_size() {
        let got =
            one(json!({"type": "Annotation", "target": "http://x/canvas#xywh=percent:10,50,5,10"}));
        assert_eq!(
            got.shapes[0].fields["geometry"],
            json!({"x": 200, "y": 500, "width": 100, "height": 100})
        );
        let unknown = read(
            &json!({"type": "Annotation", "target": "http://x/c#xywh=percent:1,1,1,1"}),
            Context {
                size: None,
                ..CONTEXT
            },
        )
        .unwrap();
        assert!(
            unknown.skipped[0].reason.contains("size"),
            "{:?}",
            unknown.skipped
        );
    }

    #[test]
    fn svg_is_preferred_over_its_bounding_region_and_html_is_made_plain() {
        let got = one(json!({"type": "AnnotationPage", "items": [{
            "id": "https://mirador.test/anno/1", "type": "Annotation", "motivation": "commenting",
            "body": {"type": "TextualBody", "value": "<p>Two &amp; three</p>", "format": "text/html"},
            "target": {"source": "https://x/canvas", "selector": [
                {"type": "FragmentSelector", "value": "xywh=10,20,30,40"},
                {"type": "SvgSelector", "value": "<svg xmlns='http://www.w3.org/2000/svg'><path d=\"M10,20h30v40h-30z\" stroke=\"#00bfff\"/></svg>"},
            ]},
        }]}));
        let shape = &got.shapes[0].fields;
        assert_eq!(shape["type"], "polygon");
        assert_eq!(shape["style"]["color"], "#00bfff");
        assert_eq!(got.threads[0].fields["messages"][0]["text"], "Two & three");
        assert_eq!(got.made[0]["id"], "https://mirador.test/anno/1");
    }

    #[test]
    fn unknown_selectors_are_skipped_with_a_reason() {
        let got = one(json!([
            {"id": "t1", "type": "Annotation", "target": {"source": "x", "selector": {"type": "TextQuoteSelector", "exact": "hi"}}},
            {"id": "t2", "type": "Annotation", "target": "http://x/image.jpg"},
            {"id": "t3", "type": "Annotation"},
            "nonsense",
            {"id": "ok", "type": "Annotation", "target": {"source": "x", "selector": {"type": "PointSelector", "x": 5, "y": 6}},
             "body": {"type": "TextualBody", "value": "Tower", "purpose": "describing"}},
        ]));
        let reasons: Vec<(&str, &str)> = got
            .skipped
            .iter()
            .map(|s| (s.id.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(reasons[0].1.contains("TextQuoteSelector"));
        assert!(reasons[1].1.contains("whole image"));
        assert!(reasons[2].1.contains("no target"));
        assert_eq!(reasons[3].0, "#3");
        assert_eq!(got.shapes[0].fields["type"], "text");
        assert_eq!(got.shapes[0].fields["text"], "Tower");
    }

    #[test]
    fn replies_join_their_parent_once() {
        let got = one(json!([
            {"id": "http://a/1", "type": "Annotation",
             "body": [{"type": "TextualBody", "value": "first", "purpose": "commenting", "created": "2020-01-01T00:00:00Z"},
                      {"type": "TextualBody", "value": "second", "purpose": "replying", "creator": {"name": "Bo"}, "created": "2020-01-01T00:01:00Z"}],
             "target": "http://img#xywh=1,2,3,4"},
            {"id": "http://a/1/r", "type": "Annotation", "motivation": "replying", "target": "http://a/1",
             "creator": {"name": "Bo"}, "created": "2020-01-01T00:01:00Z",
             "body": {"type": "TextualBody", "value": "second", "purpose": "replying"}},
            {"id": "http://a/1/r2", "type": "Annotation", "motivation": "replying", "target": "http://a/1",
             "body": {"type": "TextualBody", "value": "third"}},
            {"id": "lost", "type": "Annotation", "motivation": "replying", "target": "http://elsewhere",
             "bodyValue": "?"},
        ]));
        let texts: Vec<&Value> = got.threads[0].fields["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| &m["text"])
            .collect();
        assert_eq!(texts, [&json!("first"), &json!("second"), &json!("third")]);
        let third = &got.threads[0].fields["messages"][2];
        assert_eq!(
            (&third["author"], &third["author_id"]),
            (&json!("Importer"), &json!("u-imp")),
            "no creator: the importer"
        );
        assert_eq!(got.skipped.len(), 1);
        assert!(got.skipped[0].reason.contains("http://elsewhere"));
    }

    #[test]
    fn refuses_what_is_not_annotations() {
        assert!(matches!(
            read(&json!({"type": "Manifest"}), CONTEXT),
            Err(IncomingError::NotAnnotations(_))
        ));
        assert!(matches!(
            read(&json!(42), CONTEXT),
            Err(IncomingError::NotAnnotations(_))
        ));
        assert!(matches!(
            read(&json!({"type": "AnnotationCollection", "first": "http://x/page1"}), CONTEXT),
            Err(IncomingError::NotAnnotations(m)) if m.contains("page1")
        ));
        let many: Vec<Value> = (0..101).map(|_| json!({})).collect();
        assert!(matches!(
            read(&Value::Array(many), CONTEXT),
            Err(IncomingError::TooMany {
                found: 101,
                most: 100
            })
        ));
    }
}
