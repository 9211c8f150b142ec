//! Our annotation document read as typed shapes and threads (DESIGN.md's schema), from
//! its JSON form (`{shapes: {id: shape}, comments: {id: thread}}`). Entries the viewer
//! would not draw (unknown type, malformed geometry) are left out, as the viewer leaves
//! them out.

use serde_json::{Map, Value};

/// A shape's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Polyline,
    Polygon,
    Rectangle,
    Circle,
    Marker,
    Freehand,
    Text,
}

impl Kind {
    /// The kind named `name` in the document.
    pub fn parse(name: &str) -> Option<Kind> {
        Some(match name {
            "polyline" => Kind::Polyline,
            "polygon" => Kind::Polygon,
            "rectangle" => Kind::Rectangle,
            "circle" => Kind::Circle,
            "marker" => Kind::Marker,
            "freehand" => Kind::Freehand,
            "text" => Kind::Text,
            _ => return None,
        })
    }

    /// Its name in the document.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Polyline => "polyline",
            Kind::Polygon => "polygon",
            Kind::Rectangle => "rectangle",
            Kind::Circle => "circle",
            Kind::Marker => "marker",
            Kind::Freehand => "freehand",
            Kind::Text => "text",
        }
    }
}

/// Where a shape is, in full-resolution image pixels.
#[derive(Debug, Clone, PartialEq)]
pub enum Geometry {
    /// A polyline, freehand line or polygon (its first point not repeated at the end).
    Points(Vec<(f64, f64)>),
    Rect {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
    },
    Circle {
        cx: f64,
        cy: f64,
        r: f64,
    },
    /// A marker or a text label.
    Point {
        x: f64,
        y: f64,
    },
}

impl Geometry {
    /// The geometry of a `kind` shape, if `value` is one (DESIGN.md: points
    /// `[[x,y],...]`, rectangle `{x,y,width,height}`, circle `{cx,cy,r}`, marker and text
    /// `{x,y}`).
    pub fn read(kind: Kind, value: &Value) -> Option<Geometry> {
        let field = |name: &str| value.get(name).and_then(Value::as_f64);
        match kind {
            Kind::Polyline | Kind::Freehand | Kind::Polygon => {
                let points: Vec<(f64, f64)> = value
                    .as_array()?
                    .iter()
                    .map(|p| match p.as_array().map(Vec::as_slice) {
                        Some([x, y]) => Some((x.as_f64()?, y.as_f64()?)),
                        _ => None,
                    })
                    .collect::<Option<_>>()?;
                let least = if kind == Kind::Polygon { 3 } else { 2 };
                (points.len() >= least).then_some(Geometry::Points(points))
            }
            Kind::Rectangle => {
                let (w, h) = (field("width")?, field("height")?);
                (w >= 0.0 && h >= 0.0).then_some(Geometry::Rect {
                    x: field("x")?,
                    y: field("y")?,
                    w,
                    h,
                })
            }
            Kind::Circle => {
                let r = field("r")?;
                (r >= 0.0).then_some(Geometry::Circle {
                    cx: field("cx")?,
                    cy: field("cy")?,
                    r,
                })
            }
            Kind::Marker | Kind::Text => Some(Geometry::Point {
                x: field("x")?,
                y: field("y")?,
            }),
        }
    }

    /// As the document writes it.
    pub fn to_value(&self) -> Value {
        match self {
            Geometry::Points(points) => points.iter().map(|&(x, y)| json_pair(x, y)).collect(),
            Geometry::Rect { x, y, w, h } => {
                serde_json::json!({"x": num(*x), "y": num(*y), "width": num(*w), "height": num(*h)})
            }
            Geometry::Circle { cx, cy, r } => {
                serde_json::json!({"cx": num(*cx), "cy": num(*cy), "r": num(*r)})
            }
            Geometry::Point { x, y } => serde_json::json!({"x": num(*x), "y": num(*y)}),
        }
    }

    /// The bounding box: left, top, right, bottom.
    pub fn bounds(&self) -> (f64, f64, f64, f64) {
        match self {
            Geometry::Points(points) => points.iter().fold(
                (f64::MAX, f64::MAX, f64::MIN, f64::MIN),
                |(l, t, r, b), &(x, y)| (l.min(x), t.min(y), r.max(x), b.max(y)),
            ),
            Geometry::Rect { x, y, w, h } => (*x, *y, x + w, y + h),
            Geometry::Circle { cx, cy, r } => (cx - r, cy - r, cx + r, cy + r),
            Geometry::Point { x, y } => (*x, *y, *x, *y),
        }
    }
}

