//! What a capturer owes the sites it fetches: their robots.txt, remembered for a while, and a
//! bound on how often one host is asked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use url::Url;

use super::fetch::Fetcher;
use super::robots::{MAX_ROBOTS_BYTES, Robots};

/// The product token robots.txt groups are matched against (RFC 9309 §2.2.1).
const ROBOTS_TOKEN: &str = "palimpsest";
/// Hosts remembered at once (robots.txt, captures this minute); past it the memory starts over.
const MAX_HOSTS: usize = 10_000;
const MINUTE: Duration = Duration::from_secs(60);

pub struct Politeness {
    per_host_per_minute: u32,
    robots_ttl: Duration,
    robots: Mutex<HashMap<String, (Instant, Arc<Robots>)>>,
    hosts: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Politeness {
    pub fn new(per_host_per_minute: u32, robots_ttl: Duration) -> Self {
        Self { per_host_per_minute, robots_ttl, robots: Mutex::default(), hosts: Mutex::default() }
    }

    /// Whether robots.txt lets this crawler fetch `url`.
    pub async fn robots_allow(&self, fetcher: &Fetcher, url: &Url) -> bool {
        self.robots_for(fetcher, url).await.allows(url)
    }

    /// The robots.txt rules of `url`'s origin, fetched at most once per `robots_ttl`. As RFC
    /// 9309 §2.3.1 says: a robots.txt that is not there (4xx) allows everything; one that
    /// cannot be read (5xx, unreachable) disallows everything.
    async fn robots_for(&self, fetcher: &Fetcher, url: &Url) -> Arc<Robots> {
        let origin = url.origin().ascii_serialization();
        if let Some((at, robots)) =
            self.robots.lock().unwrap_or_else(|e| e.into_inner()).get(&origin)
            && at.elapsed() < self.robots_ttl
        {
            return robots.clone();
        }
        let robots = match url.join("/robots.txt") {
            Err(_) => Robots::disallow_all(),
            Ok(robots_url) => match fetcher.fetch_start(&robots_url, MAX_ROBOTS_BYTES).await {
                Ok(fetched) if (200..300).contains(&fetched.status) => {
                    Robots::parse(ROBOTS_TOKEN, &fetched.body)
                }
                Ok(fetched) if (400..500).contains(&fetched.status) => Robots::allow_all(),
                _ => Robots::disallow_all(),
            },
        };
        let robots = Arc::new(robots);
        let mut cache = self.robots.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_HOSTS {
            cache.clear();
        }
        cache.insert(origin, (Instant::now(), robots.clone()));
        robots
    }

    /// How long until `url`'s host may be asked again, if it had its captures this minute;
    /// else counts this one.
    pub fn host_busy(&self, url: &Url) -> Option<Duration> {
        let host = url.host_str()?.to_owned();
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        if hosts.len() >= MAX_HOSTS {
            hosts.retain(|_, (start, _)| start.elapsed() < MINUTE);
        }
        let (start, count) = hosts.entry(host).or_insert((Instant::now(), 0));
        if start.elapsed() >= MINUTE {
            *start = Instant::now();
            *count = 0;
        }
        if *count >= self.per_host_per_minute {
            return Some(MINUTE.saturating_sub(start.elapsed()));
        }
        *count += 1;
        None
    }
}
