//! What operations share (`components.parameters`, `components.responses`, the Bearer
//! security scheme) and the small builders the path modules write operations with.

use serde_json::{json, Value};

use super::schemas::schema;

/// `{"$ref": "#/components/parameters/NAME"}`.
pub fn param(name: &str) -> Value {
    json!({ "$ref": format!("#/components/parameters/{name}") })
}

/// `{"$ref": "#/components/responses/NAME"}`: an error answer.
pub fn failure(name: &str) -> Value {
    json!({ "$ref": format!("#/components/responses/{name}") })
}

/// A query parameter.
pub fn query(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description})
}

/// A required path parameter.
pub fn path(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": schema, "description": description})
}

/// A JSON answer of `schema`.
pub fn json_answer(description: &str, schema: Value) -> Value {
    answer(description, "application/json", schema)
}

/// An answer of one media type.
pub fn answer(description: &str, media_type: &str, schema: Value) -> Value {
    json!({"description": description, "content": {media_type: {"schema": schema}}})
}

/// A JSON request body of `schema`.
pub fn json_body(schema: Value, required: bool) -> Value {
    json!({"required": required, "content": {"application/json": {"schema": schema}}})
}

/// Operations on one picture take its token as a Bearer header, or as `?token=`
/// (links opened in a browser); without one the picture's default role applies.
pub fn optional_token() -> Value {
    json!([{}, {"bearer": []}])
}

/// The picture's id and the token, which every operation on one picture takes.
pub fn picture_params() -> Vec<Value> {
    vec![param("PictureId"), param("Token")]
}

/// `components` but the schemas.
pub fn shared() -> Value {
    let error = |description: &str| json_answer(description, schema("Error"));
    let seq = json!({"type": "integer", "minimum": 0, "maximum": i64::MAX});
    json!({
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "A picture's capability token (owner, edit, comment or view), or the /metrics token."
            }
        },
        "parameters": {
            "PictureId": path("id", json!({"type": "string", "minLength": 1}), "The picture's id."),
            "Token": query("token", json!({"type": "string"}),
                "A capability token, for links opened in a browser; Authorization: Bearer wins over it."),
            "Seq": query("seq", seq, "A moment of the annotation history by seq (0: the empty document); at most the latest. Not with `at`."),
            "At": query("at", json!({"type": "string", "format": "date-time"}),
                "A moment of the annotation history by time (RFC 3339). Not with `seq`."),
            "TusResumable": {
                "name": "Tus-Resumable", "in": "header", "required": true,
                "schema": {"type": "string", "enum": ["1.0.0"]},
                "description": "The tus version; 412 without it."
            }
        },
        "responses": {
            "BadRequest": error("Malformed: the detail says what."),
            "Unauthorized": error("A token that is not this picture's, or none where one is needed."),
            "Forbidden": error("The token's role does not allow this."),
            "NotFound": error("No such picture (or upload, version, shape, page, tile); without a token, an unlisted picture is not found either."),
            "Conflict": error("Conflicts with the upload's state (offset, another writer, complete)."),
            "Gone": error("The upload expired."),
            "PreconditionFailed": {
                "description": "Tus-Resumable missing or not 1.0.0.",
                "headers": {"Tus-Version": {"schema": {"type": "string"}}},
                "content": {"application/json": {"schema": schema("Error")}}
            },
            "TooLarge": error("Over a configured size limit."),
            "UnsupportedMediaType": error("Wrong Content-Type, or not a picture."),
            "TooManyRequests": {
                "description": "Too many writes from this address (HUGEPIC_WRITES_PER_MINUTE), or too many unfinished uploads (HUGEPIC_MAX_UNFINISHED_*); loopback is not limited.",
                "headers": {"Retry-After": {"required": true, "schema": {"type": "integer", "minimum": 1}}},
                "content": {"application/json": {"schema": schema("Error")}}
            },
            "InsufficientStorage": error("The disk cannot hold what the unfinished uploads declared plus this one and the margin."),
            "Unavailable": error("The object store did not answer; try again.")
        }
    })
}
