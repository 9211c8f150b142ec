//! The whole description: info, paths from each group, components; and its handler.

use axum::Json;
use serde_json::{json, Value};

use super::{components, history, pictures, schemas, serving};

/// The API description (OpenAPI 3.1).
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for group in [pictures::paths(), history::paths(), serving::paths()] {
        if let Value::Object(group) = group {
            paths.extend(group);
        }
    }
    let mut components = components::shared();
    components["schemas"] = schemas::all();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "HUGEpic",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Massive pictures as maps, annotated together. Errors are {\"error\", \"detail\"}. A picture's operations take its capability token as Authorization: Bearer (or ?token=); without one the server's default role applies. WebSocket: /ws/pictures/{id}?token=… speaks the y-websocket protocol."
        },
        "tags": [
            {"name": "pictures"}, {"name": "uploads", "description": "tus 1.0.0"},
            {"name": "history"}, {"name": "annotations"}, {"name": "tiles"},
            {"name": "iiif"}, {"name": "service"}
        ],
        "paths": paths,
        "components": components
    })
}

/// Serves the description.
pub async fn openapi() -> Json<Value> {
    Json(document())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn walk<'a>(value: &'a Value, found: &mut Vec<(&'a str, &'a Value)>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    found.push((key, inner));
                    walk(inner, found);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, found)),
            _ => {}
        }
    }

    #[test]
    fn references_resolve_and_links_name_operations() {
        let doc = document();
        let mut found = Vec::new();
        walk(&doc, &mut found);
        for (key, value) in &found {
            if *key == "$ref" {
                let pointer = value.as_str().unwrap().trim_start_matches('#');
                assert!(doc.pointer(pointer).is_some(), "{pointer} resolves");
            }
        }
        let mut operations = HashSet::new();
        let mut links = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                if method == "parameters" {
                    continue;
                }
                let id = operation["operationId"].as_str().unwrap();
                assert!(operations.insert(id), "{id} is one operation");
                let responses = operation["responses"].as_object().unwrap();
                assert!(!responses.is_empty(), "{method} {path} answers");
                for response in responses.values() {
                    if let Some(Value::Object(from_here)) = response.get("links") {
                        links.extend(from_here.values());
                    }
                }
            }
        }
        assert!(!links.is_empty());
        for link in links {
            let target = link["operationId"].as_str().unwrap();
            assert!(operations.contains(target), "link to {target}");
        }
    }

    #[test]
    fn path_parameters_are_declared() {
        let doc = document();
        let resolve = |p: &Value| match p.get("$ref").and_then(Value::as_str) {
            Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap().clone(),
            None => p.clone(),
        };
        for (path, item) in doc["paths"].as_object().unwrap() {
            let shared = item.get("parameters").cloned().unwrap_or(json!([]));
            for (method, operation) in item.as_object().unwrap() {
                if method == "parameters" {
                    continue;
                }
                let own = operation.get("parameters").cloned().unwrap_or(json!([]));
                let declared: HashSet<String> = shared
                    .as_array()
                    .unwrap()
                    .iter()
                    .chain(own.as_array().unwrap())
                    .map(resolve)
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().unwrap().to_string())
                    .collect();
                let templated: HashSet<String> = path
                    .split('{')
                    .skip(1)
                    .map(|s| s.split('}').next().unwrap().to_string())
                    .collect();
                assert_eq!(declared, templated, "{method} {path}");
            }
        }
    }
}
