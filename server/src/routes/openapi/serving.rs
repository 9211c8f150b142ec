//! The paths of tiles and IIIF (`routes::tiles`, `routes::annotations` for the
//! manifest and page) and of the service itself (`routes::health`, this description).

use serde_json::{json, Value};

use super::components::{answer, failure, json_answer, optional_token, param, path};
use super::schemas::schema;

/// An immutable pyramid object: 200 with its validators, or 304 for the ETag held.
fn tile_answers(description: &str, media_types: &[&str]) -> Value {
    let headers = json!({
        "ETag": {"required": true, "schema": {"type": "string"}},
        "Cache-Control": {"required": true, "schema": {"const": "public, max-age=31536000, immutable"}}
    });
    let content: serde_json::Map<String, Value> = media_types
        .iter()
        .map(|m| {
            (
                m.to_string(),
                json!({"schema": {"type": "string", "format": "binary"}}),
            )
        })
        .collect();
    json!({
        "200": {"description": description, "headers": headers, "content": content},
        "304": {"description": "The client holds it (If-None-Match).", "headers": headers},
        "400": failure("BadRequest"),
        "404": failure("NotFound"),
        "503": failure("Unavailable")
    })
}

fn if_none_match() -> Value {
    json!({"name": "If-None-Match", "in": "header", "required": false, "schema": {"type": "string"}})
}

fn shared_json(operation: &str, summary: &str, description: &str, body: Value) -> Value {
    json!({
        "operationId": operation,
        "tags": ["iiif"],
        "summary": summary,
        "description": description,
        "security": optional_token(),
        "parameters": [param("PictureId"), param("Token")],
        "responses": {
            "200": answer("Open to every origin.", "application/ld+json", body),
            "400": failure("BadRequest"),
            "401": failure("Unauthorized"),
            "404": failure("NotFound")
        }
    })
}

/// `/tiles…`, `/iiif…`, health, metrics and `/api/openapi.json`.
pub fn paths() -> Value {
    let level = |name: &str| {
        path(
            name,
            json!({"type": "integer", "minimum": 0}),
            "Level (0: 1×1 pixel), column and row of the tile.",
        )
    };
    let mut iiif_page = shared_json(
        "iiifAnnotations",
        "The canvas's annotations as a IIIF AnnotationPage.",
        "As annotations.jsonld, targeting the canvas; replies as bodies only. Open to every origin.",
        schema("AnnotationPage"),
    );
    if let Some(Value::Array(params)) = iiif_page.get_mut("parameters") {
        params.extend([param("Seq"), param("At")]);
    }
    json!({
        "/tiles/{id}/image.dzi": {
            "get": {
                "operationId": "dziDescriptor",
                "tags": ["tiles"],
                "summary": "DeepZoom descriptor.",
                "parameters": [param("PictureId"), if_none_match()],
                "responses": tile_answers("The descriptor.", &["application/xml"])
            }
        },
        "/tiles/{id}/image_files/{level}/{col}_{row}.{format}": {
            "get": {
                "operationId": "dziTile",
                "tags": ["tiles"],
                "summary": "A DeepZoom tile.",
                "parameters": [param("PictureId"), level("level"), level("col"), level("row"),
                    path("format", json!({"type": "string", "enum": ["jpg", "png", "webp"]}), "The picture's tile_format."),
                    if_none_match()],
                "responses": tile_answers("The tile.", &["image/jpeg", "image/png", "image/webp"])
            }
        },
        "/iiif/{id}/info.json": {
            "get": {
                "operationId": "iiifInfo",
                "tags": ["iiif"],
                "summary": "IIIF Image API 3.0 level 0 image information; its id fits the request.",
                "parameters": [param("PictureId")],
                "responses": {
                    "200": answer("Open to every origin.", "application/ld+json", schema("ImageInfo")),
                    "400": failure("BadRequest"),
                    "404": failure("NotFound"),
                    "503": failure("Unavailable")
                }
            }
        },
        "/iiif/{id}/{region}/{size}/0/default.{format}": {
            "get": {
                "operationId": "iiifImage",
                "tags": ["iiif"],
                "summary": "A tile or size that info.json declares (level 0: only those).",
                "parameters": [param("PictureId"),
                    path("region", json!({"type": "string", "minLength": 1}), "`full` or `x,y,w,h`."),
                    path("size", json!({"type": "string", "minLength": 1}), "`w,h` or `max`."),
                    path("format", json!({"type": "string", "enum": ["jpg", "png", "webp"]}), "The picture's tile_format."),
                    if_none_match()],
                "responses": tile_answers("The image.", &["image/jpeg", "image/png", "image/webp"])
            }
        },
        "/iiif/{id}/manifest.json": {
            "get": shared_json(
                "iiifManifest",
                "IIIF Presentation 3 Manifest.",
                "One Canvas the size of the picture, painted by the level-0 ImageService3 at /iiif/{id}; its annotations on the AnnotationPage /iiif/{id}/annotations.json. 404 until the picture is tiled. Open to every origin (Mirador, Universal Viewer).",
                schema("Manifest"),
            )
        },
        "/iiif/{id}/annotations.json": {
            "get": iiif_page
        },
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "tags": ["service"],
                "summary": "Liveness.",
                "responses": {"200": answer("The process answers.", "text/plain", json!({"const": "ok"}))}
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "tags": ["service"],
                "summary": "Readiness: database, storage and (when configured) Redis.",
                "responses": {
                    "200": json_answer("Ready.", schema("Readiness")),
                    "503": json_answer("Not ready: what failed.", schema("Readiness"))
                }
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "tags": ["service"],
                "summary": "Prometheus metrics.",
                "description": "With HUGEPIC_METRICS_TOKEN set, only with that token as Bearer; without, to loopback clients only.",
                "security": [{}, {"bearer": []}],
                "responses": {
                    "200": answer("Prometheus text format 0.0.4.", "text/plain", json!({"type": "string"})),
                    "401": failure("Unauthorized")
                }
            }
        },
        "/api/openapi.json": {
            "get": {
                "operationId": "openapi",
                "tags": ["service"],
                "summary": "This description.",
                "responses": {"200": json_answer("OpenAPI 3.1.", json!({"type": "object", "required": ["openapi", "paths"]}))}
            }
        }
    })
}
