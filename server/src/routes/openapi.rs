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
        .path(
            "/api/pictures/{id}/history",
            PathItemBuilder::new()
                .operation(HttpMethod::Get, op("Annotation activity, newest first: consecutive changes by one author less than a minute apart are one entry {from_seq, to_seq, from, to, author {id, name, color}, counts {shapes_added, shapes_changed, shapes_deleted, comments}, shape_ids, restore}. Query: limit (1-200, default 50), before (seq: paging, see next_before), author (id), since, until (ISO 8601). Any role that can view.", &[("200", "{entries, next_before, first_seq, latest_seq, first_at, latest_at, authors}"), ("400", "malformed query"), ("404", "unknown picture")], &["id"]))
                .build(),
        )
        .path(
            "/api/pictures/{id}/history/frames",
            PathItemBuilder::new()
                .operation(HttpMethod::Get, op("A moment's frames, streamed as NDJSON: {type: checkpoint, seq, at, state (base64 Yjs v1)} (the newest checkpoint at or before the moment), then {type: update, seq, at, author, role, kind: edit|restore, restored_to, update (base64 Yjs v1)} for each later update up to the moment, then {type: end, seq, latest_seq}. Query: seq or at (ISO 8601; default: now); from=A streams only the updates after seq A, with no checkpoint.", &[("200", "application/x-ndjson"), ("400", "malformed, or seq past the end"), ("404", "unknown picture")], &["id"]))
                .build(),
        )
        .path(
            "/api/pictures/{id}/history/state",
            PathItemBuilder::new()
                .operation(HttpMethod::Get, op("The annotation document at a moment (seq or at), as JSON {shapes: {id: shape}, comments: {id: {target, messages}}}. Headers History-Seq (the seq resolved) and History-Updates-Read (log rows read: at most the checkpoint interval).", &[("200", "the document"), ("400", "malformed, or seq past the end"), ("404", "unknown picture")], &["id"]))
                .build(),
        )
        .path(
            "/api/pictures/{id}/shapes/{shape_id}/history",
            PathItemBuilder::new()
                .operation(HttpMethod::Get, op("Every change to one shape, oldest first: {seq, at, author, kind: created|changed|deleted, fields, before, after, restore}; deleted_at when it is gone.", &[("200", "{shape_id, changes, deleted_at}"), ("404", "no such shape in the history")], &["id", "shape_id"]))
                .build(),
        )
        .path(
            "/api/pictures/{id}/versions",
            PathItemBuilder::new()
                .operation(HttpMethod::Get, op("Named versions, oldest moment first: {id, name, seq, at, created_at, author}.", &[("200", "{versions}")], &["id"]))
                .operation(HttpMethod::Post, op("Name a moment: {name, seq? (default now), author? {id, name, color}} (edit, owner). A checkpoint is kept at it.", &[("201", "the version"), ("400", "no name, or seq past the end"), ("403", "comment or view link")], &["id"]))
                .build(),
        )
        .path(
            "/api/pictures/{id}/restore",
            PathItemBuilder::new()
                .operation(HttpMethod::Post, op("Restore a moment: {seq | at | version, shape_ids? (only these shapes and their threads), dry_run?, author?}. Appends ONE update that turns the live document into the one at that moment, logged and delivered to every connected client; history is never rewritten (restore the seq before it to undo). Answers {restored_to, dry_run, seq (the new update's, null when nothing changed or dry_run), counts {shapes_added, shapes_changed, shapes_deleted, comments}, shape_ids} (edit, owner).", &[("200", "what changed"), ("400", "malformed moment"), ("403", "comment or view link"), ("404", "unknown picture or version")], &["id"]))
                .build(),
        )
        .path(
            "/api/pictures/{id}/annotations",
            PathItemBuilder::new()
                .operation(HttpMethod::Post, {
                    let mut import = op("Import annotations (edit, owner): a W3C Annotation, AnnotationPage or AnnotationCollection (first page inline), an array of annotations (Annotorious v2/v3 exports), or a IIIF AnnotationPage (Mirador). Selectors: FragmentSelector xywh (pixel or percent, converted with the picture's size), SvgSelector (polygon, polyline, path with absolute or relative commands and curves, ellipse, circle, rect, line), PointSelector; bodies become a comment thread (HTML made plain, replies and reply annotations in order), a describing body on a point a text label. Our own export comes back exactly (hugepic:shape, hugepic:threads). Everything lands as ONE document update (one history entry), delivered live. Query: dry_run=true (answer only), author, author_id, color (who imports, for the history). Answers {dry_run, seq, created {shapes, threads, messages}, annotations [{id, shape_id, thread_ids}], skipped [{id, reason}]}.", &[("201", "imported"), ("200", "dry run, or nothing to import"), ("400", "not JSON, or not annotations"), ("403", "comment or view link"), ("413", "over HUGEPIC_MAX_IMPORT_MIB, HUGEPIC_MAX_IMPORT_ANNOTATIONS or the document size limit")], &["id"]);
                    import.request_body = Some(json_body("W3C / Annotorious / IIIF annotations"));
                    import
                })
                .build(),
        )
        .path(
            "/api/pictures/{id}/annotations.jsonld",
            PathItemBuilder::new()
                .operation(HttpMethod::Get, op("The annotations as a W3C AnnotationCollection (application/ld+json), the first AnnotationPage inline, 1,000 annotations a page (page=N for the others). One annotation per shape targeting the IIIF image (rectangle: FragmentSelector xywh; polygon, polyline, freehand: SvgSelector path; circle: SvgSelector ellipse and path; marker, text: a 1-pixel xywh then a PointSelector), style as SVG attributes and a CssStylesheet; comment threads as TextualBody bodies (commenting, then replying, each with creator and created) and as reply annotations; comments pinned to a point as annotations of their own; hugepic:shape and hugepic:threads carry the exact entries. Query: seq or at (a moment of the history; default now), page. Any role that can view; open to every origin.", &[("200", "the collection or page"), ("400", "malformed moment"), ("404", "unknown picture or page")], &["id"]))
                .build(),
        )
        .path(
            "/api/pictures/{id}/annotations.csv",
            PathItemBuilder::new()
                .operation(HttpMethod::Get, op("The comments as CSV, one row per message: thread_id, message_id, shape_id, shape_kind, x, y, width, height (the shape's bounding box or the pinned point, image pixels), author, author_id, time, text, resolved. Cells a spreadsheet would run as formulas get a leading '. Query: seq or at. Any role that can view.", &[("200", "text/csv"), ("404", "unknown picture")], &["id"]))
                .build(),
        )
        .path(
            "/iiif/{id}/manifest.json",
            PathItemBuilder::new()
                .operation(HttpMethod::Get, op("IIIF Presentation 3 Manifest: one Canvas the size of the picture, painted by the level-0 ImageService3 at /iiif/{id}; its annotations on the AnnotationPage /iiif/{id}/annotations.json. Open to every origin (Mirador, Universal Viewer).", &[("200", "the manifest"), ("404", "unknown picture, or not tiled yet")], &["id"]))
                .build(),
        )
        .path(
            "/iiif/{id}/annotations.json",
            PathItemBuilder::new()
                .operation(HttpMethod::Get, op("The canvas's annotations as a IIIF AnnotationPage (as annotations.jsonld, targeting the canvas; replies as bodies only). Query: seq or at. Open to every origin.", &[("200", "the page"), ("404", "unknown picture")], &["id"]))
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
