//! SVG selectors: written for the viewers that read them (Annotorious, Mirador), and read
//! back from whatever tools write (`<polygon points>`, `<path d>` with absolute or
//! relative commands and curves, `<ellipse>`, `<circle>`, `<rect>`, `<polyline>`,
//! `<line>`).
//!
//! What the viewers need, learned from their parsers: Annotorious reads an `<ellipse>`
//! only as the first child of an `<svg>` without `xmlns`, decides between polygon and
//! polyline by a `Z` in the path, and misreads relative commands (so every command we
//! write is absolute); Mirador draws only `<path>` elements.

use super::model::{is_color, Geometry, Kind, Style};

/// A coordinate as SVG text: at most two decimals, no trailing zeros.
pub fn number(v: f64) -> String {
    let rounded = (v * 100.0).round() / 100.0;
    let text = format!("{rounded:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    match text {
        "-0" | "" => "0".into(),
        t => t.into(),
    }
}

/// Path data through `points`, absolute commands only, closed with `Z` when asked.
pub fn path_data(points: &[(f64, f64)], closed: bool) -> String {
    let mut d = String::with_capacity(points.len() * 14);
    for (i, &(x, y)) in points.iter().enumerate() {
        d.push_str(if i == 0 { "M " } else { " L " });
        d.push_str(&number(x));
        d.push(',');
        d.push_str(&number(y));
    }
    if closed {
        d.push_str(" Z");
    }
    d
}

/// The presentation attributes of `style` (its colour is checked, so this is safe).
fn paint(style: &Style) -> String {
    let fill = if style.fill {
        format!(r#"fill="{}" fill-opacity="0.2""#, style.color)
    } else {
        r#"fill="none""#.to_string()
    };
    format!(
        r#"stroke="{}" stroke-width="{}" {fill}"#,
        style.color,
        number(style.weight)
    )
}

/// The SVG selector value of a shape drawn as lines or a circle; `None` for the kinds
/// that have selectors of their own (rectangle, marker, text).
pub fn of_shape(kind: Kind, geometry: &Geometry, style: &Style) -> Option<String> {
    let paint = paint(style);
    match (kind, geometry) {
        (Kind::Polygon, Geometry::Points(points)) => Some(format!(
            r#"<svg><path d="{}" {paint}/></svg>"#,
            path_data(points, true)
        )),
        (Kind::Polyline | Kind::Freehand, Geometry::Points(points)) => Some(format!(
            r#"<svg><path d="{}" {paint}/></svg>"#,
            path_data(points, false)
        )),
        (Kind::Circle, &Geometry::Circle { cx, cy, r }) => {
            let (left, right) = (number(cx - r), number(cx + r));
            let (x, y, r) = (number(cx), number(cy), number(r));
            // The ellipse for Annotorious; the same circle as a path for Mirador, which
            // draws only paths. The path's name is followed by a newline, not a space:
            // Annotorious looks for "<path " before "<ellipse " and would otherwise take
            // the path; every XML parser reads the newline as the space it is.
            Some(format!(
                "<svg><ellipse cx=\"{x}\" cy=\"{y}\" rx=\"{r}\" ry=\"{r}\" {paint}/>\
                 <path\nd=\"M {left},{y} A {r},{r} 0 1,0 {right},{y} A {r},{r} 0 1,0 {left},{y} Z\" {paint}/></svg>"
            ))
        }
        _ => None,
    }
}

/// One element of an SVG text: its local name (lower case) and attributes.
#[derive(Debug, Clone, PartialEq)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
}

