//! Our annotations as W3C Web Annotations, and the picture as a IIIF Presentation 3
//! manifest whose canvas carries them.
//!
//! One annotation per shape, targeting the picture's IIIF image (the W3C collection) or
//! its canvas (the IIIF page), with a selector per kind that Annotorious and Mirador
//! both draw; the shape's comment threads as bodies (the first message `commenting`,
//! replies `replying`, each with its own creator and time) and, in the W3C collection,
//! also as reply annotations; pinned comments (threads on a point) as annotations of
//! their own. `hugepic:shape` and `hugepic:threads` carry our exact entries, so our own
//! import loses nothing.

use serde_json::{json, Map, Value};

use super::model::{Annotations, Geometry, Kind, Message, Shape, Style, Target, Thread};
use super::svg;
use crate::store::times::micros_to_text;
use crate::urls::BaseUrls;

/// The W3C annotation context.
pub const ANNO_CONTEXT: &str = "http://www.w3.org/ns/anno.jsonld";
/// The IIIF Presentation 3 context.
pub const IIIF_CONTEXT: &str = "http://iiif.io/api/presentation/3/context.json";
/// Annotations per page of the W3C collection.
pub const PAGE_SIZE: usize = 1000;
/// The agents' id scheme: authors are pseudonyms, not web pages.
const AUTHOR_URN: &str = "urn:hugepic:author:";

/// The picture being written about.
#[derive(Debug, Clone)]
pub struct Picture<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    /// Full-resolution size, once known.
    pub size: Option<(u32, u32)>,
    /// `jpg` or `png`.
    pub tile_extension: &'a str,
    pub urls: &'a BaseUrls,
    /// Query to carry on the links written (`?seq=…&token=…`), empty or starting with `?`.
    pub query: String,
}

impl Picture<'_> {
    fn api(&self) -> String {
        format!("{}/api/pictures/{}", self.urls.public, self.id)
    }

    fn iiif(&self) -> String {
        format!("{}/iiif/{}", self.urls.public, self.id)
    }

    /// The W3C collection's id.
    pub fn collection_id(&self) -> String {
        format!("{}/annotations.jsonld{}", self.api(), self.query)
    }

    /// Page `n` of the W3C collection.
    pub fn page_id(&self, n: usize) -> String {
        let join = if self.query.is_empty() { '?' } else { '&' };
        format!(
            "{}/annotations.jsonld{}{join}page={n}",
            self.api(),
            self.query
        )
    }

    /// The IIIF manifest's id.
    pub fn manifest_id(&self) -> String {
        format!("{}/manifest.json", self.iiif())
    }

    /// The canvas's id.
    pub fn canvas_id(&self) -> String {
        format!("{}/canvas", self.iiif())
    }

    /// The IIIF page of the canvas's annotations.
    pub fn iiif_page_id(&self) -> String {
        format!("{}/annotations.json{}", self.iiif(), self.query)
    }

    fn annotation_id(&self, kind: &str, id: &str) -> String {
        format!("{}/annotations/{kind}/{}", self.api(), encode(id))
    }
}

/// `text` made safe as one URL path segment.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Milliseconds since 1970 as an xsd:dateTime.
pub fn time_text(ms: f64) -> String {
    micros_to_text((ms * 1000.0) as i64)
}

/// What the annotations point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// The IIIF image, in the W3C collection (with separate reply annotations too).
    W3c,
    /// The canvas, in the manifest's annotation page.
    Iiif,
}

/// An author as a W3C agent.
fn agent(name: &str, id: &str) -> Value {
    let mut agent = Map::new();
    if !id.is_empty() {
        agent.insert("id".into(), format!("{AUTHOR_URN}{}", encode(id)).into());
    }
    agent.insert("type".into(), "Person".into());
    if !name.is_empty() {
        agent.insert("name".into(), name.into());
    }
    Value::Object(agent)
}

