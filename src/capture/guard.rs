//! Where a capture may connect. A server that fetches URLs its users name must not become their
//! way into its own network: loopback, private, link-local (and so cloud metadata at
//! 169.254.169.254 and fd00:ec2::254), shared, multicast, reserved and documentation addresses
//! are refused, IPv4 and IPv6 alike, including IPv4 carried inside IPv6 (mapped, NAT64, 6to4),
//! unless the operator allowed a range (`--capture-allow CIDR`). Only http and https URLs
//! without credentials are fetched.
//!
//! The check runs on every address a name resolves to, at connection time (the fetcher's
//! resolver filters what DNS returned, so a name cannot resolve to a public address when checked
//! and a private one when connected), and again on every redirect's target.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use url::{Host, Url};

/// Why an address is not one a capture may connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forbidden {
    /// 0.0.0.0/8, `::`: "this host".
    Unspecified,
    /// 127.0.0.0/8, `::1`.
    Loopback,
    /// RFC 1918, IPv6 unique local (fc00::/7).
    Private,
    /// 169.254.0.0/16 (where clouds serve instance metadata), fe80::/10.
    LinkLocal,
    /// 100.64.0.0/10, carrier-grade NAT (and Alibaba's metadata at 100.100.100.200).
    Shared,
    /// 224.0.0.0/4, ff00::/8, and 255.255.255.255.
    Multicast,
    /// Documentation and benchmarking ranges (192.0.2.0/24, 198.18.0.0/15, 2001:db8::/32, ...).
    Documentation,
    /// Reserved for future use or for protocols (240.0.0.0/4, 192.0.0.0/24, fec0::/10,
    /// 100::/64, 2001::/23, ...).
    Reserved,
}

impl fmt::Display for Forbidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unspecified => "an unspecified address",
            Self::Loopback => "a loopback address",
            Self::Private => "a private address",
            Self::LinkLocal => "a link-local address (cloud metadata lives there)",
            Self::Shared => "a shared (carrier-grade NAT) address",
            Self::Multicast => "a multicast or broadcast address",
            Self::Documentation => "a documentation or benchmarking address",
            Self::Reserved => "a reserved address",
        })
    }
}

/// Why a URL is not one a capture fetches.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("only http and https URLs are captured, not {0}:")]
    Scheme(String),
    #[error("a URL with a user name or password is not captured")]
    Credentials,
    #[error("the URL names no host")]
    NoHost,
    #[error("{address} is {why}; an operator can allow its range with --capture-allow")]
    Address { address: IpAddr, why: Forbidden },
}

/// The addresses captures may connect to: every public address, and the ranges the operator
/// allowed besides.
#[derive(Debug, Clone, Default)]
pub struct AddressPolicy {
    allowed: Vec<IpNet>,
}

impl AddressPolicy {
    pub fn new(allowed: Vec<IpNet>) -> Self {
        Self { allowed }
    }

    /// Whether a capture may connect to `address`.
    pub fn check(&self, address: IpAddr) -> Result<(), Refused> {
        if self.allowed.iter().any(|range| range.contains(&address)) {
            return Ok(());
        }
        match forbidden(address) {
            Some(why) => Err(Refused::Address { address, why }),
            None => Ok(()),
        }
    }

    /// Whether a capture may fetch `url`: its scheme, its credentials, and, when its host is
    /// an address rather than a name, that address (a name is checked as it resolves).
    pub fn check_url(&self, url: &Url) -> Result<(), Refused> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refused::Scheme(url.scheme().to_owned()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refused::Credentials);
        }
        match url.host() {
            None => Err(Refused::NoHost),
            Some(Host::Ipv4(v4)) => self.check(IpAddr::V4(v4)),
            Some(Host::Ipv6(v6)) => self.check(IpAddr::V6(v6)),
            Some(Host::Domain(_)) => Ok(()),
        }
    }
}