impl Element {
    fn get(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn number(&self, name: &str) -> Option<f64> {
        let text = self.get(name)?.trim();
        let text = text.strip_suffix("px").unwrap_or(text);
        text.parse::<f64>().ok().filter(|v| v.is_finite())
    }
}

/// The start tags of `text`, in order (a small reader: SVG selectors are one element or
/// a few, and anything that is not a start tag is passed over).
fn elements(text: &str) -> Vec<Element> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        if rest.starts_with(['/', '?', '!']) {
            continue;
        }
        let name_end = rest
            .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
            .unwrap_or(rest.len());
        let name = rest[..name_end].rsplit(':').next().unwrap_or("");
        let name = name.to_ascii_lowercase();
        rest = &rest[name_end..];
        let mut attributes = Vec::new();
        loop {
            rest = rest.trim_start();
            if rest.is_empty() || rest.starts_with('>') || rest.starts_with('/') {
                break;
            }
            let Some(eq) = rest.find('=') else { break };
            let key = rest[..eq]
                .trim()
                .rsplit(':')
                .next()
                .unwrap_or("")
                .to_string();
            rest = rest[eq + 1..].trim_start();
            let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
                break;
            };
            let Some(close) = rest[1..].find(quote) else {
                break;
            };
            attributes.push((key, unescape(&rest[1..1 + close])));
            rest = &rest[close + 2..];
        }
        found.push(Element { name, attributes });
    }
    found
}

