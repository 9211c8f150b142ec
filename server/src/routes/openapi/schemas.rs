//! The JSON schemas of the API's bodies (`components.schemas`): what the handlers read
//! and write, as `routes/*.rs` build it. Objects list the fields they always carry as
//! required and stay open to new ones.

use serde_json::{json, Value};

/// `{"$ref": "#/components/schemas/NAME"}`.
pub fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn nullable(kind: &str) -> Value {
    json!({ "type": [kind, "null"] })
}

fn count() -> Value {
    json!({"type": "integer", "minimum": 0})
}

/// A seq of the annotation history: 0 is the empty document.
fn seq() -> Value {
    json!({"type": "integer", "minimum": 0})
}

/// Times the history writes: UTC, microseconds (`2026-11-29T20:03:55.123456Z`).
fn time() -> Value {
    json!({"type": "string", "format": "date-time"})
}

/// Every schema of `components.schemas`.
pub fn all() -> Value {
    let mut schemas = serde_json::Map::new();
    for part in [pictures(), history(), annotations(), service()] {
        if let Value::Object(part) = part {
            schemas.extend(part);
        }
    }
    Value::Object(schemas)
}

fn pictures() -> Value {
    let per_role = |roles: &[&str], what: &str| {
        let properties: serde_json::Map<String, Value> = roles
            .iter()
            .map(|r| {
                (
                    r.to_string(),
                    json!({"type": "string", "description": what}),
                )
            })
            .collect();
        json!({"type": "object", "required": roles, "properties": properties})
    };
    let all_roles = ["owner", "edit", "comment", "view"];
    let shared_roles = ["edit", "comment", "view"];
    json!({
        "Error": {
            "type": "object",
            "description": "Every 4xx and 5xx answer with a body. 5xx details are generic; the cause is logged.",
            "required": ["error", "detail"],
            "properties": {
                "error": {"type": "string", "enum": [
                    "bad_request", "unauthorized", "forbidden", "not_found", "conflict", "gone",
                    "precondition_failed", "too_large", "unsupported_media_type",
                    "too_many_requests", "unavailable", "internal"
                ]},
                "detail": {"type": "string", "description": "What was wrong, for people."}
            },
            "additionalProperties": false
        },
        "Status": {
            "type": "string",
            "enum": ["queued", "tiling", "publishing", "ready", "failed"],
            "description": "queued → tiling → publishing → ready, or failed (`error` says why)."
        },
        "Role": {"type": "string", "enum": ["owner", "edit", "comment", "view"]},
        "Visibility": {
            "type": "string",
            "enum": ["unlisted", "public"],
            "description": "unlisted: only its links open it (404 without a token); public: in the gallery, open to anyone."
        },
        "Picture": {
            "type": "object",
            "required": ["id", "status", "title", "description", "width", "height", "error",
                         "created_at", "visibility", "tile_format", "progress", "tiles", "thumbnail"],
            "properties": {
                "id": {"type": "string"},
                "status": schema("Status"),
                "title": {"type": "string", "maxLength": 300},
                "description": {"type": "string"},
                "width": {"type": ["integer", "null"], "minimum": 0, "description": "Pixels, once known."},
                "height": {"type": ["integer", "null"], "minimum": 0, "description": "Pixels, once known."},
                "error": {"type": ["string", "null"], "description": "Why it failed."},
                "created_at": {"type": "string", "format": "date-time"},
                "visibility": schema("Visibility"),
                "tile_format": {"type": ["string", "null"], "enum": ["jpg", "png", "webp", null], "description": "Once tiled."},
                "progress": {
                    "type": "object",
                    "required": ["stage", "done", "total"],
                    "properties": {"stage": nullable("string"), "done": count(), "total": count()}
                },
                "tiles": {
                    "type": "object",
                    "required": ["dzi", "iiif"],
                    "properties": {
                        "dzi": {"type": "string", "description": "The DeepZoom descriptor's URL."},
                        "iiif": {"type": "string", "description": "The IIIF info.json's URL."}
                    }
                },
                "thumbnail": {"type": "string"}
            }
        },
        "PictureWithRole": {
            "allOf": [schema("Picture"), {
                "type": "object",
                "required": ["role"],
                "properties": {"role": schema("Role")}
            }]
        },
        "NewPicture": {
            "description": "The picture with its secrets, shown once.",
            "allOf": [schema("Picture"), {
                "type": "object",
                "required": ["tokens", "links"],
                "properties": {
                    "tokens": per_role(&all_roles, "Capability token (send as Authorization: Bearer)."),
                    "links": per_role(&all_roles, "Share link: the viewer with the token.")
                }
            }]
        },
        "Gallery": {
            "type": "object",
            "required": ["pictures", "page", "per_page", "total"],
            "properties": {
                "pictures": {"type": "array", "items": schema("Picture")},
                "page": {"type": "integer", "minimum": 1},
                "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
                "total": count()
            }
        },
        "PictureEdit": {
            "type": "object",
            "properties": {
                "title": {"type": ["string", "null"], "maxLength": 300},
                "description": {"type": ["string", "null"], "maxLength": 10000},
                "visibility": {"type": ["string", "null"], "enum": ["unlisted", "public", null]}
            }
        },
        "ImportByUrl": {
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {"type": "string", "description": "An http or https URL of a picture on a public host."},
                "title": {"type": ["string", "null"]}
            }
        },
        "Upload": {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {"type": "string", "format": "binary", "description": "The picture."},
                "title": {"type": "string", "description": "Default: the file's name."}
            }
        },
        "Progress": {
            "type": "object",
            "description": "An event `progress` of a picture's pipeline.",
            "required": ["status", "stage", "done", "total"],
            "properties": {
                "status": schema("Status"),
                "stage": {"type": "string", "description": "queued, downloading, decoding, tiling, … (or the status)."},
                "done": count(),
                "total": count(),
                "error": {"type": "string", "description": "Why it failed."}
            }
        },
        "ProgressEvent": {
            "type": "object",
            "description": "One Server-Sent Event.",
            "required": ["event", "data"],
            "properties": {
                "event": {"const": "progress"},
                "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": schema("Progress")}
            }
        },
        "NewLinks": {
            "type": "object",
            "required": ["tokens", "links"],
            "properties": {
                "tokens": per_role(&shared_roles, "Capability token."),
                "links": per_role(&shared_roles, "Share link.")
            }
        }
    })
}

