//! The Backworks side: configuration in, sessions started, endpoints and health answered.

use std::sync::{Arc, Mutex, OnceLock};

use backworks_plugin_sdk::*;

use crate::engine::{Engine, Logger};
use crate::store::{HostStore, MemoryStore, Persistence};

#[derive(Default)]
pub struct FixPlugin {
    host: OnceLock<Host>,
    engine: Mutex<Option<Arc<Engine>>>,
}

impl FixPlugin {
    fn engine(&self) -> PluginResult<Arc<Engine>> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner()).clone().ok_or_else(|| PluginError::Unavailable("not initialized".into()))
    }
}

#[async_trait]
impl BackworksPlugin for FixPlugin {
    plugin_metadata! {
        name: "fix",
        description: "FIX 4.2/4.4 sessions (initiator and acceptor) with data-dictionary validation and durable sequence numbers",
        capabilities: ENDPOINT | CONNECTOR,
        config_schema: crate::config::schema(),
        host: host,
    }

    async fn initialize(&self, config: &Value) -> PluginResult<()> {
        let sessions = crate::config::parse(config).map_err(PluginError::BadRequest)?;
        let host = self.host.get().cloned().ok_or_else(|| PluginError::Host("no host handle".into()))?;
        let durable = sessions.iter().any(|s| s.persist);
        let store: Arc<dyn Persistence> = if durable { Arc::new(HostStore { host: host.clone() }) } else { Arc::new(MemoryStore) };
        if durable {
            // Fails early and clearly where durable state is not available (isolation: none).
            host.state_get("probe").map_err(|e| {
                PluginError::Unsupported(format!("durable sequence numbers need the host's state ({e}); use isolation: process or persist: false"))
            })?;
        }
        let log_host = host.clone();
        let log: Logger = Arc::new(move |error, text| if error { log_host.error(text) } else { log_host.info(text) });
        let engine = Engine::start(sessions, store, log).map_err(PluginError::BadRequest)?;
        for (port, addr) in &engine.listening {
            host.info(&format!("FIX acceptor listening on {addr} (configured port {port})"));
        }
        *self.engine.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(engine));
        Ok(())
    }

    async fn process_endpoint_data(&self, endpoint: &str, method: &str, data: &str) -> PluginResult<Option<String>> {
        let engine = self.engine()?;
        match crate::api::handle(&engine, endpoint, method, data) {
            None => Ok(None),
            Some(Ok(body)) => Ok(Some(body)),
            Some(Err((400, e))) => Err(PluginError::BadRequest(e)),
            Some(Err((404, e))) => Err(PluginError::NotFound(e)),
            Some(Err((_, e))) => Err(PluginError::Unavailable(e)),
        }
    }

    async fn health_check(&self) -> PluginResult<PluginHealth> {
        let engine = self.engine()?;
        let mut sessions = serde_json::Map::new();
        let mut down = Vec::new();
        for slot in &engine.slots {
            let status = crate::api::session_status(&engine, &slot.cfg.name).unwrap_or(Value::Null);
            if slot.cfg.role == crate::config::Role::Initiator && status["state"] != "logged_on" {
                down.push(slot.cfg.name.clone());
            }
            sessions.insert(slot.cfg.name.clone(), status);
        }
        Ok(PluginHealth {
            status: if down.is_empty() { HealthStatus::Healthy } else { HealthStatus::Degraded },
            message: (!down.is_empty()).then(|| format!("not logged on: {}", down.join(", "))),
            details: Some(json!({ "sessions": sessions })),
        })
    }

    async fn shutdown(&self) -> PluginResult<()> {
        if let Some(engine) = self.engine.lock().unwrap_or_else(|p| p.into_inner()).take() {
            engine.stop();
        }
        Ok(())
    }
}