/// XML's predefined entities and numeric references.
pub fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';').filter(|s| *s <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A shape read from an SVG selector, with what it says of its style.
#[derive(Debug, Clone, PartialEq)]
pub struct Drawn {
    pub kind: Kind,
    pub geometry: Geometry,
    pub color: Option<String>,
    pub weight: Option<f64>,
    pub fill: Option<bool>,
}

/// Most points one shape may have.
pub const MAX_POINTS: usize = 20_000;

/// The first shape drawn in an SVG selector's value, or why there is none.
pub fn read(value: &str) -> Result<Drawn, String> {
    let all = elements(value);
    let root = all.iter().find(|e| e.name == "svg");
    for element in &all {
        let shape = match element.name.as_str() {
            "polygon" | "polyline" => {
                let numbers = numbers(element.get("points").unwrap_or(""));
                let points: Vec<(f64, f64)> =
                    numbers.chunks_exact(2).map(|p| (p[0], p[1])).collect();
                lines(points, element.name == "polygon")?
            }
            "path" => {
                let (points, closed) = path_points(element.get("d").unwrap_or(""))?;
                lines(points, closed)?
            }
            "ellipse" | "circle" => {
                let (cx, cy) = (
                    element.number("cx").unwrap_or(0.0),
                    element.number("cy").unwrap_or(0.0),
                );
                let (rx, ry) = match element.name.as_str() {
                    "circle" => {
                        let r = element.number("r").ok_or("a circle without a radius")?;
                        (r, r)
                    }
                    _ => (
                        element.number("rx").ok_or("an ellipse without rx")?,
                        element.number("ry").ok_or("an ellipse without ry")?,
                    ),
                };
                ellipse(cx, cy, rx, ry)?
            }
            "rect" => {
                let (x, y) = (
                    element.number("x").unwrap_or(0.0),
                    element.number("y").unwrap_or(0.0),
                );
                let w = element.number("width").ok_or("a rect without a width")?;
                let h = element.number("height").ok_or("a rect without a height")?;
                rect(x, y, w, h, element.get("transform"))?
            }
            "line" => lines(
                vec![
                    (
                        element.number("x1").unwrap_or(0.0),
                        element.number("y1").unwrap_or(0.0),
                    ),
                    (
                        element.number("x2").unwrap_or(0.0),
                        element.number("y2").unwrap_or(0.0),
                    ),
                ],
                false,
            )?,
            _ => continue,
        };
        let attribute = |name: &str| element.get(name).or_else(|| root.and_then(|r| r.get(name)));
        let fill = attribute("fill").map(|f| {
            is_color(f.trim())
                && attribute("fill-opacity")
                    .is_none_or(|o| o.trim().parse::<f64>().map_or(true, |o| o > 0.0))
        });
        return Ok(Drawn {
            color: attribute("stroke")
                .map(str::trim)
                .filter(|c| is_color(c))
                .map(str::to_string),
            weight: attribute("stroke-width")
                .and_then(|w| w.trim().trim_end_matches("px").parse::<f64>().ok())
                .filter(|w| *w > 0.0 && *w <= 50.0),
            fill,
            ..shape
        });
    }
    Err("the SVG selector draws no polygon, path, ellipse, circle, rect, polyline or line".into())
}

impl Drawn {
    /// A shape that says nothing of its style.
    pub fn plain(kind: Kind, geometry: Geometry) -> Drawn {
        Drawn {
            kind,
            geometry,
            color: None,
            weight: None,
            fill: None,
        }
    }
}

/// A polygon or polyline through `points` (repeats removed).
fn lines(mut points: Vec<(f64, f64)>, closed: bool) -> Result<Drawn, String> {
    points.dedup();
    if closed && points.len() > 1 && points.first() == points.last() {
        points.pop();
    }
    if points.len() > MAX_POINTS {
        return Err(format!(
            "the shape has {} points; at most {MAX_POINTS} are taken",
            points.len()
        ));
    }
    match (closed, points.len()) {
        (true, n) if n >= 3 => Ok(Drawn::plain(Kind::Polygon, Geometry::Points(points))),
        (false, n) if n >= 2 => Ok(Drawn::plain(Kind::Polyline, Geometry::Points(points))),
        (_, n) => Err(format!("the SVG shape has only {n} distinct points")),
    }
}

/// A circle when the radii agree within 2%, else a polygon of 64 points along it.
fn ellipse(cx: f64, cy: f64, rx: f64, ry: f64) -> Result<Drawn, String> {
    if rx < 0.0 || ry < 0.0 {
        return Err("an ellipse with a negative radius".into());
    }
    if (rx - ry).abs() <= 0.02 * rx.max(ry) {
        return Ok(Drawn::plain(
            Kind::Circle,
            Geometry::Circle {
                cx,
                cy,
                r: (rx + ry) / 2.0,
            },
        ));
    }
    let points = (0..64)
        .map(|i| {
            let a = f64::from(i) * std::f64::consts::TAU / 64.0;
            (cx + rx * a.cos(), cy + ry * a.sin())
        })
        .collect();
    lines(points, true)
}

/// A rectangle, or a polygon when it is turned (`transform="rotate(deg [cx cy])"`).
fn rect(x: f64, y: f64, w: f64, h: f64, transform: Option<&str>) -> Result<Drawn, String> {
    if w < 0.0 || h < 0.0 {
        return Err("a rect with a negative size".into());
    }
    let turn = transform
        .and_then(|t| t.trim().strip_prefix("rotate("))
        .and_then(|t| t.split(')').next())
        .map(numbers)
        .unwrap_or_default();
    let Some(&degrees) = turn.first().filter(|d| **d % 360.0 != 0.0) else {
        return Ok(Drawn::plain(Kind::Rectangle, Geometry::Rect { x, y, w, h }));
    };
    let (ox, oy) = match turn.as_slice() {
        [_, ox, oy] => (*ox, *oy),
        _ => (0.0, 0.0),
    };
    let (sin, cos) = degrees.to_radians().sin_cos();
    let corners = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)];
    let turned = corners
        .iter()
        .map(|&(px, py)| {
            (
                ox + (px - ox) * cos - (py - oy) * sin,
                oy + (px - ox) * sin + (py - oy) * cos,
            )
        })
        .collect();
    lines(turned, true)
}

/// Every number in `text` (separated by spaces or commas).
fn numbers(text: &str) -> Vec<f64> {
    let mut reader = PathReader {
        bytes: text.as_bytes(),
        at: 0,
    };
    std::iter::from_fn(|| reader.number()).collect()
}

