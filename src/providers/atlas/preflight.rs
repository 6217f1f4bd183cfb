//! The Atlas side's preflight (see [`crate::providers::preflight`]): one
//! list of serverless instances and one list of clusters per project, read
//! only for the projects the subjects need. Before a create: the project
//! exists, each serverless instance exists in it in the endpoint's region,
//! and for dedicated clusters a cluster of the project is in the endpoint's
//! region. After an object was not found: whether its project or its
//! serverless instance is gone too.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::context::{AtlasCloud, atlas_region};
use super::dedicated::{INTERFACE, SERVICE};
use super::http::{How, Retry};
use super::serverless::{ENDPOINT, LINK};
use super::types::wire;
use super::{
    AtlasClient, AtlasError, CLUSTERS_MEDIA_TYPE, ServerlessInstance, V2, expect, project_missing,
    seg,
};
use crate::providers::ProviderError;
use crate::providers::preflight::{Problem, Purpose, Request, Subject, listing, origin};

/// The lists one project needs.
#[derive(Default)]
struct Needs<'r, 'a> {
    serverless: bool,
    clusters: bool,
    subjects: Vec<&'r Subject<'a>>,
}

/// What one project holds; `None` for a list not read.
struct Project {
    serverless: Option<Vec<ServerlessInstance>>,
    clusters: Option<Vec<ClusterRegions>>,
}

/// A cluster's name and the Atlas regions it has nodes in.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ClusterRegions {
    name: String,
    regions: Vec<String>,
}

impl AtlasClient {
    /// Every item of a paginated list of the project; `None` when the
    /// project does not exist.
    async fn project_list<W: DeserializeOwned>(
        &self,
        base: &str,
        how: How<'_>,
    ) -> Result<Option<Vec<W>>, AtlasError> {
        const PER_PAGE: usize = 500;
        const MAX_PAGES: usize = 1000;
        let mut items = Vec::new();
        for page in 1..=MAX_PAGES {
            let path = format!("{base}?pageNum={page}&itemsPerPage={PER_PAGE}");
            let reply = self.send_how(Method::GET, &path, None, how).await?;
            let missing = matches!(
                reply.status,
                StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST
            ) && project_missing(&reply);
            if missing || (page == 1 && reply.status == StatusCode::NOT_FOUND) {
                return Ok(None);
            }
            let mut body: wire::Page<W> = expect(reply, &[StatusCode::OK], "GET", base)?;
            let last = body.is_last(PER_PAGE, items.len() + body.results.len());
            items.append(&mut body.results);
            if last {
                break;
            }
        }
        Ok(Some(items))
    }

    /// The project's serverless instances; `None` when the project does not exist.
    async fn serverless_instances(
        &self,
        group: &str,
    ) -> Result<Option<Vec<ServerlessInstance>>, AtlasError> {
        let base = format!("{V2}/groups/{}/serverless", seg(group));
        let list: Option<Vec<wire::ServerlessInstance>> =
            self.project_list(&base, How::DEFAULT).await?;
        Ok(list.map(|l| l.into_iter().map(ServerlessInstance::from).collect()))
    }

    /// The project's clusters and their regions; `None` when the project
    /// does not exist.
    async fn cluster_regions(
        &self,
        group: &str,
    ) -> Result<Option<Vec<ClusterRegions>>, AtlasError> {
        let base = format!("{V2}/groups/{}/clusters", seg(group));
        // The clusters list's current version: 2023-01-01 is sunset.
        let how = How {
            media_type: CLUSTERS_MEDIA_TYPE,
            retry: Retry::Always,
        };
        let list: Option<Vec<ClusterWire>> = self.project_list(&base, how).await?;
        Ok(list.map(|l| l.into_iter().map(ClusterWire::regions).collect()))
    }
}

impl AtlasCloud {
    /// The problems of the request's subjects: see the module's doc.
    pub(super) async fn check(&self, request: &Request<'_>) -> Result<Vec<Problem>, ProviderError> {
        let mut projects: BTreeMap<String, Needs<'_, '_>> = BTreeMap::new();
        for s in &request.subjects {
            let Some(project) = text(s, "project_id") else {
                continue;
            };
            let needs = projects.entry(project.to_owned()).or_default();
            match s.kind {
                ENDPOINT | LINK => needs.serverless = true,
                SERVICE | INTERFACE => needs.clusters = true,
                _ => continue,
            }
            needs.subjects.push(s);
        }
        let mut problems = Vec::new();
        // One after another, as the refresh reads (HTTP Digest numbers each
        // request on the shared nonce).
        for (project, needs) in &projects {
            let read = self.read_project(project, needs).await?;
            problems.extend(judge(request.purpose, project, needs, read));
        }
        Ok(problems)
    }

