//! The paths of pictures (`routes::pictures`, `routes::events`) and of tus uploads
//! (`routes::uploads`), with the links a stateful client follows from a new picture or
//! upload to the operations on it.

use serde_json::{json, Value};

use super::components::{
    answer, failure, json_answer, json_body, optional_token, param, picture_params, query,
};
use super::schemas::schema;

/// Links from an answer naming a picture (`id`) and its owner token to what it allows.
fn picture_links(id: &str, token: &str) -> Value {
    let to = |operation: &str| json!({"operationId": operation, "parameters": {"path.id": id, "query.token": token}});
    json!({
        "GetPicture": to("getPicture"),
        "UpdatePicture": to("updatePicture"),
        "ReplaceLinks": to("replaceLinks"),
        "PictureEvents": to("pictureEvents"),
        "Activity": to("getActivity"),
        "Versions": to("listVersions"),
        "NewVersion": to("createVersion"),
        "Restore": to("restore"),
        "ImportAnnotations": to("importAnnotations"),
        "ExportJsonLd": to("exportJsonLd"),
        "DeletePicture": to("deletePicture")
    })
}

/// `/api/pictures…` and `/api/uploads…`.
pub fn paths() -> Value {
    json!({
        "/api/pictures": {
            "get": list(),
            "post": create()
        },
        "/api/pictures/{id}": {
            "parameters": picture_params(),
            "get": {
                "operationId": "getPicture",
                "tags": ["pictures"],
                "summary": "One picture, and the caller's role.",
                "security": optional_token(),
                "responses": {
                    "200": json_answer("The picture and `role`.", schema("PictureWithRole")),
                    "400": failure("BadRequest"),
                    "401": failure("Unauthorized"),
                    "404": failure("NotFound")
                }
            },
            "patch": {
                "operationId": "updatePicture",
                "tags": ["pictures"],
                "summary": "Edit title and description (owner).",
                "description": "The owner is checked before the body is read. A field left out or null stays as it is.",
                "security": optional_token(),
                "requestBody": json_body(schema("PictureEdit"), true),
                "responses": {
                    "200": json_answer("The picture as it is now, and `role`.", schema("PictureWithRole")),
                    "400": failure("BadRequest"),
                    "401": failure("Unauthorized"),
                    "403": failure("Forbidden"),
                    "404": failure("NotFound"),
                    "413": failure("TooLarge")
                }
            },
            "delete": {
                "operationId": "deletePicture",
                "tags": ["pictures"],
                "summary": "Delete the picture and its stored objects (owner).",
                "security": optional_token(),
                "responses": {
                    "204": {"description": "Deleted; its tiles stop being served at once."},
                    "400": failure("BadRequest"),
                    "401": failure("Unauthorized"),
                    "403": failure("Forbidden"),
                    "404": failure("NotFound")
                }
            }
        },
        "/api/pictures/{id}/links": {
            "parameters": picture_params(),
            "post": {
                "operationId": "replaceLinks",
                "tags": ["pictures"],
                "summary": "New share links for edit, comment and view; the old ones stop working (owner).",
                "security": optional_token(),
                "responses": {
                    "200": json_answer("The new tokens and links.", schema("NewLinks")),
                    "400": failure("BadRequest"),
                    "401": failure("Unauthorized"),
                    "403": failure("Forbidden"),
                    "404": failure("NotFound"),
                    "429": failure("TooManyRequests")
                }
            }
        },
        "/api/pictures/{id}/events": {
            "parameters": picture_params(),
            "get": {
                "operationId": "pictureEvents",
                "tags": ["pictures"],
                "summary": "Server-Sent Events of the picture's pipeline.",
                "description": "Events `progress` with data {status, stage, done, total, error?}: the current state first, then each change; the stream ends once the picture is ready or failed.",
                "security": optional_token(),
                "responses": {
                    "200": answer("The event stream.", "text/event-stream", schema("ProgressEvent")),
                    "400": failure("BadRequest"),
                    "401": failure("Unauthorized"),
                    "404": failure("NotFound")
                }
            }
        },
        "/api/uploads": {
            "options": {
                "operationId": "tusOptions",
                "tags": ["uploads"],
                "summary": "tus 1.0.0 capabilities.",
                "responses": {
                    "204": {
                        "description": "What this server supports.",
                        "headers": {
                            "Tus-Resumable": {"required": true, "schema": {"const": "1.0.0"}},
                            "Tus-Version": {"required": true, "schema": {"type": "string"}},
                            "Tus-Extension": {"required": true, "schema": {"type": "string"}},
                            "Tus-Max-Size": {"required": true, "schema": {"type": "integer", "minimum": 0}}
                        }
                    }
                }
            },
            "post": upload_create()
        },
        "/api/uploads/{id}": upload()
    })
}