/// Reads path data.
struct PathReader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl PathReader<'_> {
    fn skip_separators(&mut self) {
        while self.at < self.bytes.len()
            && (self.bytes[self.at].is_ascii_whitespace() || self.bytes[self.at] == b',')
        {
            self.at += 1;
        }
    }

    /// The next command letter, if one comes next.
    fn command(&mut self) -> Option<u8> {
        self.skip_separators();
        let c = *self.bytes.get(self.at)?;
        c.is_ascii_alphabetic().then(|| {
            self.at += 1;
            c
        })
    }

    /// The next number, if one comes next (`-1-2`, `.5.5` and `1e-3` read as SVG reads them).
    fn number(&mut self) -> Option<f64> {
        self.skip_separators();
        let start = self.at;
        let b = self.bytes;
        let mut i = self.at;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let digits = |i: &mut usize| {
            let s = *i;
            while *i < b.len() && b[*i].is_ascii_digit() {
                *i += 1;
            }
            *i > s
        };
        let mut any = digits(&mut i);
        if i < b.len() && b[i] == b'.' {
            i += 1;
            any |= digits(&mut i);
        }
        if !any {
            return None;
        }
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            let mut j = i + 1;
            if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                j += 1;
            }
            if digits(&mut j) {
                i = j;
            }
        }
        self.at = i;
        std::str::from_utf8(&b[start..i])
            .ok()?
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
    }

    /// An arc flag: one `0` or `1`, which may be written without a separator.
    fn flag(&mut self) -> Option<bool> {
        self.skip_separators();
        let c = *self.bytes.get(self.at)?;
        self.at += 1;
        match c {
            b'0' => Some(false),
            b'1' => Some(true),
            _ => None,
        }
    }

    fn pair(&mut self) -> Option<(f64, f64)> {
        Some((self.number()?, self.number()?))
    }
}

/// Points sampled along each curve segment.
const CURVE_STEPS: usize = 8;