    /// The lists `needs` asks for; `None` when the project does not exist.
    async fn read_project(
        &self,
        project: &str,
        needs: &Needs<'_, '_>,
    ) -> Result<Option<Project>, ProviderError> {
        let serverless = match needs.serverless {
            true => match self.client.serverless_instances(project).await? {
                Some(l) => Some(l),
                None => return Ok(None),
            },
            false => None,
        };
        let clusters = match needs.clusters {
            true => match self.client.cluster_regions(project).await? {
                Some(l) => Some(l),
                None => return Ok(None),
            },
            false => None,
        };
        Ok(Some(Project {
            serverless,
            clusters,
        }))
    }
}

/// A string attribute of a subject.
fn text<'s>(s: &'s Subject<'_>, name: &str) -> Option<&'s str> {
    s.attrs.get(name).and_then(serde_json::Value::as_str)
}

/// The problems of one project's subjects, given what it holds.
fn judge(
    purpose: Purpose,
    project: &str,
    needs: &Needs<'_, '_>,
    read: Option<Project>,
) -> Vec<Problem> {
    let Some(read) = read else {
        let message = format!(
            "Atlas project {project} not found (Atlas answered that it does not exist); check atlas.project_id and that the credentials can reach it"
        );
        let mut p =
            Problem::new("atlas.project_id", message, needs.subjects[0].address).container();
        p.addresses
            .extend(needs.subjects.iter().map(|s| s.address.clone()));
        return vec![p];
    };
    let mut out = Vec::new();
    for s in &needs.subjects {
        let found = match (&read.serverless, &read.clusters) {
            (Some(instances), _) if matches!(s.kind, ENDPOINT | LINK) => {
                serverless_problem(purpose, project, s, instances)
            }
            (_, Some(clusters)) if purpose == Purpose::Create => {
                cluster_problem(project, s, clusters)
            }
            _ => None,
        };
        out.extend(found);
    }
    out
}

/// The endpoint's AWS region (and its Atlas name), from its site or, for a
/// shared endpoint service, its own attributes.
fn aws_region(s: &Subject<'_>) -> Option<(String, String)> {
    let region = match &s.site {
        Some(site) if site.provider == "AWS" => site.region.clone(),
        Some(_) => return None,
        None => text(s, "region")?.to_owned(),
    };
    let atlas = atlas_region(&region);
    Some((region, atlas))
}

/// A serverless subject's instance missing, or in another region.
fn serverless_problem(
    purpose: Purpose,
    project: &str,
    s: &Subject<'_>,
    instances: &[ServerlessInstance],
) -> Option<Problem> {
    let name = text(s, "instance")?;
    let at = origin(s.address);
    let Some(instance) = instances.iter().find(|i| i.name == name) else {
        let mut there: Vec<String> = instances.iter().map(|i| i.name.clone()).collect();
        there.sort();
        let message = format!(
            "serverless instance '{name}' not found in project {project}; instances there: {}",
            listing(&there)
        );
        return Some(Problem::new(at, message, s.address).container());
    };
    let (region, atlas) = aws_region(s)?;
    if purpose != Purpose::Create || instance.region_name == atlas {
        return None;
    }
    let message = format!(
        "serverless instance '{name}' is in Atlas region {}, but the endpoint is in AWS region {region} ({atlas})",
        instance.region_name
    );
    Some(Problem::new(at, message, s.address))
}

/// No cluster of the project in a dedicated subject's region.
fn cluster_problem(project: &str, s: &Subject<'_>, clusters: &[ClusterRegions]) -> Option<Problem> {
    let (region, atlas) = aws_region(s)?;
    if clusters.iter().any(|c| c.regions.contains(&atlas)) {
        return None;
    }
    let mut there: Vec<String> = clusters
        .iter()
        .map(|c| format!("{} ({})", c.name, c.regions.join(", ")))
        .collect();
    there.sort();
    let message = format!(
        "no cluster of project {project} is in AWS region {region} ({atlas}); clusters there: {}",
        listing(&there)
    );
    Some(Problem::new(origin(s.address), message, s.address))
}

