//! [`Clouds`]: the [`Provider`] the commands use. It holds every registered
//! [`Cloud`] and routes each call to the cloud that manages the resource's
//! kind; a refresh reads all clouds at once.

use std::collections::BTreeMap;

use futures_util::future::try_join_all;

use super::atlas::AtlasClient;
pub use super::atlas::{Connection, EndpointConnection, through_endpoint};
use super::{Cloud, Op, Provider, ProviderError, RecordCreated, Start, registry};
use crate::model::{Attrs, DesiredResource, Kind};
use crate::plan::{Catalog, LiveView};
use crate::state::StateFile;
use crate::wait::WaitPolicy;

/// Every registered cloud, with the catalog of their kinds.
pub struct Clouds {
    clouds: Vec<Box<dyn Cloud>>,
    owner: BTreeMap<Kind, usize>,
    catalog: Catalog,
    atlas: AtlasClient,
}

impl Clouds {
    /// The registered clouds over one Atlas client, waiting with `policy`.
    pub fn new(atlas: AtlasClient, policy: WaitPolicy) -> Self {
        let clouds = registry::clouds(&atlas, policy);
        let mut owner = BTreeMap::new();
        for (i, c) in clouds.iter().enumerate() {
            for k in c.kinds() {
                owner.insert(k.kind(), i);
            }
        }
        Clouds {
            clouds,
            owner,
            catalog: registry::catalog(),
            atlas,
        }
    }

    /// The Atlas client, for commands that read Atlas directly (`output`).
    pub fn atlas(&self) -> &AtlasClient {
        &self.atlas
    }

    /// The private-endpoint connection strings Atlas has for the project's
    /// clusters (when `dedicated`) and the given serverless instances.
    pub async fn connections(
        &self,
        project: &str,
        instances: &[String],
        dedicated: bool,
    ) -> Result<Vec<Connection>, ProviderError> {
        super::atlas::connections(&self.atlas, project, instances, dedicated).await
    }

    fn cloud(&self, kind: Kind) -> Result<&dyn Cloud, ProviderError> {
        self.owner
            .get(&kind)
            .map(|&i| self.clouds[i].as_ref())
            .ok_or(ProviderError::UnknownKind(kind))
    }
}

impl Provider for Clouds {
    fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    async fn refresh(
        &self,
        state: &StateFile,
        desired: &[DesiredResource],
    ) -> Result<LiveView, ProviderError> {
        let views = try_join_all(self.clouds.iter().map(|c| c.refresh(state, desired))).await?;
        let mut all = LiveView::default();
        for v in views {
            all.resources.extend(v.resources);
            all.conflicts.extend(v.conflicts);
            all.kept.extend(v.kept);
        }
        Ok(all)
    }

    async fn create(
        &self,
        op: &Op,
        desired: &Attrs,
        start: Start<'_>,
        record: RecordCreated<'_>,
    ) -> Result<(String, Attrs), ProviderError> {
        self.cloud(op.kind)?
            .create(op, desired, start, record)
            .await
    }

    async fn update(
        &self,
        op: &Op,
        id: &str,
        before: &Attrs,
        desired: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        self.cloud(op.kind)?.update(op, id, before, desired).await
    }

    async fn delete(&self, op: &Op, id: Option<&str>, attrs: &Attrs) -> Result<(), ProviderError> {
        self.cloud(op.kind)?.delete(op, id, attrs).await
    }
}
