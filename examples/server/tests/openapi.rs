//! The OpenAPI document types its bodies with the domain's own schemas: every `$ref` resolves, the
//! bodies reach `Model`, `TrainingRun`, `EpochMetrics`..., and what the server really answers
//! matches the document.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use modelyard_server::openapi::ApiDoc;
use serde_json::Value;
use support::TestServer;
use utoipa::OpenApi;

const COMPONENTS: &str = "#/components/schemas/";

fn document() -> Value {
    serde_json::from_str(&ApiDoc::openapi().to_json().unwrap()).unwrap()
}

/// Follows `$ref`s to the schema they name.
fn deref<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.strip_prefix(COMPONENTS).expect("a component reference");
            deref(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// The component a schema refers to, directly or as the non-null branch of an `Option`.
fn referenced_component(schema: &Value) -> Option<&str> {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return reference.strip_prefix(COMPONENTS);
    }
    schema.get("oneOf")?.as_array()?.iter().find_map(referenced_component)
}

/// The schema of a JSON response (or request, `status` = `None`) of an operation.
fn body<'a>(doc: &'a Value, method: &str, path: &str, status: Option<&str>) -> &'a Value {
    let operation = &doc["paths"][path][method];
    let content = match status {
        Some(status) => &operation["responses"][status]["content"],
        None => &operation["requestBody"]["content"],
    };
    deref(doc, &content["application/json"]["schema"])
}

/// `schema.properties[name]`, `$ref`s followed, in the schema or one of its `allOf` parts (a
/// flattened struct).
fn property<'a>(doc: &'a Value, schema: &'a Value, name: &str) -> &'a Value {
    let schema = deref(doc, schema);
    let parts = schema["allOf"].as_array().into_iter().flatten().map(|part| deref(doc, part));
    std::iter::once(schema)
        .chain(parts)
        .map(|part| &part["properties"][name])
        .find(|property| !property.is_null())
        .unwrap_or_else(|| panic!("no property {name} in {schema}"))
}

fn property_names(schema: &Value) -> Vec<&str> {
    schema["properties"]
        .as_object()
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn all_refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
                out.push(reference);
            }
            map.values().for_each(|v| all_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| all_refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_ref_resolves_to_a_component() {
    let doc = document();
    let mut refs = Vec::new();
    all_refs(&doc, &mut refs);
    assert!(refs.len() > 20, "expected typed bodies, found {} refs", refs.len());
    for reference in refs {
        let name = reference.strip_prefix(COMPONENTS).unwrap_or_else(|| panic!("{reference}"));
        assert!(doc["components"]["schemas"][name].is_object(), "{reference} does not resolve");
    }
}

#[test]
fn model_list_reaches_the_model_schema() {
    let doc = document();
    let models = property(&doc, body(&doc, "get", "/api/model", Some("200")), "models");
    assert_eq!(referenced_component(&models["items"]), Some("Model"));
    let model = deref(&doc, &models["items"]);
    let names = property_names(model);
    for expected in ["id", "name", "datasetId", "target", "features", "task", "layers", "summary"] {
        assert!(names.contains(&expected), "Model lacks {expected}: {names:?}");
    }
    assert_eq!(model["properties"]["datasetId"]["format"], "uuid");
    assert_eq!(model["properties"]["createdAt"]["format"], "date-time");
    assert_eq!(referenced_component(&model["properties"]["layers"]["items"]), Some("LayerSpec"));
    assert_eq!(referenced_component(&model["properties"]["summary"]), Some("ModelSummary"));
    assert!(!names.contains(&"dataset_id"), "snake_case leaked into Model: {names:?}");
}

#[test]
fn predictions_and_evaluations_are_typed() {
    let doc = document();
    let predictions =
        property(&doc, body(&doc, "post", "/api/model/{id}/predict", Some("200")), "predictions");
    assert_eq!(referenced_component(&predictions["items"]), Some("Prediction"));
    let prediction = deref(&doc, &predictions["items"]);
    let branches = prediction["oneOf"].as_array().expect("a class or a value");
    let mut fields: Vec<&str> =
        branches.iter().flat_map(|b| property_names(deref(&doc, b))).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["label", "probabilities", "value"]);

    let evaluation = body(&doc, "post", "/api/model/{id}/evaluate", Some("200"));
    let per_class = property(&doc, evaluation, "perClass");
    let class = deref(
        &doc,
        per_class["oneOf"].as_array().map_or(per_class, |b| {
            b.iter().find(|s| s["type"] != "null").expect("a non-null branch")
        }),
    );
    let class = deref(&doc, &class["items"]);
    for expected in ["label", "precision", "recall", "f1", "support"] {
        assert!(!class["properties"][expected].is_null(), "ClassMetrics lacks {expected}");
    }
    let matrix = property(&doc, evaluation, "confusionMatrix");
    assert_eq!(referenced_component(matrix), Some("ConfusionMatrix"));
}

