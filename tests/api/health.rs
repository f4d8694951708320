//! Probes.

use crate::both_engines;
use crate::helpers::{spawn_app, Engine};

async fn healthz_and_readyz_answer_200(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    // Act
    let health = app.get("/healthz").await;
    let ready = app.get("/readyz").await;
    // Assert
    assert_eq!(health.status(), 200);
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<serde_json::Value>().await.unwrap()["status"],
        "ready"
    );
}
both_engines!(
    healthz_and_readyz_answer_200_when_the_database_is_up,
    healthz_and_readyz_answer_200
);

async fn unknown_routes_answer_a_json_404(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    // Act
    let response = app.get("/nowhere?lang=en").await;
    // Assert
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "not_found");
    assert_eq!(body["message"], "This page does not exist.");
}
both_engines!(
    unknown_routes_answer_a_localized_json_404,
    unknown_routes_answer_a_json_404
);
