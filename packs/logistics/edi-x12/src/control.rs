//! Control numbers of what we send (ISA13 and GS06), kept in plugin state so a number is never
//! used twice, also across restarts: the new high-water mark is stored before the numbers are used.

use std::sync::Mutex;

use backworks_plugin_sdk::{json, Host, PluginError, PluginResult, Value};

const KEY: &str = "control_numbers";
/// ISA13 and GS06 are at most nine digits; past that they start again at 1.
const LIMIT: u64 = 999_999_999;

/// The last interchange and group control numbers used.
#[derive(Default)]
pub struct Controls {
    last: Mutex<Option<(u64, u64)>>,
}

fn next(n: u64) -> u64 {
    if n >= LIMIT { 1 } else { n + 1 }
}

impl Controls {
    /// Reserves one interchange control number and `groups` group control numbers.
    pub fn reserve(&self, host: &Host, groups: usize) -> PluginResult<(u64, Vec<u64>)> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let (isa, gs) = match *last {
            Some(pair) => pair,
            None => load(host)?,
        };
        let isa = next(isa);
        let mut numbers = Vec::with_capacity(groups);
        let mut g = gs;
        for _ in 0..groups {
            g = next(g);
            numbers.push(g);
        }
        host.state_set(KEY, &json!({"interchange": isa, "group": g}).to_string())
            .map_err(|e| PluginError::Unavailable(format!("control numbers could not be stored, nothing was sent: {e}")))?;
        *last = Some((isa, g));
        Ok((isa, numbers))
    }
}

fn load(host: &Host) -> PluginResult<(u64, u64)> {
    let Some(text) = host.state_get(KEY)? else { return Ok((0, 0)) };
    let value: Value = serde_json::from_str(&text)?;
    Ok((value["interchange"].as_u64().unwrap_or(0), value["group"].as_u64().unwrap_or(0)))
}

/// Fails at initialize when state is not available (isolation: none cannot serve it).
pub fn check_available(host: &Host) -> PluginResult<()> {
    host.state_get(KEY).map(|_| ()).map_err(|e| {
        PluginError::InvalidConfig(format!("edi-x12 keeps control numbers in plugin state and needs isolation: process ({e})"))
    })
}