#[test]
fn run_body_reaches_epoch_metrics() {
    let doc = document();
    let run = property(&doc, body(&doc, "get", "/api/training/{id}", Some("200")), "run");
    assert_eq!(referenced_component(run), Some("TrainingRun"));
    let history = property(&doc, run, "history");
    assert_eq!(referenced_component(&history["items"]), Some("EpochMetrics"));
    let epoch = deref(&doc, &history["items"]);
    for expected in ["epoch", "loss", "valLoss", "learningRate", "durationMs"] {
        assert!(!epoch["properties"][expected].is_null(), "EpochMetrics lacks {expected}");
    }
    let status = deref(&doc, property(&doc, run, "status"));
    let statuses: Vec<&str> =
        status["enum"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(statuses, ["queued", "running", "completed", "failed", "cancelled"]);
}

#[test]
fn request_bodies_are_typed() {
    let doc = document();
    let create = body(&doc, "post", "/api/model", None);
    assert_eq!(referenced_component(&property(&doc, create, "layers")["items"]), Some("LayerSpec"));
    assert_eq!(referenced_component(property(&doc, create, "task")), Some("Task"));
    assert_eq!(property(&doc, create, "datasetId")["format"], "uuid");

    // Layers are tagged by `type`, as serde writes them.
    let layer = &doc["components"]["schemas"]["LayerSpec"];
    let tags: Vec<&Value> = layer["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &deref(&doc, v)["properties"]["type"]["enum"][0])
        .collect();
    assert_eq!(tags, ["dense", "dropout", "batch_norm"]);

    let start = body(&doc, "post", "/api/training/start", None);
    assert_eq!(referenced_component(property(&doc, start, "optimizer")), Some("Optimizer"));
    assert_eq!(referenced_component(property(&doc, start, "earlyStopping")), Some("EarlyStopping"));
    assert_eq!(property(&doc, start, "modelId")["format"], "uuid");
    assert_eq!(property(&doc, start, "batchSize")["type"], "integer");
}

#[test]
fn other_bodies_reach_their_domain_schemas() {
    let doc = document();
    let cases = [
        ("post", "/api/auth/login", "200", "user", "PublicUser"),
        ("get", "/api/auth/me", "200", "user", "PublicUser"),
        ("get", "/api/data/{id}", "200", "dataset", "Dataset"),
        ("get", "/api/model/{id}/summary", "200", "summary", "ModelSummary"),
        ("get", "/api/training/{id}/history", "200", "history", "EpochMetrics"),
        ("get", "/api/training", "200", "runs", "TrainingRun"),
        ("get", "/api/notif", "200", "notifications", "Notification"),
    ];
    for (method, path, status, field, component) in cases {
        let field_schema = property(&doc, body(&doc, method, path, Some(status)), field);
        let reached = referenced_component(field_schema)
            .or_else(|| referenced_component(&field_schema["items"]));
        assert_eq!(reached, Some(component), "{method} {path} .{field}");
    }
}

/// Checks `value` against `schema`, as far as the document's schemas go: types, enums, required
/// and unknown properties, one of several branches. Returns the mismatches.
fn mismatches(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let schema = deref(doc, schema);
    if let Some(branches) = schema.get("oneOf").and_then(Value::as_array) {
        let fits = branches.iter().any(|b| mismatches(doc, b, value, at).is_empty());
        return if fits {
            vec![]
        } else {
            vec![format!("{at}: {value} fits no branch of {schema}")]
        };
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        return parts.iter().flat_map(|p| mismatches(doc, p, value, at)).collect();
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let fits_type = |t: &str| match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    };
    if !types.is_empty() && !types.iter().any(|t| fits_type(t)) {
        return vec![format!("{at}: {value} is not {types:?}")];
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !value.is_null()
        && !allowed.contains(value)
    {
        return vec![format!("{at}: {value} not in {allowed:?}")];
    }
    let mut found = Vec::new();
    if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
        for (i, item) in values.iter().enumerate() {
            found.extend(mismatches(doc, items, item, &format!("{at}[{i}]")));
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in
            schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str)
        {
            if !object.contains_key(required) {
                found.push(format!("{at}: missing required {required}"));
            }
        }
        for (key, field) in object {
            let path = format!("{at}.{key}");
            match (properties.and_then(|p| p.get(key)), schema.get("additionalProperties")) {
                (Some(declared), _) => found.extend(mismatches(doc, declared, field, &path)),
                (None, Some(extra)) if extra.is_object() => {
                    found.extend(mismatches(doc, extra, field, &path));
                }
                (None, _) if properties.is_some() => {
                    found.push(format!("{path}: not in the document"))
                }
                (None, _) => {}
            }
        }
    }
    found
}

async fn assert_matches_document(
    server: &TestServer,
    doc: &Value,
    token: &str,
    path: &str,
    template: &str,
) {
    let response = server.get(path, token).await;
    assert_eq!(response.status(), 200, "{path}");
    let answer: Value = response.json().await.unwrap();
    let schema = body(doc, "get", template, Some("200"));
    let found = mismatches(doc, schema, &answer, path);
    assert!(found.is_empty(), "{path} answers what its schema does not say:\n{}", found.join("\n"));
}

#[tokio::test]
async fn real_answers_match_the_document() {
    let doc = document();
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    let (dataset, model, run) = server.trained_model(&token).await;
    assert!(!server.notifications_soon(&token).await.is_empty());

    let cases = [
        ("/api/auth/me".to_owned(), "/api/auth/me"),
        ("/api/data".to_owned(), "/api/data"),
        (format!("/api/data/{dataset}"), "/api/data/{id}"),
        (format!("/api/data/{dataset}/preview?limit=3"), "/api/data/{id}/preview"),
        ("/api/model".to_owned(), "/api/model"),
        (format!("/api/model/{model}"), "/api/model/{id}"),
        (format!("/api/model/{model}/summary"), "/api/model/{id}/summary"),
        ("/api/training".to_owned(), "/api/training"),
        (format!("/api/training/{run}"), "/api/training/{id}"),
        (format!("/api/training/{run}/history"), "/api/training/{id}/history"),
        ("/api/notif".to_owned(), "/api/notif"),
    ];
    for (path, template) in &cases {
        assert_matches_document(&server, &doc, &token, path, template).await;
    }
    server.shutdown().await;
}
