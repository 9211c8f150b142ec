//! The paths of the annotation history (`routes::history`) and of annotations in and
//! out (`routes::annotations`).

use serde_json::{json, Value};

use super::components::{
    answer, failure, json_answer, json_body, optional_token, param, path, picture_params, query,
};
use super::schemas::schema;

/// A picture's operation that reads: any role that can view.
fn reading(
    operation: &str,
    summary: &str,
    description: &str,
    extra: Vec<Value>,
    ok: Value,
) -> Value {
    json!({
        "operationId": operation,
        "tags": ["history"],
        "summary": summary,
        "description": description,
        "security": optional_token(),
        "parameters": extra,
        "responses": {
            "200": ok,
            "400": failure("BadRequest"),
            "401": failure("Unauthorized"),
            "404": failure("NotFound")
        }
    })
}

fn moment() -> Vec<Value> {
    vec![param("Seq"), param("At")]
}

fn seq_schema() -> Value {
    json!({"type": "integer", "minimum": 0, "maximum": i64::MAX})
}

/// `/api/pictures/{id}/history…`, versions, restore, annotations.
pub fn paths() -> Value {
    json!({
        "/api/pictures/{id}/history": {
            "parameters": picture_params(),
            "get": reading(
                "getActivity",
                "Annotation activity, newest first.",
                "Consecutive changes by one author less than a minute apart are one entry. Any role that can view.",
                vec![
                    query("limit", json!({"type": "integer", "minimum": 1, "maximum": 200}), "Entries a page; default 50."),
                    query("before", seq_schema(), "Paging: entries before this seq (see next_before)."),
                    query("author", json!({"type": "string"}), "Only this author id."),
                    query("since", json!({"type": "string", "format": "date-time"}), "Only from this time (RFC 3339)."),
                    query("until", json!({"type": "string", "format": "date-time"}), "Only up to this time (RFC 3339).")
                ],
                json!({
                    "description": "A page of activity.",
                    "content": {"application/json": {"schema": schema("Activity")}},
                    "links": {"State": {
                        "operationId": "getState",
                        "parameters": {"path.id": "$request.path.id", "query.seq": "$response.body#/latest_seq"}
                    }}
                }),
            )
        },
        "/api/pictures/{id}/history/frames": {
            "parameters": picture_params(),
            "get": reading(
                "getFrames",
                "A moment's frames, streamed as NDJSON.",
                "{type: checkpoint, seq, base?, at, encoding, state (base64 Yjs update: v1 unless `encoding=v2`)} for the newest checkpoint at or before the moment (a whole state, then the deltas on it, each applied in order), then {type: update, seq, at, author, role, kind: edit|restore, restored_to, update (base64 Yjs v1)} for each later update up to the moment, then {type: end, seq, latest_seq} (or {type: error, detail} when the log could not be read to the end). With `from=A`: only the updates after seq A, no checkpoint.",
                [
                    moment(),
                    vec![
                        query("from", seq_schema(), "Stream only the updates after this seq."),
                        query(
                            "encoding",
                            json!({"type": "string", "enum": ["v1", "v2"], "default": "v1"}),
                            "How checkpoint states are encoded: v1 (Yjs `applyUpdate`) or v2 (`applyUpdateV2`, as stored: the server does not convert it, so a seek costs it less). Updates are always v1, as logged.",
                        ),
                    ],
                ]
                .concat(),
                answer("The frames.", "application/x-ndjson", json!({"type": "string"})),
            )
        },
        "/api/pictures/{id}/history/state": {
            "parameters": picture_params(),
            "get": reading(
                "getState",
                "The annotation document at a moment (default: now).",
                "Headers History-Seq (the seq resolved) and History-Updates-Read (log rows read: at most the checkpoint interval).",
                moment(),
                json!({
                    "description": "The document.",
                    "headers": {
                        "History-Seq": {"required": true, "schema": {"type": "integer", "minimum": 0}},
                        "History-Updates-Read": {"required": true, "schema": {"type": "integer", "minimum": 0}}
                    },
                    "content": {"application/json": {"schema": schema("Document")}}
                }),
            )
        },
        "/api/pictures/{id}/shapes/{shape_id}/history": {
            "parameters": [param("PictureId"), path("shape_id", json!({"type": "string", "minLength": 1}), "The shape's id."), param("Token")],
            "get": {
                "operationId": "getShapeHistory",
                "tags": ["history"],
                "summary": "Every change to one shape, oldest first; deleted_at when it is gone.",
                "security": optional_token(),
                "responses": {
                    "200": json_answer("Its changes.", schema("ShapeHistory")),
                    "400": failure("BadRequest"),
                    "401": failure("Unauthorized"),
                    "404": failure("NotFound")
                }
            }
        },
        "/api/pictures/{id}/versions": versions(),
        "/api/pictures/{id}/restore": {
            "parameters": picture_params(),
            "post": {
                "operationId": "restore",
                "tags": ["history"],
                "summary": "Restore a moment (edit, owner).",
                "description": "Appends ONE update that turns the live document into the one at that moment (or only `shape_ids` and their threads), logged and delivered to every connected client; history is never rewritten (restore the seq before it to undo). `dry_run` only tells what would change.",
                "security": optional_token(),
                "requestBody": json_body(schema("Restore"), true),
                "responses": {
                    "200": json_answer("What changed.", schema("Restored")),
                    "400": failure("BadRequest"),
                    "401": failure("Unauthorized"),
                    "403": failure("Forbidden"),
                    "404": failure("NotFound"),
                    "413": failure("TooLarge")
                }
            }
        },
        "/api/pictures/{id}/annotations": {
            "parameters": picture_params(),
            "post": import()
        },
        "/api/pictures/{id}/annotations.jsonld": {
            "parameters": picture_params(),
            "get": {
                "operationId": "exportJsonLd",
                "tags": ["annotations"],
                "summary": "The annotations as a W3C AnnotationCollection, its first page inline; page=N for a page.",
                "description": "1,000 annotations a page. One annotation per shape targeting the IIIF image (rectangle: FragmentSelector xywh; polygon, polyline, freehand: SvgSelector path; circle: SvgSelector ellipse and path; marker, text: a 1-pixel xywh then a PointSelector), style as SVG attributes and a CssStylesheet; comment threads as TextualBody bodies and as reply annotations; hugepic:shape and hugepic:threads carry the exact entries. Any role that can view; open to every origin.",
                "security": optional_token(),
                "parameters": [param("Seq"), param("At"),
                    query("page", json!({"type": "integer", "minimum": 0}), "One page (from 0) instead of the collection.")],
                "responses": {
                    "200": {
                        "description": "The collection, or the page asked for.",
                        "content": {"application/ld+json": {"schema": {"oneOf": [schema("AnnotationCollection"), schema("AnnotationPage")]}}}
                    },
                    "400": failure("BadRequest"),
                    "401": failure("Unauthorized"),
                    "404": failure("NotFound")
                }
            }
        },
        "/api/pictures/{id}/annotations.csv": {
            "parameters": picture_params(),
            "get": {
                "operationId": "exportCsv",
                "tags": ["annotations"],
                "summary": "The comments as CSV, one row per message.",
                "description": "Columns thread_id, message_id, shape_id, shape_kind, x, y, width, height (the shape's bounding box or the pinned point, image pixels), author, author_id, time, text, resolved. Cells a spreadsheet would run as formulas get a leading '. Any role that can view.",
                "security": optional_token(),
                "parameters": moment(),
                "responses": {
                    "200": answer("The CSV.", "text/csv", json!({"type": "string"})),
                    "400": failure("BadRequest"),
                    "401": failure("Unauthorized"),
                    "404": failure("NotFound")
                }
            }
        }
    })
}