/// The points of the first subpath of `d` (curves and arcs sampled), and whether it is closed.
pub fn path_points(d: &str) -> Result<(Vec<(f64, f64)>, bool), String> {
    let mut reader = PathReader {
        bytes: d.as_bytes(),
        at: 0,
    };
    let mut points: Vec<(f64, f64)> = Vec::new();
    let mut current = (0.0, 0.0);
    // The last control point, for the smooth commands (S, T).
    let mut last_control: Option<(u8, (f64, f64))> = None;
    let mut command = reader
        .command()
        .ok_or("the path does not start with a command")?;
    let broken = || {
        format!(
            "the path data {:?} is malformed",
            d.chars().take(80).collect::<String>()
        )
    };
    loop {
        let relative = command.is_ascii_lowercase();
        let base = if relative { current } else { (0.0, 0.0) };
        let at = |(x, y): (f64, f64)| (base.0 + x, base.1 + y);
        let upper = command.to_ascii_uppercase();
        match upper {
            b'M' => {
                if !points.is_empty() {
                    return Ok((points, false)); // the first subpath ends here
                }
                current = at(reader.pair().ok_or_else(broken)?);
                points.push(current);
                // Further pairs are implied line-tos.
                command = if relative { b'l' } else { b'L' };
                last_control = None;
                if let Some(next) = reader.command() {
                    command = next;
                }
                continue;
            }
            b'Z' => return Ok((points, true)),
            b'L' => current = at(reader.pair().ok_or_else(broken)?),
            b'H' => current.0 = base.0 + reader.number().ok_or_else(broken)?,
            b'V' => current.1 = base.1 + reader.number().ok_or_else(broken)?,
            b'C' | b'S' | b'Q' | b'T' => {
                let from = current;
                let reflected = |kinds: &[u8]| match last_control {
                    Some((k, c)) if kinds.contains(&k) => (2.0 * from.0 - c.0, 2.0 * from.1 - c.1),
                    _ => from,
                };
                let (c1, c2, to) = match upper {
                    b'C' => {
                        let c1 = at(reader.pair().ok_or_else(broken)?);
                        let c2 = at(reader.pair().ok_or_else(broken)?);
                        (c1, c2, at(reader.pair().ok_or_else(broken)?))
                    }
                    b'S' => {
                        let c1 = reflected(b"CS");
                        let c2 = at(reader.pair().ok_or_else(broken)?);
                        (c1, c2, at(reader.pair().ok_or_else(broken)?))
                    }
                    b'Q' => {
                        let q = at(reader.pair().ok_or_else(broken)?);
                        let to = at(reader.pair().ok_or_else(broken)?);
                        last_control = Some((b'Q', q));
                        let (c1, c2) = cubic_from_quad(from, q, to);
                        (c1, c2, to)
                    }
                    _ => {
                        let q = reflected(b"QT");
                        let to = at(reader.pair().ok_or_else(broken)?);
                        last_control = Some((b'T', q));
                        let (c1, c2) = cubic_from_quad(from, q, to);
                        (c1, c2, to)
                    }
                };
                for step in 1..CURVE_STEPS {
                    points.push(bezier(from, c1, c2, to, step as f64 / CURVE_STEPS as f64));
                }
                if matches!(upper, b'C' | b'S') {
                    last_control = Some((upper, c2));
                }
                current = to;
            }
            b'A' => {
                let rx = reader.number().ok_or_else(broken)?;
                let ry = reader.number().ok_or_else(broken)?;
                let turn = reader.number().ok_or_else(broken)?;
                let large = reader.flag().ok_or_else(broken)?;
                let sweep = reader.flag().ok_or_else(broken)?;
                let to = at(reader.pair().ok_or_else(broken)?);
                points.extend(arc(current, to, rx, ry, turn, large, sweep));
                current = to;
            }
            other => {
                return Err(format!(
                    "the path uses the command {:?}, which SVG does not have",
                    other as char
                ))
            }
        }
        if !matches!(upper, b'C' | b'S' | b'Q' | b'T') {
            last_control = None;
        }
        points.push(current);
        if points.len() > MAX_POINTS {
            return Err(format!("the path has more than {MAX_POINTS} points"));
        }
        // A command's letter may be left out when it repeats.
        if let Some(next) = reader.command() {
            command = next;
        } else if reader.at >= reader.bytes.len() {
            return Ok((points, false));
        }
    }
}

fn cubic_from_quad(from: (f64, f64), q: (f64, f64), to: (f64, f64)) -> ((f64, f64), (f64, f64)) {
    (
        (
            from.0 + 2.0 / 3.0 * (q.0 - from.0),
            from.1 + 2.0 / 3.0 * (q.1 - from.1),
        ),
        (
            to.0 + 2.0 / 3.0 * (q.0 - to.0),
            to.1 + 2.0 / 3.0 * (q.1 - to.1),
        ),
    )
}

fn bezier(p0: (f64, f64), c1: (f64, f64), c2: (f64, f64), p3: (f64, f64), t: f64) -> (f64, f64) {
    let u = 1.0 - t;
    let (a, b, c, d) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
    (
        a * p0.0 + b * c1.0 + c * c2.0 + d * p3.0,
        a * p0.1 + b * c1.1 + c * c2.1 + d * p3.1,
    )
}