/// The author id inside an agent id we wrote, if it is one.
pub fn author_of_agent_id(id: &str) -> Option<String> {
    let encoded = id.strip_prefix(AUTHOR_URN)?;
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(hex)) => {
                let byte = std::str::from_utf8(hex)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())?;
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn message_body(message: &Message, purpose: &str) -> Value {
    let mut body = json!({
        "type": "TextualBody",
        "value": message.text,
        "format": "text/plain",
        "purpose": purpose,
        "creator": agent(message.author, message.author_id),
    });
    if message.at > 0.0 {
        body["created"] = time_text(message.at).into();
    }
    if let Some(edited) = message.edited {
        body["modified"] = time_text(edited).into();
    }
    body
}

/// The bodies of `threads`: each first message `commenting`, the rest `replying`.
fn thread_bodies<'a>(threads: impl Iterator<Item = &'a Thread<'a>>) -> Vec<Value> {
    threads
        .flat_map(|t| {
            t.messages
                .iter()
                .enumerate()
                .map(|(i, m)| message_body(m, if i == 0 { "commenting" } else { "replying" }))
        })
        .collect()
}

/// A point selector with the tiny region in front that viewers without point selectors
/// (and Annotorious, which reads only the first selector) draw instead. IIIF wants the
/// point as whole pixels above zero; W3C wants an `id` on a selector it does not define.
fn point_selectors(annotation_id: &str, x: f64, y: f64) -> Value {
    let (px, py) = (x.round().max(1.0) as i64, y.round().max(1.0) as i64);
    json!([
        fragment(x, y, 1.0, 1.0),
        {"id": format!("{annotation_id}#point"), "type": "PointSelector", "x": px, "y": py},
    ])
}

/// A media-fragments region, in whole pixels that cover the exact one within a pixel.
fn fragment(x: f64, y: f64, w: f64, h: f64) -> Value {
    let (left, top) = (x.round(), y.round());
    let (right, bottom) = ((x + w).round(), (y + h).round());
    json!({
        "type": "FragmentSelector",
        "conformsTo": "http://www.w3.org/TR/media-frags/",
        "value": format!("xywh={},{},{},{}", left as i64, top as i64, (right - left).max(1.0) as i64, (bottom - top).max(1.0) as i64),
    })
}

fn selectors(annotation_id: &str, shape: &Shape) -> Value {
    if let Some(value) = svg::of_shape(shape.kind, &shape.geometry, &shape.style) {
        return json!({"type": "SvgSelector", "value": value});
    }
    match shape.geometry {
        Geometry::Rect { x, y, w, h } => fragment(x, y, w, h),
        Geometry::Point { x, y } => point_selectors(annotation_id, x, y),
        // Not reached: every other geometry has an SVG form.
        ref other => {
            let (l, t, r, b) = other.bounds();
            fragment(l, t, r - l, b - t)
        }
    }
}

/// The CSS class of a style, and its rule (the colour is checked; the class is built
/// from it, not from ids a client chose).
fn stylesheet(style: &Style) -> (String, String) {
    let class = format!(
        "hugepic-{}-{}{}",
        style.color.trim_start_matches('#'),
        svg::number(style.weight).replace('.', "_"),
        if style.fill { "-filled" } else { "" }
    );
    let fill = if style.fill {
        format!("fill: {}; fill-opacity: 0.2;", style.color)
    } else {
        "fill: none;".into()
    };
    let rule = format!(
        ".{class} {{ stroke: {}; stroke-width: {}px; {fill} }}",
        style.color,
        svg::number(style.weight)
    );
    (class, rule)
}

fn target(picture: &Picture, flavor: Flavor, selector: Value, class: Option<String>) -> Value {
    let source = match flavor {
        Flavor::W3c => picture.urls.iiif_id(picture.id),
        Flavor::Iiif => picture.canvas_id(),
    };
    let mut target = json!({"type": "SpecificResource", "source": source, "selector": selector});
    if let Some(class) = class {
        target["styleClass"] = class.into();
    }
    target
}

