//! The comments as CSV for spreadsheets: one row per message, with where its thread is
//! (the shape's bounding box, or the pinned point) in full-resolution image pixels.

use super::export::time_text;
use super::model::{Annotations, Target};

const HEADER: &str =
    "thread_id,message_id,shape_id,shape_kind,x,y,width,height,author,author_id,time,text,resolved";

/// One cell: quoted when it must be, and never read as a formula by a spreadsheet (a
/// text starting with `=`, `+`, `-`, `@` or a control character gets a leading `'`).
fn cell(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// The whole CSV text.
pub fn comments(document: &Annotations) -> String {
    let mut out = String::from(HEADER);
    out.push_str("\r\n");
    for thread in &document.threads {
        let (shape_id, kind, place) = match &thread.target {
            Target::Shape(id) => match document.shape(id) {
                Some(shape) => {
                    let (l, t, r, b) = shape.geometry.bounds();
                    let place = [l, t, r - l, b - t].map(|v| (v.round() as i64).to_string());
                    (*id, shape.kind.name(), place)
                }
                None => (*id, "", Default::default()),
            },
            Target::Point { x, y } => {
                let place = [x.round() as i64, y.round() as i64, 0, 0].map(|v| v.to_string());
                ("", "pin", place)
            }
        };
        let resolved = thread.stored.get("resolved").is_some_and(|r| !r.is_null());
        for message in &thread.messages {
            let time = if message.at > 0.0 {
                time_text(message.at)
            } else {
                String::new()
            };
            let row = [
                cell(thread.id),
                cell(message.id),
                cell(shape_id),
                kind.to_string(),
                place[0].clone(),
                place[1].clone(),
                place[2].clone(),
                place[3].clone(),
                cell(message.author),
                cell(message.author_id),
                time,
                cell(message.text),
                if resolved {
                    "yes".into()
                } else {
                    String::new()
                },
            ];
            out.push_str(&row.join(","));
            out.push_str("\r\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_row_per_message_safe_for_spreadsheets() {
        let doc = json!({
            "shapes": {"s": {"type": "rectangle", "geometry": {"x": 1.4, "y": 2, "width": 10, "height": 20}}},
            "comments": {
                "t": {"target": "s", "resolved": {"by": "Ana", "at": 3}, "messages": [
                    {"id": "m1", "author": "Ana", "text": "a, \"quoted\"\nline", "at": 1_700_000_000_000.0},
                    {"id": "m2", "author": "=cmd()", "text": "-1", "at": 1_700_000_000_001.0},
                ]},
                "p": {"target": {"x": 5.6, "y": 7}, "messages": [{"id": "m3", "author": "Bo", "text": "pin", "at": 1}]},
            }
        });
        let read = Annotations::read(&doc);
        let text = comments(&read);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], HEADER);
        assert!(text.contains(",s,rectangle,1,2,10,20,Ana,,2023-11-14T22:13:20.000000Z,\"a, \"\"quoted\"\"\nline\",yes\r\n"), "{text}");
        assert!(
            text.contains(",'=cmd(),,2023-11-14T22:13:20.001000Z,'-1,yes"),
            "{text}"
        );
        assert!(text.contains("p,m3,,pin,6,7,0,0,Bo,"), "{text}");
    }
}