fn list() -> Value {
    json!({
        "operationId": "listPictures",
        "tags": ["pictures"],
        "summary": "Gallery: ready public pictures, newest first.",
        "parameters": [
            query("page", json!({"type": "integer", "minimum": 0, "maximum": u32::MAX}), "Page number from 1 (0 is read as 1)."),
            query("per_page", json!({"type": "integer", "minimum": 0, "maximum": u32::MAX}), "Pictures a page, 1 to 100 (others are clamped); default 24.")
        ],
        "responses": {
            "200": json_answer("A page of the gallery.", schema("Gallery")),
            "400": failure("BadRequest")
        }
    })
}

fn create() -> Value {
    json!({
        "operationId": "createPicture",
        "tags": ["pictures"],
        "summary": "Upload a picture (multipart), or import one by URL (JSON).",
        "description": "Answers the picture with its tokens and share links, shown only here. An import's download is the first stage of its job; the URL is checked first (http or https, a public host, a picture).",
        "requestBody": {
            "required": true,
            "content": {
                "multipart/form-data": {"schema": schema("Upload")},
                "application/json": {"schema": schema("ImportByUrl")}
            }
        },
        "responses": {
            "202": {
                "description": "Queued for tiling.",
                "content": {"application/json": {"schema": schema("NewPicture")}},
                "links": picture_links("$response.body#/id", "$response.body#/tokens/owner")
            },
            "400": failure("BadRequest"),
            "413": failure("TooLarge"),
            "415": failure("UnsupportedMediaType"),
            "429": failure("TooManyRequests"),
            "503": failure("Unavailable")
        }
    })
}

/// `Upload-Metadata` as tus writes it: keys, each with an optional base64 value.
const METADATA: &str = concat!(
    r"^([A-Za-z0-9_.-]+( (?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?)?",
    r"(,[A-Za-z0-9_.-]+( (?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?)?)*)?$"
);

fn upload_create() -> Value {
    let upload_id = "$response.header.Location#regex:/api/uploads/([^/?#]+)";
    let to = |operation: &str| {
        json!({"operationId": operation, "parameters": {
            "path.id": upload_id,
            "query.token": "$response.header.Picture-Owner-Token"
        }})
    };
    json!({
        "operationId": "tusCreate",
        "tags": ["uploads"],
        "summary": "tus creation, and creation-with-upload.",
        "description": "Upload-Metadata keys `filename` (or `name`) and `title` name the picture. Bytes sent along are appended at once.",
        "parameters": [
            param("TusResumable"),
            {"name": "Upload-Length", "in": "header", "required": true,
             "schema": {"type": "integer", "minimum": 1}, "description": "The file's size, bytes; at most the upload limit."},
            {"name": "Upload-Metadata", "in": "header", "required": false,
             "schema": {"type": "string", "pattern": METADATA},
             "description": "tus metadata: `key base64value` pairs (the value may be left out), comma-separated."}
        ],
        "requestBody": {
            "required": false,
            "content": {"application/offset+octet-stream": {"schema": {"type": "string", "format": "binary"}}}
        },
        "responses": {
            "201": {
                "description": "Created.",
                "headers": {
                    "Location": {"required": true, "schema": {"type": "string"}},
                    "Tus-Resumable": {"required": true, "schema": {"const": "1.0.0"}},
                    "Upload-Expires": {"required": true, "schema": {"type": "string"}},
                    "Picture-Owner-Token": {"required": true, "schema": {"type": "string"},
                                            "description": "The owner token of the picture it becomes."},
                    "Upload-Offset": {"schema": {"type": "integer", "minimum": 0}, "description": "With bytes sent along."},
                    "Picture-Id": {"schema": {"type": "string"}, "description": "When the bytes sent along completed it."}
                },
                "links": {
                    "HeadUpload": to("tusHead"),
                    "PatchUpload": to("tusPatch"),
                    "DeleteUpload": to("tusDelete")
                }
            },
            "400": failure("BadRequest"),
            "412": failure("PreconditionFailed"),
            "413": failure("TooLarge"),
            "415": failure("UnsupportedMediaType"),
            "429": failure("TooManyRequests"),
            "503": failure("Unavailable"),
            "507": failure("InsufficientStorage")
        }
    })
}