/// The threads' entries as stored, with their ids.
fn stored_threads<'a>(threads: impl Iterator<Item = &'a Thread<'a>>) -> Value {
    threads
        .map(|t| {
            let mut entry = t.stored.clone();
            entry.insert("id".into(), t.id.into());
            Value::Object(entry)
        })
        .collect()
}

/// The annotation of one shape and the threads on it.
fn shape_annotation(
    picture: &Picture,
    flavor: Flavor,
    shape: &Shape,
    threads: &[&Thread],
) -> Value {
    let id = picture.annotation_id("shapes", shape.id);
    let mut bodies = Vec::new();
    if shape.kind == Kind::Text {
        bodies.push(json!({
            "type": "TextualBody", "value": shape.text, "format": "text/plain", "purpose": "describing",
        }));
    }
    bodies.extend(thread_bodies(threads.iter().copied()));
    let motivation = if !threads.is_empty() {
        "commenting"
    } else if shape.kind == Kind::Text {
        "describing"
    } else {
        "highlighting"
    };
    let (class, rule) = stylesheet(&shape.style);
    let mut annotation = json!({
        "id": id,
        "type": "Annotation",
        "motivation": motivation,
        "creator": agent(shape.author, shape.author_id),
        "stylesheet": {"type": "CssStylesheet", "value": rule},
        "target": target(picture, flavor, selectors(&id, shape), Some(class)),
    });
    let latest = threads
        .iter()
        .flat_map(|t| &t.messages)
        .map(|m| m.edited.unwrap_or(m.at))
        .chain(shape.modified)
        .chain(shape.created)
        .fold(0.0, f64::max);
    if let Some(created) = shape.created {
        annotation["created"] = time_text(created).into();
    }
    if latest > 0.0 {
        annotation["modified"] = time_text(latest).into();
    }
    if !bodies.is_empty() {
        annotation["body"] = bodies.into();
    }
    let mut stored = shape.stored.clone();
    stored.insert("id".into(), shape.id.into());
    annotation["hugepic:shape"] = Value::Object(stored);
    if !threads.is_empty() {
        annotation["hugepic:threads"] = stored_threads(threads.iter().copied());
    }
    annotation
}

/// The annotation of a comment pinned to a point.
fn pin_annotation(picture: &Picture, flavor: Flavor, thread: &Thread, x: f64, y: f64) -> Value {
    let id = picture.annotation_id("threads", thread.id);
    let mut annotation = json!({
        "id": id,
        "type": "Annotation",
        "motivation": "commenting",
        "target": target(picture, flavor, point_selectors(&id, x, y), None),
        "hugepic:threads": stored_threads(std::iter::once(thread)),
    });
    if let Some(first) = thread.messages.first() {
        annotation["creator"] = agent(first.author, first.author_id);
        if first.at > 0.0 {
            annotation["created"] = time_text(first.at).into();
        }
        let latest = thread
            .messages
            .iter()
            .map(|m| m.edited.unwrap_or(m.at))
            .fold(0.0, f64::max);
        annotation["modified"] = time_text(latest).into();
        annotation["body"] = thread_bodies(std::iter::once(thread)).into();
    }
    annotation
}

/// Each reply of `threads` as an annotation of its own on `parent`.
fn reply_annotations(picture: &Picture, parent: &str, threads: &[&Thread]) -> Vec<Value> {
    let mut replies = Vec::new();
    for thread in threads {
        for (n, message) in thread.messages.iter().enumerate().skip(1) {
            let mut reply = json!({
                "id": format!("{}/replies/{n}", picture.annotation_id("threads", thread.id)),
                "type": "Annotation",
                "motivation": "replying",
                "creator": agent(message.author, message.author_id),
                "body": message_body(message, "replying"),
                "target": parent,
            });
            if message.at > 0.0 {
                reply["created"] = time_text(message.at).into();
            }
            replies.push(reply);
        }
    }
    replies
}

