//! Where the Graph API client may connect: attachment links only on Meta's
//! CDN over https, and never to an address inside the city's network.
//!
//! Three checks, so that no way round one of them is left open:
//! - every URL (the first one and every redirect hop) is checked by its
//!   scheme and host name against the allow-list ([`LinkPolicy::check`]);
//! - a host written as an IP address must be a public address;
//! - a host name is resolved by [`PublicResolver`], which drops every
//!   loopback, private, link-local, shared (CGNAT), multicast or otherwise
//!   special address, at connect time: a name that resolves to an inside
//!   address on the second lookup (DNS rebinding) is refused all the same.
//!
//! The Graph API base the operator configured is trusted as written (a local
//! stand-in in tests, a proxy in some deployments).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

/// Whether `ip` is an ordinary public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let seg = v6.segments();
            let special = v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // unique local fc00::/7, link-local fe80::/10
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                // IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96, documentation 2001:db8::/32
                || (seg[..6] == [0, 0, 0, 0, 0, 0])
                || (seg[0] == 0x64 && seg[1] == 0xff9b)
                || (seg[0] == 0x2001 && seg[1] == 0x0db8)
                // 6to4 2002::/16 embeds an IPv4 address that may be private
                || (seg[0] == 0x2002);
            !special
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, _, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_unspecified()
        || ip.is_documentation()
        || a == 0
        // shared address space (CGNAT) 100.64.0.0/10
        || (a == 100 && (b & 0xc0) == 64)
        // IETF protocol assignments 192.0.0.0/24, benchmarking 198.18.0.0/15
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (b & 0xfe) == 18)
        // reserved 240.0.0.0/4
        || a >= 240)
}

/// Which URLs the client may fetch attachments from and follow redirects to.
#[derive(Debug, Clone)]
pub struct LinkPolicy {
    hosts: Vec<String>,
    api_origin: Url,
}

impl LinkPolicy {
    /// A policy allowing `hosts` (and their subdomains) over https, and the
    /// configured Graph API origin as written.
    pub fn new(hosts: &[String], api_origin: Url) -> Self {
        Self {
            hosts: hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
            api_origin,
        }
    }

    fn is_api_origin(&self, url: &Url) -> bool {
        url.origin() == self.api_origin.origin()
    }

    /// Checks one URL: the Graph API origin, or https to an allowed host
    /// name or public address.
    ///
    /// # Errors
    /// A sentence for the agent saying why the link is not fetched.
    pub fn check(&self, url: &Url) -> Result<(), String> {
        if self.is_api_origin(url) {
            return Ok(());
        }
        if url.scheme() != "https" {
            return Err("the attachment link is not https".to_owned());
        }
        let Some(host) = url.host_str() else {
            return Err("the attachment link has no host".to_owned());
        };
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if bare.parse::<IpAddr>().is_ok() {
            return Err(
                "the attachment link names an address, not Meta's content network".to_owned(),
            );
        }
        let host = host.to_ascii_lowercase();
        let allowed = self.hosts.iter().any(|allowed| {
            host == *allowed
                || host
                    .strip_suffix(allowed.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        });
        if allowed {
            Ok(())
        } else {
            Err("the attachment link is not on Meta's content network".to_owned())
        }
    }

    /// The redirect policy of the client: at most `max` hops, each checked
    /// like the first URL.
    pub fn redirect_policy(self: Arc<Self>, max: usize) -> reqwest::redirect::Policy {
        reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > max {
                return attempt.error("too many redirects");
            }
            match self.check(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(reason) => attempt.error(format!("redirect refused: {reason}")),
            }
        })
    }

    /// The host of the Graph API base, which the resolver lets through.
    pub fn api_host(&self) -> Option<String> {
        self.api_origin.host_str().map(str::to_ascii_lowercase)
    }
}

/// Resolves host names like the system does, then keeps public addresses
/// only (all of them for the configured Graph API host).
#[derive(Debug, Clone)]
pub struct PublicResolver {
    trusted_host: Option<String>,
}

impl PublicResolver {
    /// A resolver that trusts `trusted_host` (the Graph API base's host).
    pub fn new(trusted_host: Option<String>) -> Self {
        Self { trusted_host }
    }
}

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let trusted = self.trusted_host.as_deref() == Some(host.as_str());
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| trusted || is_public(addr.ip()))
                .collect();
            if kept.is_empty() {
                let error: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves to no public address").into();
                return Err(error);
            }
            let addrs: Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
fn v6(text: &str) -> IpAddr {
    IpAddr::V6(text.parse::<std::net::Ipv6Addr>().expect("an IPv6 address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_addresses_are_not_public() {
        for text in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "224.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "198.18.0.1",
        ] {
            assert!(!is_public(text.parse().unwrap()), "{text}");
        }
        for text in [
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
        ] {
            assert!(!is_public(v6(text)), "{text}");
        }
        for text in ["157.240.1.35", "8.8.8.8", "100.128.0.1"] {
            assert!(is_public(text.parse().unwrap()), "{text}");
        }
        assert!(is_public(v6("2a03:2880:f10c:83:face:b00c:0:25de")));
    }

    fn policy() -> LinkPolicy {
        LinkPolicy::new(
            &["fbcdn.net".to_owned(), "fbsbx.com".to_owned()],
            Url::parse("https://graph.facebook.com").unwrap(),
        )
    }

    #[test]
    fn only_https_links_on_allowed_hosts_pass() {
        let policy = policy();
        let ok = |u: &str| policy.check(&Url::parse(u).unwrap());
        assert!(ok("https://scontent.xx.fbcdn.net/v/t1/a.jpg").is_ok());
        assert!(ok("https://fbcdn.net/a.jpg").is_ok());
        assert!(ok("https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1").is_ok());
        assert!(ok("http://scontent.xx.fbcdn.net/a.jpg").is_err());
        assert!(ok("https://evilfbcdn.net/a.jpg").is_err());
        assert!(ok("https://fbcdn.net.evil.example/a.jpg").is_err());
        assert!(ok("https://127.0.0.1/a.jpg").is_err());
        assert!(ok("https://[::1]/a.jpg").is_err());
        assert!(ok("https://localhost/a.jpg").is_err());
        assert!(ok("ftp://fbcdn.net/a.jpg").is_err());
        assert!(ok("file:///etc/passwd").is_err());
        // The configured API origin is the operator's choice.
        assert!(ok("https://graph.facebook.com/v21.0/123").is_ok());
    }

    #[tokio::test]
    async fn the_resolver_drops_inside_addresses() {
        let resolver = PublicResolver::new(None);
        let name: Name = "localhost".parse().unwrap();
        assert!(resolver.resolve(name).await.is_err());
        let trusting = PublicResolver::new(Some("localhost".to_owned()));
        let name: Name = "localhost".parse().unwrap();
        let addrs: Vec<SocketAddr> = trusting.resolve(name).await.unwrap().collect();
        assert!(!addrs.is_empty());
    }
}