fn versions() -> Value {
    json!({
        "parameters": picture_params(),
        "get": {
            "operationId": "listVersions",
            "tags": ["history"],
            "summary": "Named versions, oldest moment first.",
            "security": optional_token(),
            "responses": {
                "200": json_answer("The versions.", schema("Versions")),
                "400": failure("BadRequest"),
                "401": failure("Unauthorized"),
                "404": failure("NotFound")
            }
        },
        "post": {
            "operationId": "createVersion",
            "tags": ["history"],
            "summary": "Name a moment (edit, owner); a checkpoint is kept at it.",
            "security": optional_token(),
            "requestBody": json_body(schema("NewVersion"), true),
            "responses": {
                "201": {
                    "description": "The version.",
                    "content": {"application/json": {"schema": schema("Version")}},
                    "links": {"RestoreVersion": {
                        "operationId": "restore",
                        "parameters": {"path.id": "$request.path.id"},
                        "requestBody": {"version": "$response.body#/id", "dry_run": true}
                    }}
                },
                "400": failure("BadRequest"),
                "401": failure("Unauthorized"),
                "403": failure("Forbidden"),
                "404": failure("NotFound"),
                "413": failure("TooLarge")
            }
        }
    })
}

fn import() -> Value {
    let example = json!({
        "type": "Annotation",
        "body": [{"type": "TextualBody", "purpose": "commenting", "value": "a closer look"}],
        "target": {"selector": {"type": "FragmentSelector", "conformsTo": "http://www.w3.org/TR/media-frags/", "value": "xywh=pixel:2,3,10,8"}}
    });
    json!({
        "operationId": "importAnnotations",
        "tags": ["annotations"],
        "summary": "Import annotations (edit, owner), as ONE document update.",
        "description": "A W3C Annotation, AnnotationPage or AnnotationCollection (first page inline), an array of annotations (Annotorious v2/v3 exports), or a IIIF AnnotationPage (Mirador). Selectors: FragmentSelector xywh (pixel or percent), SvgSelector (polygon, polyline, path, ellipse, circle, rect, line), PointSelector; bodies become a comment thread, a describing body on a point a text label. Our own export comes back exactly (hugepic:shape, hugepic:threads). One history entry, delivered live.",
        "security": optional_token(),
        "parameters": [
            query("dry_run", json!({"type": "boolean"}), "Only answer what would be made."),
            query("author", json!({"type": "string"}), "Who imports (for the history)."),
            query("author_id", json!({"type": "string"}), "Their author id."),
            query("color", json!({"type": "string"}), "Their colour.")
        ],
        "requestBody": {
            "required": true,
            "content": {"application/json": {"schema": schema("AnnotationImport"), "example": example}}
        },
        "responses": {
            "201": {
                "description": "Imported.",
                "headers": {"History-Seq": {"required": true, "schema": {"type": "integer", "minimum": 1}}},
                "content": {"application/json": {"schema": schema("Imported")}},
                "links": {"ShapeHistory": {
                    "operationId": "getShapeHistory",
                    "parameters": {"path.id": "$request.path.id", "path.shape_id": "$response.body#/annotations/0/shape_id"}
                }}
            },
            "200": json_answer("A dry run, or nothing to import.", schema("Imported")),
            "400": failure("BadRequest"),
            "401": failure("Unauthorized"),
            "403": failure("Forbidden"),
            "404": failure("NotFound"),
            "413": failure("TooLarge"),
            "429": failure("TooManyRequests")
        }
    })
}