/// Every annotation of the document, in a stable order: shapes by time, each followed by
/// its reply annotations (W3C only), then pinned comments.
pub fn items(picture: &Picture, flavor: Flavor, document: &Annotations) -> Vec<Value> {
    let mut items = Vec::with_capacity(document.shapes.len() + document.threads.len());
    for shape in &document.shapes {
        let threads: Vec<&Thread> = document.threads_on(shape.id).collect();
        let annotation = shape_annotation(picture, flavor, shape, &threads);
        let parent = annotation["id"].as_str().unwrap_or_default().to_string();
        items.push(annotation);
        if flavor == Flavor::W3c {
            items.extend(reply_annotations(picture, &parent, &threads));
        }
    }
    for thread in &document.threads {
        if let Target::Point { x, y } = thread.target {
            let annotation = pin_annotation(picture, flavor, thread, x, y);
            let parent = annotation["id"].as_str().unwrap_or_default().to_string();
            items.push(annotation);
            if flavor == Flavor::W3c {
                items.extend(reply_annotations(picture, &parent, &[thread]));
            }
        }
    }
    items
}

/// The JSON-LD context of the W3C collection. Our `hugepic:` terms need no entry in it:
/// JSON-LD keeps a term with an undefined prefix as the absolute IRI it reads as.
fn w3c_context() -> Value {
    ANNO_CONTEXT.into()
}

fn pages(total: usize) -> usize {
    total.div_ceil(PAGE_SIZE).max(1)
}

/// Page `n` of `items` as a W3C AnnotationPage (`None` past the last page). Embedded in
/// the collection it has no context and no `partOf` (IIIF allows neither there).
pub fn page(picture: &Picture, items: &[Value], n: usize, embedded: bool) -> Option<Value> {
    let last = pages(items.len()) - 1;
    if n > last {
        return None;
    }
    let start = n * PAGE_SIZE;
    let slice = &items[start.min(items.len())..(start + PAGE_SIZE).min(items.len())];
    let mut page = Map::new();
    if !embedded {
        page.insert("@context".into(), w3c_context());
    }
    page.insert("id".into(), picture.page_id(n).into());
    page.insert("type".into(), "AnnotationPage".into());
    if !embedded {
        page.insert(
            "partOf".into(),
            json!({"id": picture.collection_id(), "type": "AnnotationCollection", "total": items.len()}),
        );
        page.insert("startIndex".into(), start.into());
    }
    if n < last {
        page.insert("next".into(), picture.page_id(n + 1).into());
    }
    if n > 0 {
        page.insert("prev".into(), picture.page_id(n - 1).into());
    }
    page.insert("items".into(), slice.to_vec().into());
    Some(Value::Object(page))
}

/// The W3C AnnotationCollection, its first page inline.
pub fn collection(picture: &Picture, items: &[Value]) -> Value {
    json!({
        "@context": w3c_context(),
        "id": picture.collection_id(),
        "type": "AnnotationCollection",
        "label": label(picture),
        "total": items.len(),
        "first": page(picture, items, 0, true),
        "last": picture.page_id(pages(items.len()) - 1),
    })
}

fn label(picture: &Picture) -> String {
    if picture.title.trim().is_empty() {
        format!("Annotations of picture {}", picture.id)
    } else {
        format!("Annotations of {}", picture.title)
    }
}

/// The IIIF AnnotationPage of the canvas.
pub fn iiif_page(picture: &Picture, items: Vec<Value>) -> Value {
    // Both contexts (IIIF's last, as it asks): the page is read by IIIF viewers and by
    // tools that check its annotations against the W3C model.
    json!({
        "@context": [ANNO_CONTEXT, IIIF_CONTEXT],
        "id": picture.iiif_page_id(),
        "type": "AnnotationPage",
        "label": {"none": [label(picture)]},
        "items": items,
    })
}