fn upload() -> Value {
    let upload_id = json!({"name": "id", "in": "path", "required": true,
                           "schema": {"type": "string", "minLength": 1}, "description": "The upload's id (its Location)."});
    let no_body = |description: &str| json!({"description": description});
    json!({
        "parameters": [
            upload_id,
            param("TusResumable"),
            query("token", json!({"type": "string"}), "The upload's owner token (the creation's Location carries it), unless sent as Authorization: Bearer.")
        ],
        "head": {
            "operationId": "tusHead",
            "tags": ["uploads"],
            "summary": "How far the upload got; `Picture-Id` once complete.",
            "responses": {
                "200": {
                    "description": "Its offset.",
                    "headers": {
                        "Upload-Offset": {"required": true, "schema": {"type": "integer", "minimum": 0}},
                        "Upload-Length": {"required": true, "schema": {"type": "integer", "minimum": 1}},
                        "Picture-Id": {"schema": {"type": "string"}, "description": "Once complete."},
                        "Upload-Expires": {"schema": {"type": "string"}, "description": "Until complete."}
                    }
                },
                "400": no_body("Malformed id (HEAD answers carry no body)."),
                "401": no_body("No owner token."),
                "403": no_body("Not this upload's owner token."),
                "404": no_body("No such upload."),
                "410": no_body("Expired."),
                "412": no_body("Tus-Resumable missing or not 1.0.0.")
            }
        },
        "patch": {
            "operationId": "tusPatch",
            "tags": ["uploads"],
            "summary": "Append bytes at Upload-Offset; `Picture-Id` when the last byte arrives.",
            "parameters": [
                {"name": "Upload-Offset", "in": "header", "required": true,
                 "schema": {"type": "integer", "minimum": 0}, "description": "Where the bytes go: the offset the server has."}
            ],
            "requestBody": {
                "required": true,
                "content": {"application/offset+octet-stream": {"schema": {"type": "string", "format": "binary"}}}
            },
            "responses": {
                "204": {
                    "description": "Appended.",
                    "headers": {
                        "Upload-Offset": {"required": true, "schema": {"type": "integer", "minimum": 0}},
                        "Picture-Id": {"schema": {"type": "string"}, "description": "When this completed it."}
                    }
                },
                "400": failure("BadRequest"),
                "401": failure("Unauthorized"),
                "403": failure("Forbidden"),
                "404": failure("NotFound"),
                "409": failure("Conflict"),
                "410": failure("Gone"),
                "412": failure("PreconditionFailed"),
                "413": failure("TooLarge"),
                "415": failure("UnsupportedMediaType"),
                "503": failure("Unavailable")
            }
        },
        "delete": {
            "operationId": "tusDelete",
            "tags": ["uploads"],
            "summary": "tus termination.",
            "responses": {
                "204": no_body("Removed."),
                "400": failure("BadRequest"),
                "401": failure("Unauthorized"),
                "403": failure("Forbidden"),
                "404": failure("NotFound"),
                "409": failure("Conflict"),
                "412": failure("PreconditionFailed")
            }
        }
    })
}
