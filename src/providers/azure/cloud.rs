//! The [`Cloud`] of the Azure kinds, on [`AzureCloud`]. Reads private
//! endpoints in batches (one list per subscription and resource group, and
//! a network interface only when the recorded one changed) and routes each
//! create and delete to the kind's module.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::arm::{Arm, NETWORK_API};
use super::context::{AzureCloud, group_path, scope_of};
use super::error::AzureError;
use super::private_endpoint::{self, KIND, as_desired, endpoint_attrs, foreign, nic_of};
use super::types::{List, NetworkInterface, PrivateEndpoint};
use crate::model::{Attrs, DesiredResource};
use crate::plan::{Kept, Live, LiveView, ResourceRules};
use crate::providers::adopt::{delete_unless_kept, id_to_delete, starting_id};
use crate::providers::typed::{from_attrs, recorded};
use crate::providers::{Cloud, Op, ProviderError, RecordCreated, Start};
use crate::state::StateFile;

/// The private endpoints of one (subscription, resource group).
type Listed = BTreeMap<(String, String), Vec<PrivateEndpoint>>;

/// The (subscription, resource group) pairs a refresh lists.
fn groups(state: &StateFile, desired: &[DesiredResource]) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (a, r) in state.resources.iter().filter(|(_, r)| r.kind == KIND) {
        let from_id = r.id.as_deref().and_then(scope_of);
        let recorded_scope = recorded(state, a, "subscription")
            .zip(recorded(state, a, "resource_group"))
            .map(|(s, g)| (s.to_owned(), g.to_owned()));
        out.extend(from_id.or(recorded_scope));
    }
    for d in desired.iter().filter(|d| d.kind == KIND) {
        if let Ok(w) = from_attrs::<private_endpoint::Want>(KIND, &d.attrs) {
            out.insert((w.subscription, w.resource_group));
        }
    }
    out
}

/// Every private endpoint of a resource group, following `nextLink`; none
/// when the group does not exist.
async fn list_group(arm: &Arm, sub: &str, group: &str) -> Result<Vec<PrivateEndpoint>, AzureError> {
    let mut next = Some(format!(
        "{}/providers/Microsoft.Network/privateEndpoints",
        group_path(sub, group)
    ));
    let mut out = Vec::new();
    while let Some(path) = next.take() {
        let Some(page) = arm.get::<List<PrivateEndpoint>>(&path, NETWORK_API).await? else {
            break;
        };
        out.extend(page.value);
        next = page.next_link.filter(|l| !l.is_empty());
    }
    Ok(out)
}

fn same_id(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl AzureCloud {
    async fn refresh_all(
        &self,
        state: &StateFile,
        desired: &[DesiredResource],
    ) -> Result<LiveView, ProviderError> {
        let wanted = groups(state, desired);
        let mut view = LiveView::default();
        if wanted.is_empty() {
            return Ok(view);
        }
        let arm = self.arm()?;
        let mut listed = Listed::new();
        for (sub, group) in wanted {
            let list = list_group(&arm, &sub, &group).await?;
            listed.insert((sub, group), list);
        }
        for (a, r) in state.resources.iter().filter(|(_, r)| r.kind == KIND) {
            let all = listed.values().flatten();
            let found = match r.id.as_deref() {
                Some(id) => all.into_iter().find(|pe| same_id(&pe.id, id)),
                None => {
                    let name = recorded(state, a, "name").unwrap_or_default();
                    all.into_iter()
                        .find(|pe| pe.name.eq_ignore_ascii_case(name))
                }
            };
            let Some(pe) = found else {
                view.resources.insert(a.clone(), Live::Gone);
                continue;
            };
            if let Some(holder) = foreign(pe, &state.lineage) {
                let kept = Kept {
                    id: pe.id.clone(),
                    holder,
                };
                view.kept.insert(a.clone(), kept);
            }
            if r.id.is_none() {
                continue;
            }
            let ip = self.private_ip(&arm, pe, &r.attributes).await?;
            let attributes = as_desired(endpoint_attrs(pe, ip.as_deref()), &r.desired);
            view.resources
                .insert(a.clone(), Live::Present { attributes });
        }
        conflicts(state, desired, &listed, &mut view);
        Ok(view)
    }

    /// The endpoint's private IP: the recorded one while its network
    /// interface is the recorded one (ARM keeps a private endpoint's IP for
    /// its life), else read from the interface.
    async fn private_ip(
        &self,
        arm: &Arm,
        pe: &PrivateEndpoint,
        recorded: &Attrs,
    ) -> Result<Option<String>, AzureError> {
        let Some(nic) = nic_of(pe) else {
            return Ok(None);
        };
        let same_nic = recorded
            .get("network_interface_id")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|r| same_id(r, nic));
        let known = recorded
            .get("private_ip")
            .and_then(serde_json::Value::as_str);
        if let (true, Some(ip)) = (same_nic, known) {
            return Ok(Some(ip.to_owned()));
        }
        let nic: Option<NetworkInterface> = arm.get(nic, NETWORK_API).await?;
        Ok(nic.and_then(|n| n.private_ip().map(str::to_owned)))
    }

    async fn create_any(
        &self,
        op: &Op,
        d: &Attrs,
        start: Start<'_>,
        record: RecordCreated<'_>,
    ) -> Result<(String, Attrs), ProviderError> {
        match op.kind {
            KIND => {
                let existing = starting_id(start, self.find_endpoint(op, d), record).await?;
                self.create_endpoint(op, d, existing.as_deref(), record)
                    .await
            }
            other => Err(ProviderError::UnknownKind(other)),
        }
    }

    async fn delete_any(&self, op: &Op, id: Option<&str>, a: &Attrs) -> Result<(), ProviderError> {
        if op.kind != KIND {
            return Err(ProviderError::UnknownKind(op.kind));
        }
        let Some(id) = id_to_delete(id, self.find_endpoint(op, a)).await? else {
            return Ok(());
        };
        let kept = self.endpoint_kept(op, &id).await?;
        delete_unless_kept(op, kept, self.delete_endpoint(op, &id)).await
    }
}