/// The IIIF Presentation 3 manifest: one canvas the size of the picture, painted by the
/// level-0 image service, its annotations on a page of their own. `None` while the
/// picture's size is unknown.
pub fn manifest(picture: &Picture) -> Option<Value> {
    let (width, height) = picture.size?;
    let title = if picture.title.trim().is_empty() {
        format!("Picture {}", picture.id)
    } else {
        picture.title.to_string()
    };
    let canvas = picture.canvas_id();
    let service = picture.urls.iiif_id(picture.id);
    let format = match picture.tile_extension {
        "png" => "image/png",
        "webp" => "image/webp",
        _ => "image/jpeg",
    };
    let mut manifest = json!({
        "@context": IIIF_CONTEXT,
        "id": picture.manifest_id(),
        "type": "Manifest",
        "label": {"none": [title]},
        "homepage": [{
            "id": format!("{}/p/{}", picture.urls.public, picture.id),
            "type": "Text",
            "label": {"en": ["Open in HUGEpic"]},
            "format": "text/html",
        }],
        "items": [{
            "id": canvas,
            "type": "Canvas",
            "label": {"none": [title]},
            "width": width,
            "height": height,
            "items": [{
                "id": format!("{canvas}/page"),
                "type": "AnnotationPage",
                "items": [{
                    "id": format!("{canvas}/painting"),
                    "type": "Annotation",
                    "motivation": "painting",
                    "body": {
                        "id": format!("{service}/full/max/0/default.{}", picture.tile_extension),
                        "type": "Image",
                        "format": format,
                        "width": width,
                        "height": height,
                        "service": [{"id": service, "type": "ImageService3", "profile": "level0"}],
                    },
                    "target": canvas,
                }],
            }],
            "annotations": [{"id": picture.iiif_page_id(), "type": "AnnotationPage"}],
        }],
    });
    if !picture.description.trim().is_empty() {
        manifest["summary"] = json!({"none": [picture.description]});
    }
    Some(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls() -> BaseUrls {
        BaseUrls {
            public: "http://pics.test".into(),
            tiles: None,
        }
    }

    fn picture(urls: &BaseUrls) -> Picture<'_> {
        Picture {
            id: "p1",
            title: "Map",
            description: "",
            size: Some((1000, 800)),
            tile_extension: "jpg",
            urls,
            query: String::new(),
        }
    }

    #[test]
    fn every_kind_gets_a_selector_viewers_draw() {
        let doc = json!({"shapes": {
            "r": {"type": "rectangle", "geometry": {"x": 10.4, "y": 20, "width": 30.2, "height": 40}, "created": 1},
            "m": {"type": "marker", "geometry": {"x": 0, "y": 5.6}, "created": 2},
            "t": {"type": "text", "geometry": {"x": 7, "y": 8}, "text": "Tower", "created": 3},
            "g": {"type": "polygon", "geometry": [[0, 0], [10, 0], [5, 5]], "created": 4},
            "c": {"type": "circle", "geometry": {"cx": 50, "cy": 50, "r": 10}, "created": 5},
        }, "comments": {
            "th": {"target": "g", "messages": [
                {"id": "1", "author": "Ana", "author_id": "a 1", "text": "look", "at": 1_700_000_000_000.0},
                {"id": "2", "author": "Bo", "text": "yes", "at": 1_700_000_001_000.0},
            ]},
            "pin": {"target": {"x": 3, "y": 4}, "messages": [{"id": "3", "author": "Cy", "text": "here", "at": 9}]},
        }});
        let urls = urls();
        let picture = picture(&urls);
        let read = Annotations::read(&doc);
        let items = items(&picture, Flavor::W3c, &read);
        // 5 shapes, 1 reply annotation after the polygon, 1 pin.
        assert_eq!(items.len(), 7);
        let by_shape = |id: &str| {
            items
                .iter()
                .find(|a| a["hugepic:shape"]["id"] == id)
                .unwrap_or_else(|| panic!("no annotation of {id}"))
        };
        assert_eq!(
            by_shape("r")["target"]["selector"]["value"],
            "xywh=10,20,31,40"
        );
        let marker = &by_shape("m")["target"]["selector"];
        assert_eq!(
            marker[0]["type"], "FragmentSelector",
            "the fallback comes first"
        );
        assert_eq!(
            (marker[1]["x"].as_i64(), marker[1]["y"].as_i64()),
            (Some(1), Some(6))
        );
        assert!(marker[1]["id"].is_string());
        assert_eq!(by_shape("t")["body"][0]["purpose"], "describing");
        let polygon = by_shape("g");
        assert_eq!(polygon["target"]["selector"]["value"], "<svg><path d=\"M 0,0 L 10,0 L 5,5 Z\" stroke=\"#ff5722\" stroke-width=\"3\" fill=\"none\"/></svg>");
        assert_eq!(polygon["body"][1]["purpose"], "replying");
        assert_eq!(
            polygon["body"][0]["creator"]["id"],
            "urn:hugepic:author:a%201"
        );
        assert_eq!(
            author_of_agent_id("urn:hugepic:author:a%201").as_deref(),
            Some("a 1")
        );
        assert_eq!(polygon["modified"], "2023-11-14T22:13:21.000000Z");
        let reply = &items[items
            .iter()
            .position(|a| a["hugepic:shape"]["id"] == "g")
            .unwrap()
            + 1];
        assert_eq!(
            (&reply["motivation"], &reply["target"]),
            (&json!("replying"), &polygon["id"])
        );
        assert!(by_shape("c")["target"]["selector"]["value"]
            .as_str()
            .unwrap()
            .starts_with("<svg><ellipse"));
        let iiif = super::items(&picture, Flavor::Iiif, &read);
        assert_eq!(iiif.len(), 6, "no reply annotations on the canvas page");
        assert_eq!(
            iiif[0]["target"]["source"],
            "http://pics.test/iiif/p1/canvas"
        );
    }

    #[test]
    fn pages_link_up() {
        let urls = urls();
        let mut picture = picture(&urls);
        picture.query = "?seq=4".into();
        let items: Vec<Value> = (0..2500).map(|i| json!({"n": i})).collect();
        let all = collection(&picture, &items);
        assert_eq!(all["total"], 2500);
        assert_eq!(all["first"]["items"].as_array().unwrap().len(), PAGE_SIZE);
        assert_eq!(
            all["first"]["next"],
            "http://pics.test/api/pictures/p1/annotations.jsonld?seq=4&page=1"
        );
        assert_eq!(
            all["last"],
            "http://pics.test/api/pictures/p1/annotations.jsonld?seq=4&page=2"
        );
        let last = page(&picture, &items, 2, false).unwrap();
        assert_eq!(last["items"].as_array().unwrap().len(), 500);
        assert_eq!(last["startIndex"], 2000);
        assert!(last.get("next").is_none());
        assert!(page(&picture, &items, 3, false).is_none());
        let empty = collection(&picture, &[]);
        assert_eq!(empty["first"]["items"], json!([]));
    }

    #[test]
    fn manifest_paints_the_canvas_with_the_image_service() {
        let urls = urls();
        let picture = picture(&urls);
        let manifest = manifest(&picture).unwrap();
        let canvas = &manifest["items"][0];
        assert_eq!(
            (canvas["width"].as_u64(), canvas["height"].as_u64()),
            (Some(1000), Some(800))
        );
        let body = &canvas["items"][0]["items"][0]["body"];
        assert_eq!(body["service"][0]["id"], "http://pics.test/iiif/p1");
        assert_eq!(
            canvas["annotations"][0]["id"],
            "http://pics.test/iiif/p1/annotations.json"
        );
        let unknown = Picture {
            size: None,
            ..picture
        };
        assert!(super::manifest(&unknown).is_none());
    }
}
