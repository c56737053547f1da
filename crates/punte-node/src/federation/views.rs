//! Read-only views of the federation side for the web interface: partners' practices as
//! model values (parsed again from the replicated objects), partners' organisation profiles,
//! and received activities after a sequence number (the live feed's incoming stream).
//!
//! Nothing here writes or talks to the network; everything reads the store once.

use std::collections::BTreeMap;

use serde_json::Value;

use punte_model::{OrganisationProfile, Practice};
use punte_protocol::objects::{parse_organisation, parse_practice};
use punte_protocol::urls::origin_of;
use punte_store::federation::{self as store, InboxRow, RecentCursor, ReplicaObject};

use super::Federation;
use crate::error::Result;

/// A partner's practice as replicated, rebuilt as a [`Practice`] (its `id` is the id on the
/// partner's node).
#[derive(Debug, Clone)]
pub struct PartnerPractice {
    /// The practice's URL on the partner's node (the object id).
    pub url: String,
    /// The partner's actor id.
    pub actor: String,
    pub practice: Practice,
    /// The partner's log index of the latest Create or Update.
    pub log_index: u64,
    /// When this node received that version (unix ms).
    pub updated_ms: i64,
}

/// Partners' practices, and the replicated objects that did not read as practices (by URL,
/// with the reason; they were checked when received, so this is a bug or a format change).
#[derive(Debug, Clone, Default)]
pub struct PartnerPractices {
    pub practices: Vec<PartnerPractice>,
    pub unreadable: Vec<(String, String)>,
}

fn partner_practice(o: &ReplicaObject) -> std::result::Result<PartnerPractice, String> {
    let origin = origin_of(&o.actor).map_err(|e| e.to_string())?;
    let object: Value = serde_json::from_str(&o.object).map_err(|e| e.to_string())?;
    let practice = parse_practice(&object, &origin).map_err(|e| e.to_string())?;
    Ok(PartnerPractice {
        url: o.object_id.clone(),
        actor: o.actor.clone(),
        practice,
        log_index: o.log_index,
        updated_ms: o.updated_ms,
    })
}

impl Federation {
    /// One page of partners' practices (optionally of one partner), most recently received
    /// first: `limit` after `after`, and where the next page starts when there may be one.
    /// Only the page's objects are parsed.
    pub fn partner_practices_page(
        &self,
        actor: Option<&str>,
        after: Option<&RecentCursor>,
        limit: u32,
    ) -> Result<(PartnerPractices, Option<RecentCursor>)> {
        let limit = limit.clamp(1, 200);
        let objects = self.node.store().read(|conn| {
            store::replica_objects_recent(conn, actor, "practice", after, limit + 1)
        })?;
        let more = objects.len() > limit as usize;
        let page = objects.get(..limit as usize).unwrap_or(&objects);
        let next = more.then(|| page.last()).flatten().map(|o| RecentCursor {
            updated_ms: o.updated_ms,
            object_id: o.object_id.clone(),
        });
        let mut out = PartnerPractices::default();
        for o in page {
            match partner_practice(o) {
                Ok(p) => out.practices.push(p),
                Err(reason) => out.unreadable.push((o.object_id.clone(), reason)),
            }
        }
        Ok((out, next))
    }

    /// How many practices partners have (not deleted), optionally one partner.
    pub fn partner_practice_count(&self, actor: Option<&str>) -> Result<u64> {
        Ok(self
            .node
            .store()
            .read(|conn| store::count_replica_objects(conn, actor, "practice"))?)
    }

    /// One replicated practice by its URL; `None` when unknown, deleted or unreadable.
    pub fn partner_practice(&self, url: &str) -> Result<Option<PartnerPractice>> {
        let object = self
            .node
            .store()
            .read(|conn| store::replica_object_by_id(conn, url))?;
        Ok(object
            .filter(|o| o.kind == "practice" && !o.deleted)
            .and_then(|o| partner_practice(&o).ok()))
    }

    /// The organisation profile of each remote actor this node knows as a partner (followed
    /// or following), by actor id: from the replicated `Organization` object when the
    /// partner published one, else from its actor document as fetched. Actors without a
    /// readable profile (other software) are left out.
    pub fn partner_profiles(&self) -> Result<BTreeMap<String, OrganisationProfile>> {
        Ok(self.node.store().read(|conn| {
            let mut actors: Vec<String> = store::following(conn, None)?
                .into_iter()
                .chain(store::followers(conn, None)?)
                .map(|f| f.actor)
                .collect();
            actors.sort();
            actors.dedup();
            let mut out = BTreeMap::new();
            for actor in actors {
                let replicated =
                    store::replica_objects(conn, Some(&actor), Some("organisation"), false)?
                        .into_iter()
                        .find(|o| o.object_id == actor)
                        .and_then(|o| serde_json::from_str::<Value>(&o.object).ok());
                let document = match replicated {
                    Some(d) => Some(d),
                    None => store::actor(conn, &actor)?
                        .and_then(|a| serde_json::from_slice::<Value>(&a.document).ok()),
                };
                if let Some(profile) = document.and_then(|d| parse_organisation(&d).ok()) {
                    out.insert(actor, profile);
                }
            }
            Ok::<_, punte_store::StoreError>(out)
        })?)
    }

    /// Received activities with a sequence number above `after`, oldest first.
    pub fn inbox_since(&self, after: i64, limit: u32) -> Result<Vec<InboxRow>> {
        Ok(self
            .node
            .store()
            .read(|conn| store::inbox_since(conn, after, limit.clamp(1, 500)))?)
    }
}