fn history() -> Value {
    json!({
        "Author": {
            "type": "object",
            "description": "Who, as the browser said (there are no accounts).",
            "required": ["id", "name", "color"],
            "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "color": {"type": "string"}}
        },
        "AuthorInput": {
            "type": ["object", "null"],
            "description": "Who; missing fields are empty, a missing name names the link's role.",
            "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "color": {"type": "string"}}
        },
        "Counts": {
            "type": "object",
            "required": ["shapes_added", "shapes_changed", "shapes_deleted", "comments"],
            "properties": {
                "shapes_added": count(), "shapes_changed": count(),
                "shapes_deleted": count(), "comments": count()
            }
        },
        "RestoreMark": {
            "type": ["object", "null"],
            "description": "Set when the change was a restore.",
            "required": ["to_seq"],
            "properties": {"to_seq": seq()}
        },
        "ActivityEntry": {
            "type": "object",
            "required": ["from_seq", "to_seq", "from", "to", "author", "updates", "counts", "shape_ids", "restore"],
            "properties": {
                "from_seq": seq(), "to_seq": seq(), "from": time(), "to": time(),
                "author": schema("Author"),
                "updates": count(),
                "counts": schema("Counts"),
                "shape_ids": {"type": "array", "items": {"type": "string"}, "maxItems": 200},
                "restore": schema("RestoreMark")
            }
        },
        "Activity": {
            "type": "object",
            "required": ["entries", "next_before", "first_seq", "latest_seq", "first_at", "latest_at", "authors"],
            "properties": {
                "entries": {"type": "array", "items": schema("ActivityEntry")},
                "next_before": {"type": ["integer", "null"], "minimum": 0, "description": "`before` of the next page; null on the last."},
                "first_seq": seq(), "latest_seq": seq(),
                "first_at": {"type": ["string", "null"], "format": "date-time"},
                "latest_at": {"type": ["string", "null"], "format": "date-time"},
                "authors": {"type": "array", "items": {"allOf": [schema("Author"), {
                    "type": "object", "required": ["updates"], "properties": {"updates": count()}
                }]}}
            }
        },
        "Document": {
            "type": "object",
            "description": "The annotation document, the same shape as the Y.Doc (DESIGN.md).",
            "required": ["shapes", "comments"],
            "properties": {
                "shapes": {"type": "object", "additionalProperties": {"type": "object"}},
                "comments": {"type": "object", "additionalProperties": {"type": "object"}}
            }
        },
        "ShapeChange": {
            "type": "object",
            "required": ["seq", "at", "author", "kind", "fields", "before", "after", "restore"],
            "properties": {
                "seq": seq(), "at": time(), "author": schema("Author"),
                "kind": {"type": "string", "enum": ["created", "changed", "deleted"]},
                "fields": {"type": "array", "items": {"type": "string"}},
                "before": nullable("object"), "after": nullable("object"),
                "restore": schema("RestoreMark")
            }
        },
        "ShapeHistory": {
            "type": "object",
            "required": ["shape_id", "changes", "deleted_at"],
            "properties": {
                "shape_id": {"type": "string"},
                "changes": {"type": "array", "items": schema("ShapeChange")},
                "deleted_at": {"type": ["string", "null"], "format": "date-time"}
            }
        },
        "Version": {
            "type": "object",
            "required": ["id", "name", "seq", "at", "created_at", "author"],
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string", "minLength": 1, "maxLength": 200},
                "seq": seq(),
                "at": {"type": ["string", "null"], "format": "date-time", "description": "When its last update was made; null at seq 0."},
                "created_at": time(),
                "author": schema("Author")
            }
        },
        "Versions": {
            "type": "object",
            "required": ["versions"],
            "properties": {"versions": {"type": "array", "items": schema("Version")}}
        },
        "NewVersion": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S",
                         "description": "1 to 200 characters once trimmed."},
                "seq": {"type": ["integer", "null"], "minimum": 0, "description": "Default: now. At most the latest seq."},
                "author": schema("AuthorInput")
            }
        },
        "Restore": {
            "type": "object",
            "description": "Exactly one of seq, at or version names the moment.",
            "properties": {
                "seq": {"type": ["integer", "null"], "minimum": 0, "description": "At most the latest seq."},
                "at": {"type": ["string", "null"], "format": "date-time"},
                "version": {"type": ["string", "null"], "description": "A version's id."},
                "shape_ids": {"type": ["array", "null"], "items": {"type": "string"}, "maxItems": 10000,
                              "description": "Only these shapes and their threads."},
                "dry_run": {"type": "boolean", "default": false},
                "author": schema("AuthorInput")
            },
            "oneOf": [
                {"required": ["seq"], "properties": {"seq": {"type": "integer"}, "at": {"type": "null"}, "version": {"type": "null"}}},
                {"required": ["at"], "properties": {"at": {"type": "string"}, "seq": {"type": "null"}, "version": {"type": "null"}}},
                {"required": ["version"], "properties": {"version": {"type": "string"}, "seq": {"type": "null"}, "at": {"type": "null"}}}
            ]
        },
        "Restored": {
            "type": "object",
            "required": ["restored_to", "dry_run", "seq", "counts", "shape_ids"],
            "properties": {
                "restored_to": seq(),
                "dry_run": {"type": "boolean"},
                "seq": {"type": ["integer", "null"], "minimum": 0, "description": "The new update's; null when nothing changed or on a dry run."},
                "counts": schema("Counts"),
                "shape_ids": {"type": "array", "items": {"type": "string"}}
            }
        }
    })
}