/// Points along an SVG arc from `from` to `to` (the end point not included), by the
/// centre parameterisation of SVG 1.1 appendix F.6.
fn arc(
    from: (f64, f64),
    to: (f64, f64),
    rx: f64,
    ry: f64,
    turn: f64,
    large: bool,
    sweep: bool,
) -> Vec<(f64, f64)> {
    let (mut rx, mut ry) = (rx.abs(), ry.abs());
    if rx == 0.0 || ry == 0.0 || from == to {
        return Vec::new();
    }
    let (sin, cos) = turn.to_radians().sin_cos();
    let (dx, dy) = ((from.0 - to.0) / 2.0, (from.1 - to.1) / 2.0);
    let (x1, y1) = (cos * dx + sin * dy, -sin * dx + cos * dy);
    let scale = (x1 * x1) / (rx * rx) + (y1 * y1) / (ry * ry);
    if scale > 1.0 {
        rx *= scale.sqrt();
        ry *= scale.sqrt();
    }
    let numerator = rx * rx * ry * ry - rx * rx * y1 * y1 - ry * ry * x1 * x1;
    let denominator = rx * rx * y1 * y1 + ry * ry * x1 * x1;
    let mut k = (numerator / denominator).max(0.0).sqrt();
    if large == sweep {
        k = -k;
    }
    let (cx1, cy1) = (k * rx * y1 / ry, -k * ry * x1 / rx);
    let (cx, cy) = (
        cos * cx1 - sin * cy1 + (from.0 + to.0) / 2.0,
        sin * cx1 + cos * cy1 + (from.1 + to.1) / 2.0,
    );
    let angle = |ux: f64, uy: f64| uy.atan2(ux);
    let start = angle((x1 - cx1) / rx, (y1 - cy1) / ry);
    let mut delta = angle((-x1 - cx1) / rx, (-y1 - cy1) / ry) - start;
    if sweep && delta < 0.0 {
        delta += std::f64::consts::TAU;
    } else if !sweep && delta > 0.0 {
        delta -= std::f64::consts::TAU;
    }
    let steps = ((delta.abs() / std::f64::consts::TAU * 64.0).ceil() as usize).max(2);
    (1..steps)
        .map(|i| {
            let a = start + delta * i as f64 / steps as f64;
            let (x, y) = (rx * a.cos(), ry * a.sin());
            (cos * x - sin * y + cx, sin * x + cos * y + cy)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: (f64, f64), b: (f64, f64)) -> bool {
        (a.0 - b.0).abs() < 1e-6 && (a.1 - b.1).abs() < 1e-6
    }

    #[test]
    fn numbers_are_short_and_paths_absolute() {
        assert_eq!(number(12.0), "12");
        assert_eq!(number(12.345), "12.35");
        assert_eq!(number(-0.001), "0");
        assert_eq!(
            path_data(&[(1.0, 2.0), (3.5, 4.0), (5.0, 6.0)], true),
            "M 1,2 L 3.5,4 L 5,6 Z"
        );
    }

    #[test]
    fn relative_paths_read_like_absolute_ones() {
        // What Mirador's editor writes: relative lines, h/v, z.
        let (points, closed) = path_points("M10,20h30v40h-30z").unwrap();
        assert!(closed);
        assert_eq!(
            points,
            [(10.0, 20.0), (40.0, 20.0), (40.0, 60.0), (10.0, 60.0)]
        );
        let (points, closed) = path_points("m 1 1 2 0 0 2").unwrap();
        assert!(!closed);
        assert_eq!(points, [(1.0, 1.0), (3.0, 1.0), (3.0, 3.0)]);
        let (points, _) = path_points("M0-1.5.5.5").unwrap();
        assert_eq!(points, [(0.0, -1.5), (0.5, 0.5)]);
    }

    #[test]
    fn curves_and_arcs_are_sampled_through_their_ends() {
        let (points, closed) = path_points("M 0,0 C 0,10 10,10 10,0 Z").unwrap();
        assert!(closed);
        assert!(close(*points.last().unwrap(), (10.0, 0.0)));
        assert!(
            points.iter().any(|p| p.1 > 7.0),
            "the curve bulges: {points:?}"
        );
        let (points, _) = path_points("M 0,0 A 5,5 0 1,0 10,0 A 5,5 0 1,0 0,0 Z").unwrap();
        let bottom = points.iter().map(|p| p.1).fold(f64::MIN, f64::max);
        let top = points.iter().map(|p| p.1).fold(f64::MAX, f64::min);
        assert!(
            (bottom - 5.0).abs() < 0.05 && (top + 5.0).abs() < 0.05,
            "{top} {bottom}"
        );
        assert!(path_points("M 0,0 X 1,1").is_err());
        assert!(path_points("M 0").is_err());
    }

    #[test]
    fn reads_the_shapes_tools_write() {
        let polygon = read(r#"<svg><polygon points="1,2 3,4 5,6" /></svg>"#).unwrap();
        assert_eq!(polygon.kind, Kind::Polygon);
        assert_eq!(
            polygon.geometry,
            Geometry::Points(vec![(1.0, 2.0), (3.0, 4.0), (5.0, 6.0)])
        );
        let ellipse = read(r##"<svg xmlns="http://www.w3.org/2000/svg"><ellipse cx="5" cy="6" rx="2" ry="2" stroke="#00ff00"/></svg>"##).unwrap();
        assert_eq!(
            ellipse.geometry,
            Geometry::Circle {
                cx: 5.0,
                cy: 6.0,
                r: 2.0
            }
        );
        assert_eq!(ellipse.color.as_deref(), Some("#00ff00"));
        let flat = read(r#"<ellipse cx="0" cy="0" rx="10" ry="2"/>"#).unwrap();
        assert_eq!(flat.kind, Kind::Polygon);
        let rect = read(r#"<svg><rect x="1" y="2" width="3" height="4"/></svg>"#).unwrap();
        assert_eq!(
            rect.geometry,
            Geometry::Rect {
                x: 1.0,
                y: 2.0,
                w: 3.0,
                h: 4.0
            }
        );
        let turned =
            read(r#"<rect x="0" y="0" width="2" height="2" transform="rotate(90 1 1)"/>"#).unwrap();
        assert_eq!(turned.kind, Kind::Polygon);
        let line =
            read(r#"<svg:svg><svg:line x1="0" y1="0" x2="4" y2="3" stroke-width="7"/></svg:svg>"#)
                .unwrap();
        assert_eq!((line.kind, line.weight), (Kind::Polyline, Some(7.0)));
        let paper = read("<svg xmlns='http://www.w3.org/2000/svg'><path xmlns=\"http://www.w3.org/2000/svg\" d=\"M10,20h30v40h-30z\" data-paper-data=\"{&quot;state&quot;:null}\" fill-opacity=\"0\" fill=\"#00bfff\" stroke=\"#00bfff\"/></svg>").unwrap();
        assert_eq!((paper.kind, paper.fill), (Kind::Polygon, Some(false)));
        assert!(read("<svg><text>hi</text></svg>").is_err());
        assert!(read(r#"<svg><polygon points="1,2 3,4"/></svg>"#).is_err());
    }

    #[test]
    fn our_circle_reads_back_as_the_circle() {
        let style = Style::default();
        let svg = of_shape(
            Kind::Circle,
            &Geometry::Circle {
                cx: 10.0,
                cy: 20.0,
                r: 5.5,
            },
            &style,
        )
        .unwrap();
        assert!(
            svg.starts_with("<svg><ellipse "),
            "Annotorious reads the first child: {svg}"
        );
        assert!(
            !svg.contains("<path "),
            "Annotorious would take the path: {svg}"
        );
        assert!(svg.contains("<path\nd="));
        let back = read(&svg).unwrap();
        assert_eq!(
            back.geometry,
            Geometry::Circle {
                cx: 10.0,
                cy: 20.0,
                r: 5.5
            }
        );
        // Mirador's path: the same circle.
        let d = svg.split("d=\"").nth(1).unwrap().split('"').next().unwrap();
        let (points, closed) = path_points(d).unwrap();
        assert!(closed);
        assert!(points
            .iter()
            .all(|p| ((p.0 - 10.0).hypot(p.1 - 20.0) - 5.5).abs() < 0.02));
    }

    #[test]
    fn entities_decode() {
        assert_eq!(
            unescape("a &amp; b &lt;&#x41;&#66;&bogus; &"),
            "a & b <AB&bogus; &"
        );
    }
}
