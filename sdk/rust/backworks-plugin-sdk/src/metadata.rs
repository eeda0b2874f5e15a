//! `plugin_metadata!`: the identity methods every plugin writes the same way.

/// Writes, inside an `impl BackworksPlugin for …` block, the methods that only state what the
/// plugin is: `name`, `version` (the crate's `CARGO_PKG_VERSION`), `description`,
/// `capabilities`, and optionally `config_schema` and `attach_host` (which keeps the [`Host`]
/// in a `OnceLock<Host>` field of the plugin). Every other method is written as usual; a plugin
/// may also write all of these by hand, as the trait is unchanged.
///
/// Arguments: `name: &'static str`, `description: &'static str`, `capabilities:` one or more
/// [`Capabilities`] constant names joined by `|`, `config_schema:` an expression giving a
/// [`Value`] (JSON Schema of the plugin's `config:`), `host:` the name of the
/// `OnceLock<Host>` field.
///
/// [`Host`]: crate::Host
/// [`Capabilities`]: crate::Capabilities
/// [`Value`]: crate::Value
///
/// ```
/// use backworks_plugin_sdk::*;
/// use std::sync::OnceLock;
///
/// #[derive(Default)]
/// pub struct Counter {
///     host: OnceLock<Host>,
/// }
///
/// #[async_trait]
/// impl BackworksPlugin for Counter {
///     plugin_metadata! {
///         name: "counter",
///         description: "counts what it is sent",
///         capabilities: ENDPOINT | CONNECTOR,
///         config_schema: json!({ "type": "object" }),
///         host: host,
///     }
///
///     async fn initialize(&self, _config: &Value) -> PluginResult<()> {
///         if let Some(host) = self.host.get() { host.info("counter ready"); }
///         Ok(())
///     }
/// }
///
/// export_plugin!(Counter);
/// # fn main() {
/// # let plugin = Counter::default();
/// # assert_eq!((plugin.name(), plugin.version()), ("counter", env!("CARGO_PKG_VERSION")));
/// # assert_eq!(plugin.capabilities(), Capabilities::ENDPOINT | Capabilities::CONNECTOR);
/// # }
/// ```
#[macro_export]
macro_rules! plugin_metadata {
    (
        name: $name:expr,
        description: $description:expr,
        capabilities: $($capability:ident)|+
        $(, config_schema: $schema:expr)?
        $(, host: $host:ident)?
        $(,)?
    ) => {
        fn name(&self) -> &str {
            $name
        }

        fn version(&self) -> &str {
            env!("CARGO_PKG_VERSION")
        }

        fn description(&self) -> &str {
            $description
        }

        fn capabilities(&self) -> $crate::Capabilities {
            $($crate::Capabilities::$capability)|+
        }

        $(
            fn config_schema(&self) -> Option<$crate::Value> {
                Some($schema)
            }
        )?

        $(
            fn attach_host(&self, host: $crate::Host) {
                let _ = self.$host.set(host);
            }
        )?
    };
}