/// The parts of a cluster description that say where it is: the region
/// configurations of today's API, the region map of the older one, or the
/// provider settings of a single-region cluster.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClusterWire {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    replication_specs: Option<Vec<SpecWire>>,
    #[serde(default)]
    provider_settings: Option<RegionWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpecWire {
    #[serde(default)]
    region_configs: Option<Vec<RegionWire>>,
    #[serde(default)]
    regions_config: Option<BTreeMap<String, serde_json::Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegionWire {
    #[serde(default)]
    region_name: Option<String>,
    #[serde(default)]
    provider_name: Option<String>,
}

impl RegionWire {
    /// The region, if it is an AWS one (or says no provider).
    fn aws(self) -> Option<String> {
        match self.provider_name.as_deref() {
            None | Some("AWS") => self.region_name,
            Some(_) => None,
        }
    }
}

impl ClusterWire {
    fn regions(self) -> ClusterRegions {
        let mut regions: Vec<String> = Vec::new();
        for spec in self.replication_specs.unwrap_or_default() {
            regions.extend(
                spec.region_configs
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(RegionWire::aws),
            );
            regions.extend(spec.regions_config.unwrap_or_default().into_keys());
        }
        regions.extend(self.provider_settings.and_then(RegionWire::aws));
        regions.sort();
        regions.dedup();
        ClusterRegions {
            name: self.name.unwrap_or_default(),
            regions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, Attrs};
    use crate::providers::parts::Site;

    fn cluster(json: &str) -> ClusterRegions {
        serde_json::from_str::<ClusterWire>(json).unwrap().regions()
    }

    #[test]
    fn cluster_regions_from_every_shape() {
        let today = cluster(
            r#"{"name":"a","replicationSpecs":[{"regionConfigs":[{"providerName":"AWS","regionName":"US_EAST_1"},{"providerName":"GCP","regionName":"CENTRAL_US"}]}]}"#,
        );
        assert_eq!(today.regions, vec!["US_EAST_1"]);
        let older = cluster(
            r#"{"name":"b","replicationSpecs":[{"regionsConfig":{"EU_WEST_1":{"electableNodes":3}}}]}"#,
        );
        assert_eq!(older.regions, vec!["EU_WEST_1"]);
        let single = cluster(
            r#"{"name":"c","replicationSpecs":null,"providerSettings":{"providerName":"AWS","regionName":"AP_SOUTH_1"}}"#,
        );
        assert_eq!(single.regions, vec!["AP_SOUTH_1"]);
    }

    fn instance(name: &str, region: &str) -> ServerlessInstance {
        ServerlessInstance {
            name: name.into(),
            region_name: region.into(),
            state_name: None,
            private_endpoint_srv: vec![],
        }
    }

    #[test]
    fn serverless_instances_are_found_by_name_and_region() {
        let address = Address::new("endpoints.app.atlas_endpoint");
        let attrs: Attrs =
            serde_json::from_str(r#"{"project_id":"p1","instance":"prod-typo"}"#).unwrap();
        let site = Some(Site {
            provider: "AWS",
            region: "us-east-1".into(),
        });
        let subject = Subject {
            address: &address,
            kind: ENDPOINT,
            attrs: &attrs,
            site,
        };
        let there = [
            instance("prod", "US_EAST_1"),
            instance("staging", "US_EAST_1"),
        ];
        let p = serverless_problem(Purpose::Create, "p1", &subject, &there).unwrap();
        assert_eq!(
            p.to_string(),
            "endpoints.app: serverless instance 'prod-typo' not found in project p1; instances there: prod, staging"
        );
        assert!(p.container_missing);
        let west = [instance("prod-typo", "EU_WEST_1")];
        let p = serverless_problem(Purpose::Create, "p1", &subject, &west).unwrap();
        assert!(p.message.contains("is in Atlas region EU_WEST_1"), "{p}");
        assert!(!p.container_missing);
        assert_eq!(
            serverless_problem(Purpose::Gone, "p1", &subject, &west),
            None
        );
    }
}