/// What is wrong with connecting to `address`, if anything.
pub fn forbidden(address: IpAddr) -> Option<Forbidden> {
    match address {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(v4: Ipv4Addr) -> Option<Forbidden> {
    use Forbidden::*;
    let [a, b, c, _] = v4.octets();
    Some(match (a, b, c) {
        (0, ..) => Unspecified,
        (127, ..) => Loopback,
        (10, ..) | (172, 16..=31, _) | (192, 168, _) => Private,
        (169, 254, _) => LinkLocal,
        (100, 64..=127, _) => Shared,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) | (198, 18..=19, _) => Documentation,
        (192, 0, 0) | (192, 88, 99) => Reserved,
        (224..=239, ..) => Multicast,
        _ if v4.is_broadcast() => Multicast,
        (240..=255, ..) => Reserved,
        _ => return None,
    })
}

fn forbidden_v6(v6: Ipv6Addr) -> Option<Forbidden> {
    use Forbidden::*;
    // IPv4 carried in IPv6 reaches the IPv4 address: judge that. Mapped (::ffff:a.b.c.d) and
    // the deprecated compatible form (::a.b.c.d), NAT64 (64:ff9b::/96), and 6to4 (2002::/16).
    if let Some(v4) = v6.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let s = v6.segments();
    if s[..6] == [0; 6] && !matches!(s[6..], [0, 0] | [0, 1]) {
        return forbidden_v4(Ipv4Addr::from(((s[6] as u32) << 16) | s[7] as u32));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return forbidden_v4(Ipv4Addr::from(((s[6] as u32) << 16) | s[7] as u32));
    }
    if s[0] == 0x2002 {
        return forbidden_v4(Ipv4Addr::from(((s[1] as u32) << 16) | s[2] as u32));
    }
    Some(match s[0] {
        _ if v6.is_unspecified() => Unspecified,
        _ if v6.is_loopback() => Loopback,
        0xfc00..=0xfdff => Private,
        0xfe80..=0xfebf => LinkLocal,
        0xfec0..=0xfeff => Reserved,
        0xff00..=0xffff => Multicast,
        0x2001 if s[1] == 0x0db8 => Documentation,
        // 2001::/23 holds protocol assignments (Teredo 2001::/32 among them), 100::/64 discards.
        0x2001 if s[1] < 0x0200 => Reserved,
        0x0100 if s[1..4] == [0, 0, 0] => Reserved,
        0x3fff if s[1] < 0x1000 => Documentation,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn what_a_server_must_not_reach_is_refused_by_name() {
        use Forbidden::*;
        for (address, why) in [
            ("0.0.0.0", Unspecified),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("10.1.2.3", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("169.254.169.254", LinkLocal),
            ("100.64.0.1", Shared),
            ("100.100.100.200", Shared),
            ("224.0.0.1", Multicast),
            ("255.255.255.255", Multicast),
            ("240.0.0.1", Reserved),
            ("192.0.0.170", Reserved),
            ("192.0.2.1", Documentation),
            ("198.18.0.1", Documentation),
            ("::", Unspecified),
            ("::1", Loopback),
            ("fd00:ec2::254", Private),
            ("fc00::1", Private),
            ("fe80::1", LinkLocal),
            ("ff02::1", Multicast),
            ("fec0::1", Reserved),
            ("2001:db8::1", Documentation),
            ("2001::1", Reserved),
            ("100::1", Reserved),
            // IPv4 inside IPv6 is judged as the IPv4 address it reaches.
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:169.254.169.254", LinkLocal),
            ("::127.0.0.1", Loopback),
            ("64:ff9b::10.0.0.1", Private),
            ("2002:a9fe:a9fe::", LinkLocal),
        ] {
            assert_eq!(forbidden(ip(address)), Some(why), "{address}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for address in [
            "93.184.215.14",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "::ffff:93.184.215.14",
            "64:ff9b::1.1.1.1",
            "2002:0101:0101::1",
        ] {
            assert_eq!(forbidden(ip(address)), None, "{address}");
            AddressPolicy::default().check(ip(address)).unwrap();
        }
    }

    #[test]
    fn the_operator_allows_a_range_and_nothing_beside_it() {
        let policy = AddressPolicy::new(vec!["127.0.0.0/8".parse().unwrap()]);
        policy.check(ip("127.0.0.1")).unwrap();
        let refused = policy.check(ip("::1")).unwrap_err();
        assert_eq!(refused, Refused::Address { address: ip("::1"), why: Forbidden::Loopback });
        assert!(refused.to_string().contains("--capture-allow"), "{refused}");
        assert!(policy.check(ip("10.0.0.1")).is_err());
    }

    #[test]
    fn only_plain_http_urls_without_credentials_are_fetched() {
        let policy = AddressPolicy::default();
        let url = |s: &str| Url::parse(s).unwrap();
        policy.check_url(&url("https://example.org/news/1")).unwrap();
        policy.check_url(&url("http://example.org:8080/")).unwrap();
        for (bad, want) in [
            ("file:///etc/passwd", Refused::Scheme("file".into())),
            ("ftp://example.org/", Refused::Scheme("ftp".into())),
            ("gopher://example.org/", Refused::Scheme("gopher".into())),
            ("https://user:pw@example.org/", Refused::Credentials),
            ("https://user@example.org/", Refused::Credentials),
        ] {
            assert_eq!(policy.check_url(&url(bad)), Err(want), "{bad}");
        }
        // Addresses written as hosts, in every spelling `url` normalizes.
        for bad in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://[::1]/",
            "http://[::ffff:169.254.169.254]/",
            "http://169.254.169.254/latest/meta-data/",
        ] {
            assert!(matches!(policy.check_url(&url(bad)), Err(Refused::Address { .. })), "{bad}");
        }
    }
}
