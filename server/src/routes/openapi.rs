//! `GET /api/openapi.json`: the OpenAPI 3.1 description of the HTTP API.

use axum::Json;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItemBuilder,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, ResponseBuilder,
};

fn op(
    summary: &str,
    responses: &[(&str, &str)],
    params: &[&str],
) -> utoipa::openapi::path::Operation {
    let mut builder = OperationBuilder::new().summary(Some(summary));
    for (code, description) in responses {
        builder = builder.response(
            *code,
            ResponseBuilder::new().description(*description).build(),
        );
    }
    for name in params {
        builder = builder.parameter(
            ParameterBuilder::new()
                .name(*name)
                .parameter_in(ParameterIn::Path)
                .required(utoipa::openapi::Required::True)
                .build(),
        );
    }
    builder.build()
}

/// The API description.
pub fn document() -> OpenApi {
    let json_body = |description: &str| {
        RequestBodyBuilder::new()
            .description(Some(description))
            .content("application/json", ContentBuilder::new().build())
            .build()
    };
    let multipart = RequestBodyBuilder::new()
        .description(Some("field `file`: the picture; optional `title`"))
        .content("multipart/form-data", ContentBuilder::new().build())
        .build();
    let mut create = op(
        "Upload a picture (multipart). Answers the picture with its tokens and share links.",
        &[
            ("202", "queued for tiling"),
            ("400", "malformed"),
            ("413", "over the upload limit"),
            ("415", "not multipart"),
        ],
        &[],
    );
    create.request_body = Some(multipart);
    let mut update = op(
        "Edit title and description (owner).",
        &[
            ("200", "the picture"),
            ("401", "no token"),
            ("403", "not the owner"),
            ("404", "unknown"),
        ],
        &["id"],
    );
    update.request_body = Some(json_body("{\"title\": \"…\", \"description\": \"…\"}"));
    let paths = PathsBuilder::new()
        .path(
            "/api/pictures",
            PathItemBuilder::new()
                .operation(HttpMethod::Get, op("Gallery: ready pictures, newest first, `page` and `per_page`.", &[("200", "a page")], &[]))
                .operation(HttpMethod::Post, create)
                .build(),
        )
        .path(
            "/api/pictures/{id}",
            PathItemBuilder::new()
                .operation(HttpMethod::Get, op("One picture, and the caller's role.", &[("200", "the picture"), ("401", "bad token"), ("404", "unknown")], &["id"]))
                .operation(HttpMethod::Patch, update)
                .operation(HttpMethod::Delete, op("Delete the picture and its stored objects (owner).", &[("204", "deleted"), ("401", "no token"), ("403", "not the owner"), ("404", "unknown")], &["id"]))
                .build(),
        )
        .path(
            "/api/pictures/{id}/links",
            PathItemBuilder::new()
                .operation(HttpMethod::Post, op("New share links for edit, comment and view; old ones stop working (owner).", &[("200", "tokens and links"), ("403", "not the owner")], &["id"]))
                .build(),
        )
        .path(
            "/api/pictures/{id}/events",
            PathItemBuilder::new()
                .operation(HttpMethod::Get, op("Server-Sent Events `progress`: {status, stage, done, total, error}.", &[("200", "text/event-stream")], &["id"]))
                .build(),
        )
        .path(
            "/api/uploads",
            PathItemBuilder::new()
                .operation(HttpMethod::Options, op("tus 1.0.0 capabilities.", &[("204", "Tus-Version, Tus-Extension, Tus-Max-Size")], &[]))
                .operation(HttpMethod::Post, op("tus creation (and creation-with-upload). `Picture-Owner-Token` on the answer.", &[("201", "Location of the upload"), ("412", "Tus-Resumable missing"), ("413", "over the limit")], &[]))
                .build(),
        )
        .path(
            "/api/uploads/{id}",
            PathItemBuilder::new()
                .operation(HttpMethod::Head, op("tus offset; `Picture-Id` once complete.", &[("200", "Upload-Offset"), ("404", "unknown"), ("410", "expired")], &["id"]))
                .operation(HttpMethod::Patch, op("tus append at Upload-Offset; `Picture-Id` when the last byte arrives.", &[("204", "appended"), ("409", "wrong offset"), ("415", "wrong Content-Type")], &["id"]))
                .operation(HttpMethod::Delete, op("tus termination.", &[("204", "removed")], &["id"]))
                .build(),
        )
        .path(
            "/tiles/{id}/image.dzi",
            PathItemBuilder::new()
                .operation(HttpMethod::Get, op("DeepZoom descriptor; tiles at image_files/{level}/{col}_{row}.{jpg|png}.", &[("200", "application/xml"), ("404", "no tiles")], &["id"]))
                .build(),
        )
        .path(
            "/iiif/{id}/info.json",
            PathItemBuilder::new()
                .operation(HttpMethod::Get, op("IIIF Image API 3.0 level 0 image information.", &[("200", "info.json"), ("404", "no tiles")], &["id"]))
                .build(),
        )
        .path("/healthz", PathItemBuilder::new().operation(HttpMethod::Get, op("Liveness.", &[("200", "ok")], &[])).build())
        .path("/readyz", PathItemBuilder::new().operation(HttpMethod::Get, op("Readiness: database and storage.", &[("200", "ready"), ("503", "not ready")], &[])).build())
        .path("/metrics", PathItemBuilder::new().operation(HttpMethod::Get, op("Prometheus metrics.", &[("200", "text")], &[])).build())
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("HUGEpic")
                .version(env!("CARGO_PKG_VERSION"))
                .build(),
        )
        .paths(paths)
        .build()
}

/// Serves the description.
pub async fn openapi() -> Json<OpenApi> {
    Json(document())
}
