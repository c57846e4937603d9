//! shinny-service: FHIR-as-a-Service. The shinny validation engine behind
//! an HTTP API (axum on tokio) for SHIN-NY Qualified Entities: per-tenant
//! authentication, validation off the async runtime with bounded
//! concurrency, interaction storage in SQLite or PostgreSQL, Prometheus
//! metrics and an OpenAPI document.
//!
//! Modules: [`config`] (TOML plus environment), [`contexts`] (validation
//! contexts from packages or artifacts), [`tenants`] (tenants and API
//! keys), [`routes`] (router, middleware, small endpoints), [`bundle`]
//! (validate and submit), [`status`] (interaction records), [`storage`]
//! (the [`storage::Store`] trait and its backends), [`metrics`], [`pool`]
//! (the validation threads), [`fhir`] (response conventions), [`tls`]
//! (HTTPS and client certificates),
//! [`forward`] (durable forwarding to the data lake) and [`app`] (state
//! and startup).

#![warn(missing_docs)]

pub mod app;
pub mod bundle;
pub mod config;
pub mod contexts;
pub mod fhir;
pub mod forward;
pub mod listen;
pub mod metrics;
pub mod pool;
pub mod routes;
pub mod status;
pub mod storage;
pub mod tenants;
pub mod tls;

pub use app::{start, AppState, Server};
pub use config::Config;