fn annotations() -> Value {
    let typed = |kind: &str, description: &str| {
        json!({
            "type": "object",
            "description": description,
            "required": ["@context", "id", "type"],
            "properties": {"id": {"type": "string"}, "type": {"const": kind}}
        })
    };
    json!({
        "W3cAnnotation": {
            "type": "object",
            "description": "A W3C Web Annotation (or an Annotorious export's entry).",
            "properties": {
                "id": {"type": "string"},
                "type": {"const": "Annotation"},
                "motivation": {"type": "string"},
                "body": {},
                "target": {}
            }
        },
        "AnnotationImport": {
            "description": "A W3C Annotation, AnnotationPage or AnnotationCollection (first page inline), an array of annotations, or a IIIF AnnotationPage.",
            "oneOf": [
                {"type": "array", "items": schema("W3cAnnotation")},
                {"allOf": [schema("W3cAnnotation"), {"required": ["type"]}]},
                {"type": "object", "required": ["type", "items"], "properties": {
                    "type": {"enum": ["AnnotationPage", "AnnotationCollection"]},
                    "items": {"type": "array", "items": schema("W3cAnnotation")}
                }}
            ]
        },
        "Imported": {
            "type": "object",
            "required": ["dry_run", "seq", "created", "annotations", "skipped"],
            "properties": {
                "dry_run": {"type": "boolean"},
                "seq": {"type": ["integer", "null"], "minimum": 0},
                "created": {
                    "type": "object",
                    "required": ["shapes", "threads", "messages"],
                    "properties": {"shapes": count(), "threads": count(), "messages": count()}
                },
                "annotations": {"type": "array", "items": {
                    "type": "object",
                    "required": ["id", "shape_id", "thread_ids"],
                    "properties": {
                        "id": {"type": "string"},
                        "shape_id": nullable("string"),
                        "thread_ids": {"type": "array", "items": {"type": "string"}}
                    }
                }},
                "skipped": {"type": "array", "items": {
                    "type": "object",
                    "required": ["id", "reason"],
                    "properties": {"id": {"type": "string"}, "reason": {"type": "string"}}
                }}
            }
        },
        "AnnotationCollection": typed("AnnotationCollection", "W3C AnnotationCollection, its first page inline."),
        "AnnotationPage": typed("AnnotationPage", "W3C or IIIF AnnotationPage."),
        "Manifest": typed("Manifest", "IIIF Presentation 3 Manifest."),
        "ImageInfo": {
            "type": "object",
            "description": "IIIF Image API 3.0 level 0 image information.",
            "required": ["@context", "id", "type", "protocol", "profile", "width", "height"],
            "properties": {
                "id": {"type": "string"},
                "type": {"const": "ImageService3"},
                "profile": {"const": "level0"},
                "width": {"type": "integer", "minimum": 1},
                "height": {"type": "integer", "minimum": 1}
            }
        }
    })
}

fn service() -> Value {
    json!({
        "Readiness": {
            "type": "object",
            "description": "\"ok\", or what failed, per dependency; redis only when configured.",
            "required": ["database", "storage"],
            "properties": {
                "database": {"type": "string"},
                "storage": {"type": "string"},
                "redis": {"type": "string"}
            }
        }
    })
}
