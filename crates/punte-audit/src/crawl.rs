//! The crawler: fetches a node's checkpoint, key list and entries over HTTP, with the caps and
//! checks of [`FetchOptions`], and gathers them into [`Evidence`].

use super::*;

/// Fetches a node's log over HTTP.
#[derive(Debug, Clone)]
pub struct Crawler {
    client: reqwest::Client,
    options: FetchOptions,
}

/// One page of `/log/entries`, as served.
#[derive(Debug, Deserialize)]
struct EntriesPage {
    start: u64,
    end: u64,
    size: u64,
    entries: Vec<WireEntry>,
}

/// A validated page.
struct Page {
    end: u64,
    entries: Vec<FetchedEntry>,
}

/// What one range crawl got: the entries, and the indexes the node failed to serve.
#[derive(Default)]
struct Crawled {
    entries: Vec<FetchedEntry>,
    unavailable: Vec<u64>,
}

#[derive(Debug, Deserialize)]
struct WireEntry {
    index: u64,
    entry: String,
    activity: Option<String>,
}

impl Crawler {
    pub fn new(options: FetchOptions) -> Result<Crawler, AuditError> {
        let client = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::limited(3))
            .user_agent(concat!("punte-audit/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(AuditError::Client)?;
        Ok(Crawler { client, options })
    }

    /// Fetches everything the audit of `request` needs. Answers that break the protocol
    /// (oversized, malformed, refused) stop the crawl with an error; content problems
    /// (bad signatures, gaps, …) are left for [`verify`] to report.
    pub async fn collect(
        &self,
        request: &AuditRequest,
        progress: &dyn Progress,
    ) -> Result<Evidence, AuditError> {
        let base = &request.base_url;
        let checkpoint_url = format!("{base}/log/checkpoint");
        let note = self
            .get(&checkpoint_url, self.options.max_small_bytes)
            .await?;
        let note = String::from_utf8(note).map_err(|_| AuditError::BadResponse {
            url: checkpoint_url.clone(),
            reason: "the checkpoint is not UTF-8".to_owned(),
        })?;
        // Unverified here: `verify` opens it. An unparsable checkpoint is a finding, and
        // the log size is then found by probing the entries endpoint.
        let checkpoint = parse_checkpoint(note.as_bytes());

        let key_url = format!("{base}/log/key");
        let key_text = self.get(&key_url, self.options.max_small_bytes).await?;
        let key_text = String::from_utf8(key_text).map_err(|_| AuditError::BadResponse {
            url: key_url.clone(),
            reason: "the key list is not UTF-8".to_owned(),
        })?;
        let published_keys: Vec<String> = key_text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();

        let anchor = choose_anchor(request, checkpoint.as_ref(), &published_keys)?;

        let mut checkpoints = Vec::new();
        let from = match &request.since {
            Some(state) => {
                checkpoints.push(state.checkpoint.clone());
                state.size
            }
            None => 0,
        };
        checkpoints.push(note);

        let mut consistency = None;
        if let (Some(state), Some(new)) = (&request.since, &checkpoint) {
            let old_size = state.size;
            let proof = if old_size == 0 || new.size <= old_size {
                String::new()
            } else {
                let url = format!(
                    "{base}/log/proof/consistency?old={old_size}&new={}",
                    new.size
                );
                let bytes = self.get(&url, self.options.max_small_bytes).await?;
                String::from_utf8(bytes).map_err(|_| AuditError::BadResponse {
                    url,
                    reason: "the proof is not UTF-8".to_owned(),
                })?
            };
            consistency = Some(ConsistencyEvidence {
                old_size,
                new_size: new.size,
                proof,
            });
        }

        // Crawl up to the checkpoint size, or to the end of what the node serves if that
        // is shorter (the missing tail is then a finding).
        let target = match &checkpoint {
            Some(c) => c.size,
            None => PROBE_LIMIT,
        };
        let end = self.served_end(base, from, target).await?;
        progress.set_total(end.saturating_sub(from));
        let step = self.options.page_size.clamp(1, MAX_PAGE_ENTRIES);
        let ranges: Vec<(u64, u64)> = (0..)
            .map(|i: u64| from.saturating_add(i.saturating_mul(step)))
            .take_while(|s| *s < end)
            .map(|s| (s, s.saturating_add(step).min(end)))
            .collect();
        let pages: Vec<Result<Crawled, AuditError>> = stream::iter(ranges)
            .map(|(s, e)| self.fetch_range(base, s, e, progress))
            .buffered(self.options.concurrency.max(1))
            .collect()
            .await;
        let mut entries = Vec::new();
        let mut unavailable = Vec::new();
        for page in pages {
            let mut page = page?;
            entries.append(&mut page.entries);
            unavailable.append(&mut page.unavailable);
            if unavailable.len() > MAX_UNAVAILABLE {
                return Err(AuditError::BadResponse {
                    url: format!("{base}/log/entries"),
                    reason: format!("more than {MAX_UNAVAILABLE} entries fail to load"),
                });
            }
        }

        let origin = parse_anchor(&anchor.vkey)?.name().to_owned();
        let served = self.fetch_served(base, &origin, &entries).await;

        Ok(Evidence {
            source: base.clone(),
            fetched_at: request.fetched_at.clone(),
            anchor,
            witness_keys: request
                .witnesses
                .iter()
                .map(NoteVerifier::to_vkey)
                .collect(),
            published_keys,
            start: request.since.clone(),
            checkpoints,
            consistency,
            timestamp_tolerance_ms: request.timestamp_tolerance_ms,
            disclosure_k: request.disclosure_k,
            entries,
            unavailable,
            served,
        })
    }

    /// What the node serves for every object of the log `origin` that `entries` publish, in
    /// id order (asked of the audited base URL, at the object's path).
    async fn fetch_served(
        &self,
        base: &str,
        origin: &str,
        entries: &[FetchedEntry],
    ) -> Vec<ServedObject> {
        let objects: Vec<(String, String)> = served::logged_objects(base, origin, entries)
            .into_iter()
            .map(|(id, (url, ..))| (id, url))
            .collect();
        stream::iter(objects)
            .map(|(id, url)| async move {
                let (status, body) = self.get_object(&url).await;
                ServedObject { id, status, body }
            })
            .buffered(self.options.concurrency.max(1))
            .collect()
            .await
    }

    /// GET `url` as AS2 JSON: the status (0 when it could not be fetched) and the body of a
    /// `200` answer within the small-body cap.
    async fn get_object(&self, url: &str) -> (u16, Option<String>) {
        let Ok(mut response) = self
            .client
            .get(url)
            .header("Accept", "application/activity+json")
            .send()
            .await
        else {
            return (0, None);
        };
        let status = response.status().as_u16();
        if status != 200 {
            return (status, None);
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if body.len() + chunk.len() <= self.options.max_small_bytes => {
                    body.extend_from_slice(&chunk);
                }
                Ok(Some(_)) | Err(_) => return (0, None),
                Ok(None) => break,
            }
        }
        (status, String::from_utf8(body).ok())
    }

