// External developer creates: my-plugin/src/lib.rs
use backworks_plugin_sdk::*;

#[derive(Default)]
pub struct MyPlugin;

#[async_trait]
impl BackworksPlugin for MyPlugin {
    fn name(&self) -> &str { "my-plugin" }
    fn version(&self) -> &str { "1.0.0" }
    fn description(&self) -> &str { "My awesome plugin" }
    
    async fn initialize(&self, config: &Value) -> PluginResult<()> {
        // Plugin initialization logic
        Ok(())
    }
    
    async fn process_endpoint_data(&self, endpoint: &str, method: &str, data: &str) -> PluginResult<Option<String>> {
        // Handle specific endpoints
        if endpoint == "/my-feature" {
            Ok(Some(json!({"message": "Hello from my plugin!"}).to_string()))
        } else {
            Ok(None)
        }
    }
}

export_plugin!(MyPlugin);