/// A number as JSON: whole numbers without a fraction, as JavaScript writes them.
pub fn num(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9e15 {
        Value::from(v as i64)
    } else {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

fn json_pair(x: f64, y: f64) -> Value {
    Value::Array(vec![num(x), num(y)])
}

/// A shape's style, as the viewer reads it (bad values fall back to the defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct Style {
    /// `#rgb`, `#rrggbb` or with alpha; checked, so it is safe to write into SVG and CSS.
    pub color: String,
    /// Line width in screen pixels.
    pub weight: f64,
    pub fill: bool,
}

/// The viewer's default colour.
pub const DEFAULT_COLOR: &str = "#ff5722";
/// The viewer's default line width.
pub const DEFAULT_WEIGHT: f64 = 3.0;

/// Whether `text` is a colour the viewer takes: `#` and 3 to 8 hex digits.
pub fn is_color(text: &str) -> bool {
    text.strip_prefix('#').is_some_and(|hex| {
        (3..=8).contains(&hex.len()) && hex.chars().all(|c| c.is_ascii_hexdigit())
    })
}

impl Default for Style {
    fn default() -> Self {
        Style {
            color: DEFAULT_COLOR.into(),
            weight: DEFAULT_WEIGHT,
            fill: false,
        }
    }
}

impl Style {
    fn read(value: Option<&Value>) -> Style {
        let field = |name: &str| value.and_then(|v| v.get(name));
        Style {
            color: field("color")
                .and_then(Value::as_str)
                .filter(|c| is_color(c))
                .unwrap_or(DEFAULT_COLOR)
                .to_string(),
            weight: field("weight")
                .and_then(Value::as_f64)
                .filter(|w| *w > 0.0 && *w <= 50.0)
                .unwrap_or(DEFAULT_WEIGHT),
            fill: field("fill") == Some(&Value::Bool(true)),
        }
    }

    /// As the document writes it.
    pub fn to_value(&self) -> Value {
        serde_json::json!({"color": self.color, "weight": num(self.weight), "fill": self.fill})
    }
}

/// One shape of the document.
#[derive(Debug, Clone)]
pub struct Shape<'a> {
    pub id: &'a str,
    pub kind: Kind,
    pub geometry: Geometry,
    pub style: Style,
    /// The author's name when it was drawn.
    pub author: &'a str,
    /// The author's stable id ("" for shapes from before ids).
    pub author_id: &'a str,
    /// Milliseconds since 1970.
    pub created: Option<f64>,
    /// When it last changed, if the client recorded it.
    pub modified: Option<f64>,
    /// A text label's text.
    pub text: &'a str,
    /// The entry as stored, every field.
    pub stored: &'a Map<String, Value>,
}

/// Where a thread is pinned.
#[derive(Debug, Clone, PartialEq)]
pub enum Target<'a> {
    Shape(&'a str),
    Point { x: f64, y: f64 },
}

/// One message of a thread.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    pub id: &'a str,
    pub author: &'a str,
    pub author_id: &'a str,
    pub text: &'a str,
    /// Milliseconds since 1970.
    pub at: f64,
    /// When its author last changed it.
    pub edited: Option<f64>,
}

/// A comment thread.
#[derive(Debug, Clone)]
pub struct Thread<'a> {
    pub id: &'a str,
    pub target: Target<'a>,
    pub messages: Vec<Message<'a>>,
    /// The entry as stored, every field.
    pub stored: &'a Map<String, Value>,
}

/// The document's shapes and threads, each list in a stable order: by time, then id.
#[derive(Debug, Default)]
pub struct Annotations<'a> {
    pub shapes: Vec<Shape<'a>>,
    pub threads: Vec<Thread<'a>>,
}

fn text<'a>(entry: &'a Map<String, Value>, name: &str) -> &'a str {
    entry.get(name).and_then(Value::as_str).unwrap_or("")
}

fn time(entry: &Map<String, Value>, name: &str) -> Option<f64> {
    entry
        .get(name)
        .and_then(Value::as_f64)
        .filter(|t| t.is_finite() && *t > 0.0)
}