    /// Whether the node serves a page ending at `end`: a 4xx answer means the range is
    /// beyond its log; a 5xx answer means the range exists but fails to load.
    async fn serves_up_to(&self, base: &str, end: u64) -> Result<bool, AuditError> {
        let start = end.saturating_sub(1);
        match self.fetch_page(base, start, end).await {
            Ok(_) => Ok(true),
            Err(AuditError::Status { status, .. }) if status >= 500 => Ok(true),
            Err(AuditError::Status { status, .. }) if status >= 400 => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// The end of the crawl: `target` if the node serves that far, else the size it
    /// serves (binary search, O(log n) requests). Never below `from`.
    async fn served_end(&self, base: &str, from: u64, target: u64) -> Result<u64, AuditError> {
        if target <= from || self.serves_up_to(base, target).await? {
            return Ok(target.max(from));
        }
        let (mut good, mut bad) = (from, target);
        while bad - good > 1 {
            let mid = good + (bad - good) / 2;
            if self.serves_up_to(base, mid).await? {
                good = mid;
            } else {
                bad = mid;
            }
        }
        Ok(good)
    }

    /// Fetches entries `start..end`, following short pages and splitting ranges that fail
    /// to load (5xx) down to the single entries that fail.
    async fn fetch_range(
        &self,
        base: &str,
        start: u64,
        end: u64,
        progress: &dyn Progress,
    ) -> Result<Crawled, AuditError> {
        let mut out = Crawled::default();
        // A stack of ranges still to fetch; the first range is on top, so order is kept.
        let mut todo = vec![(start, end)];
        while let Some((s, e)) = todo.pop() {
            match self.fetch_page(base, s, e).await {
                Ok(mut page) => {
                    progress.advance(page.end - s);
                    out.entries.append(&mut page.entries);
                    if page.end < e {
                        todo.push((page.end, e));
                    }
                }
                Err(AuditError::Status { status, .. }) if status >= 500 => {
                    if e - s > 1 {
                        let mid = s + (e - s) / 2;
                        todo.push((mid, e));
                        todo.push((s, mid));
                    } else {
                        progress.advance(1);
                        out.unavailable.push(s);
                        if out.unavailable.len() > MAX_UNAVAILABLE {
                            return Err(AuditError::BadResponse {
                                url: format!("{base}/log/entries"),
                                reason: format!("more than {MAX_UNAVAILABLE} entries fail to load"),
                            });
                        }
                    }
                }
                Err(other) => return Err(other),
            }
        }
        Ok(out)
    }

    /// One page `start..end` (`start < end`), validated.
    async fn fetch_page(&self, base: &str, start: u64, end: u64) -> Result<Page, AuditError> {
        let url = format!("{base}/log/entries?start={start}&end={end}");
        let body = self.get(&url, self.options.max_page_bytes).await?;
        let bad = |reason: String| AuditError::BadResponse {
            url: url.clone(),
            reason,
        };
        let page: EntriesPage = serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
        if page.start != start {
            return Err(bad(format!(
                "the page starts at {} not {start}",
                page.start
            )));
        }
        if page.end > end || page.end <= page.start || page.end > page.size {
            return Err(bad(format!(
                "the page end {} is outside {start}..={end} or beyond the size {}",
                page.end, page.size
            )));
        }
        let span = page.end - page.start;
        if page.entries.len() as u64 > span {
            return Err(bad(format!(
                "{} entries in a page of {span}",
                page.entries.len()
            )));
        }
        let mut entries = Vec::with_capacity(page.entries.len());
        for (n, wire) in page.entries.into_iter().enumerate() {
            let entry = BASE64
                .decode(&wire.entry)
                .map_err(|_| bad(format!("entry {n} of the page is not base64")))?;
            let activity = match wire.activity {
                Some(text) => Some(
                    BASE64
                        .decode(&text)
                        .map_err(|_| bad(format!("activity {n} of the page is not base64")))?,
                ),
                None => None,
            };
            entries.push(FetchedEntry {
                index: wire.index,
                entry,
                activity,
            });
        }
        Ok(Page {
            end: page.end,
            entries,
        })
    }

    /// GET with status check and a body size cap.
    async fn get(&self, url: &str, limit: usize) -> Result<Vec<u8>, AuditError> {
        let http = |source| AuditError::Http {
            url: url.to_owned(),
            source,
        };
        let mut response = self.client.get(url).send().await.map_err(http)?;
        let status = response.status();
        if !status.is_success() {
            return Err(AuditError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
            });
        }
        let too_large = || AuditError::TooLarge {
            url: url.to_owned(),
            limit,
        };
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http)? {
            if body.len().saturating_add(chunk.len()) > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// Picks the trust anchor: a saved state's, a pinned key, or the first published key.
fn choose_anchor(
    request: &AuditRequest,
    checkpoint: Option<&Checkpoint>,
    published: &[String],
) -> Result<TrustAnchor, AuditError> {
    let origin = checkpoint.map(|c| c.origin.as_str());
    if let Some(state) = &request.since {
        if let Some(pinned) = request.pinned.iter().find(|k| k.name() == state.origin)
            && pinned.to_vkey() != state.anchor
        {
            return Err(AuditError::Anchor(format!(
                "--key {} differs from the saved state's anchor {}",
                pinned.to_vkey(),
                state.anchor
            )));
        }
        return Ok(TrustAnchor {
            vkey: state.anchor.clone(),
            source: AnchorSource::SavedState,
        });
    }
    let by_origin = request
        .pinned
        .iter()
        .find(|k| origin.is_some_and(|o| k.name() == o));
    let chosen = match (by_origin, request.pinned.as_slice()) {
        (Some(key), _) => Some(key),
        (None, [only]) => Some(only),
        (None, []) => None,
        (None, _) => {
            return Err(AuditError::Anchor(format!(
                "no --key is named after the node's origin {}",
                origin.unwrap_or("(unknown: the checkpoint does not parse)")
            )));
        }
    };
    if let Some(key) = chosen {
        return Ok(TrustAnchor {
            vkey: key.to_vkey(),
            source: AnchorSource::Given,
        });
    }
    let first = published.first().ok_or_else(|| {
        AuditError::Anchor("the node publishes no key at /log/key; pass --key".to_owned())
    })?;
    let verifier = parse_anchor(first)
        .map_err(|e| AuditError::Anchor(format!("the first key of /log/key: {e}")))?;
    Ok(TrustAnchor {
        vkey: verifier.to_vkey(),
        source: AnchorSource::FirstUse,
    })
}