/// A private endpoint the configuration wants, that Azure has under its
/// name and this state does not: a create would change it in place.
fn conflicts(state: &StateFile, desired: &[DesiredResource], listed: &Listed, view: &mut LiveView) {
    for d in desired.iter().filter(|d| d.kind == KIND) {
        if state.resources.contains_key(&d.address) {
            continue;
        }
        let Ok(w) = from_attrs::<private_endpoint::Want>(KIND, &d.attrs) else {
            continue;
        };
        let key = (w.subscription.clone(), w.resource_group.clone());
        let found = listed
            .get(&key)
            .and_then(|l| l.iter().find(|pe| pe.name.eq_ignore_ascii_case(&w.name)));
        if let Some(pe) = found {
            let why = format!(
                "the Azure private endpoint {} in resource group {}",
                w.name, w.resource_group
            );
            view.conflicts
                .insert(d.address.clone(), (pe.id.clone(), why));
        }
    }
}

impl Cloud for AzureCloud {
    fn name(&self) -> &'static str {
        "Azure"
    }

    fn kinds(&self) -> Vec<&'static dyn ResourceRules> {
        super::KINDS.to_vec()
    }

    fn refresh<'a>(
        &'a self,
        state: &'a StateFile,
        desired: &'a [DesiredResource],
    ) -> BoxFuture<'a, Result<LiveView, ProviderError>> {
        self.refresh_all(state, desired).boxed()
    }

    fn create<'a, 'r: 'a>(
        &'a self,
        op: &'a Op,
        desired: &'a Attrs,
        start: Start<'a>,
        record: RecordCreated<'r>,
    ) -> BoxFuture<'a, Result<(String, Attrs), ProviderError>> {
        self.create_any(op, desired, start, record).boxed()
    }

    fn update<'a>(
        &'a self,
        op: &'a Op,
        _id: &'a str,
        _before: &'a Attrs,
        _desired: &'a Attrs,
    ) -> BoxFuture<'a, Result<Attrs, ProviderError>> {
        async move {
            Err(ProviderError::Unsupported(format!(
                "{} cannot be changed in place: {} resources are replaced",
                op.address, op.kind
            )))
        }
        .boxed()
    }

    fn delete<'a>(
        &'a self,
        op: &'a Op,
        id: Option<&'a str>,
        attrs: &'a Attrs,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        self.delete_any(op, id, attrs).boxed()
    }

    fn preflight<'a>(
        &'a self,
        request: &'a crate::providers::preflight::Request<'a>,
    ) -> BoxFuture<'a, Result<Vec<crate::providers::preflight::Problem>, ProviderError>> {
        self.check(request).boxed()
    }
}