impl<'a> Annotations<'a> {
    /// The shapes and threads of `document` (`{shapes, comments}`).
    pub fn read(document: &'a Value) -> Annotations<'a> {
        let entries = |root: &str| {
            document
                .get(root)
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(id, v)| Some((id.as_str(), v.as_object()?)))
        };
        let mut shapes: Vec<Shape> = entries("shapes")
            .filter_map(|(id, entry)| {
                let kind = Kind::parse(entry.get("type")?.as_str()?)?;
                Some(Shape {
                    id,
                    kind,
                    geometry: Geometry::read(kind, entry.get("geometry")?)?,
                    style: Style::read(entry.get("style")),
                    author: text(entry, "author"),
                    author_id: text(entry, "author_id"),
                    created: time(entry, "created"),
                    modified: time(entry, "modified"),
                    text: text(entry, "text"),
                    stored: entry,
                })
            })
            .collect();
        shapes.sort_by(|a, b| {
            let at = |s: &Shape| s.created.unwrap_or(0.0);
            at(a).total_cmp(&at(b)).then(a.id.cmp(b.id))
        });
        let mut threads: Vec<Thread> = entries("comments")
            .filter_map(|(id, entry)| {
                let target = match entry.get("target")? {
                    Value::String(shape) => Target::Shape(shape),
                    point => Target::Point {
                        x: point.get("x")?.as_f64()?,
                        y: point.get("y")?.as_f64()?,
                    },
                };
                let messages = entry
                    .get("messages")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|m| {
                        let m = m.as_object()?;
                        Some(Message {
                            id: text(m, "id"),
                            author: text(m, "author"),
                            author_id: text(m, "author_id"),
                            text: m.get("text")?.as_str()?,
                            at: time(m, "at").unwrap_or(0.0),
                            edited: time(m, "edited"),
                        })
                    })
                    .collect();
                Some(Thread {
                    id,
                    target,
                    messages,
                    stored: entry,
                })
            })
            .collect();
        threads.sort_by(|a, b| {
            let at = |t: &Thread| t.messages.first().map_or(0.0, |m| m.at);
            at(a).total_cmp(&at(b)).then(a.id.cmp(b.id))
        });
        Annotations { shapes, threads }
    }

    /// The threads pinned to shape `id`.
    pub fn threads_on<'s>(&'s self, id: &'s str) -> impl Iterator<Item = &'s Thread<'a>> + 's {
        self.threads
            .iter()
            .filter(move |t| t.target == Target::Shape(id))
    }

    /// The shape with id `id`.
    pub fn shape(&self, id: &str) -> Option<&Shape<'a>> {
        self.shapes.iter().find(|s| s.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_what_the_viewer_draws_and_skips_the_rest() {
        let doc = json!({
            "shapes": {
                "b": {"type": "polygon", "geometry": [[0, 0], [10, 0], [10, 10]], "created": 2,
                      "style": {"color": "#00ff00", "weight": 5, "fill": true}},
                "a": {"type": "circle", "geometry": {"cx": 5, "cy": 6, "r": 2}, "created": 1,
                      "style": {"color": "red\"/><script>", "weight": 500}},
                "bad": {"type": "polygon", "geometry": [[0, 0], [1, 1]]},
                "odd": {"type": "hexagon", "geometry": []},
            },
            "comments": {
                "t": {"target": "a", "messages": [{"author": "Ana", "text": "hi", "at": 5}]},
                "p": {"target": {"x": 1, "y": 2}, "messages": []},
                "broken": {"target": 7, "messages": []},
            }
        });
        let read = Annotations::read(&doc);
        let ids: Vec<&str> = read.shapes.iter().map(|s| s.id).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(
            read.shapes[0].style,
            Style::default(),
            "unsafe colour refused"
        );
        assert_eq!(read.shapes[1].style.weight, 5.0);
        assert_eq!(read.shapes[0].geometry.bounds(), (3.0, 4.0, 7.0, 8.0));
        assert_eq!(read.threads.len(), 2);
        assert_eq!(read.threads_on("a").count(), 1);
        assert_eq!(
            read.shapes[1].geometry.to_value(),
            json!([[0, 0], [10, 0], [10, 10]])
        );
    }
}
