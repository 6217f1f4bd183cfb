//! The command line: flag definitions (which also produce `--help`) and the [`Config`] they
//! make.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;

/// The tenant id served when `--tenant-id` is not given.
pub const DEFAULT_TENANT: &str = "72f988bf-0000-4000-8000-000000000001";

const LONG_ABOUT: &str = "\
A local HTTP emulation of Microsoft Entra ID (client-credentials tokens) and of the Azure
Resource Manager operations on private endpoints, on one base URL. The first line on stdout is
the bound base URL (e.g. http://127.0.0.1:41234); logs go to stderr.

Entra ID:
  POST /{tenant}/oauth2/v2.0/token   form grant_type=client_credentials, client_id,
                                     client_secret, scope=https://management.azure.com/.default
Resource Manager (Authorization: Bearer <token> and ?api-version= on every call; network
resources 2024-05-01 and other Microsoft.Network versions, resource groups 2021-04-01 and other
Microsoft.Resources versions; fixed path segments match case-insensitively):
  PUT|GET    /subscriptions/{sub}/resourcegroups/{rg}
  PUT|GET    .../resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{vnet}
  PUT|GET    .../virtualNetworks/{vnet}/subnets/{subnet}
  PUT|GET|DELETE .../resourceGroups/{rg}/providers/Microsoft.Network/privateEndpoints/{name}
  GET        .../resourceGroups/{rg}/providers/Microsoft.Network/privateEndpoints
  GET        /subscriptions/{sub}/providers/Microsoft.Network/privateEndpoints
  GET        .../resourceGroups/{rg}/providers/Microsoft.Network/networkInterfaces/{name}
  GET        /subscriptions/{sub}/providers/Microsoft.Network/locations/{loc}/operations/{id}
  GET        /subscriptions/{sub}/providers/Microsoft.Network/locations/{loc}/operationResults/{id}

A private endpoint PUT answers 201 (200 for an update) with provisioningState Updating and an
Azure-AsyncOperation header; the operation ends after --provision-ms, when the endpoint is
Succeeded (or Failed) and its network interface, with a private IP from the subnet's prefix,
appears. DELETE answers 202 (Azure-AsyncOperation and Location headers); the endpoint stays
readable with provisioningState Deleting until the operation ends. A PUT or DELETE while an
operation on the endpoint is running answers 409 AnotherOperationInProgress.

Control API (no authentication, JSON):
  GET    /__sandbox/state
  PUT    /__sandbox/privateLinkServices          {\"id\", \"location\"?}
  DELETE /__sandbox/privateLinkServices/{url-encoded id}   (its connections go Disconnected)
  PUT    /__sandbox/connections                  {\"privateEndpointId\", \"privateLinkServiceId\"?,
                                                  \"status\", \"description\"?}
  GET    /__sandbox/privateEndpoints/{url-encoded id}
                                                 {\"privateEndpoint\", \"networkInterface\"}
  GET|PUT /__sandbox/realism                     {\"provision_ms\", \"delete_ms\", \"page_size\",
                                                  \"token_ttl_s\", \"fail_next\", \"fail_code\",
                                                  \"fail_message\"}  (fields optional)
  GET|DELETE /__sandbox/requests";

/// Command-line flags.
#[derive(Debug, Parser)]
#[command(name = "azure-sandbox", version, about = "Local emulation of Microsoft Entra ID tokens and Azure Resource Manager private endpoints", long_about = LONG_ABOUT)]
pub struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0", env = "AZURE_SANDBOX_LISTEN")]
    pub listen: SocketAddr,

    /// The one tenant Entra ID knows.
    #[arg(long, default_value = DEFAULT_TENANT)]
    pub tenant_id: String,

    /// The application (client) id allowed to get tokens.
    #[arg(long, default_value = "privlink-test")]
    pub client_id: String,

    /// The client secret of that application.
    #[arg(long, default_value = "sandbox-secret", hide_default_value = true)]
    pub client_secret: String,

    /// Time a private endpoint create or update operation runs, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub provision_ms: u64,

    /// Time a private endpoint delete operation runs (default: --provision-ms).
    #[arg(long)]
    pub delete_ms: Option<u64>,
}

/// The validated start-up configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Tenant id.
    pub tenant_id: String,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// Duration of create/update operations.
    pub provision: Duration,
    /// Duration of delete operations.
    pub delete: Duration,
}

impl Args {
    /// The configuration these flags describe.
    pub fn into_config(self) -> Config {
        Config {
            listen: self.listen,
            tenant_id: self.tenant_id,
            client_id: self.client_id,
            client_secret: self.client_secret,
            provision: Duration::from_millis(self.provision_ms),
            delete: Duration::from_millis(self.delete_ms.unwrap_or(self.provision_ms)),
        }
    }
}
