//! Who a request counts against, for throttling and the hashing line: the client's address (the
//! socket peer, or, when the peer is a trusted proxy, the right-most `X-Forwarded-For` entry that is
//! not one; entries further left are the client's to forge), reduced to a `ClientKey`.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    bits: u8,
}

impl Cidr {
    /// `10.0.0.0/8`, `::1/128`, or a bare address (one host).
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, bits) = match text.trim().split_once('/') {
            Some((a, b)) => (a.parse::<IpAddr>().ok()?, Some(b.parse::<u8>().ok()?)),
            None => (text.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(max);
        (bits <= max).then_some(Cidr { net: addr, bits })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        fn prefix(bytes: &[u8], bits: u8) -> impl Iterator<Item = u8> + '_ {
            let bits = bits as usize;
            bytes.iter().enumerate().map(move |(i, b)| {
                let keep = bits.saturating_sub(i * 8).min(8);
                if keep == 0 {
                    0
                } else {
                    b & (0xffu8 << (8 - keep))
                }
            })
        }
        match (self.net, canonical(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                prefix(&n.octets(), self.bits).eq(prefix(&a.octets(), self.bits))
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                prefix(&n.octets(), self.bits).eq(prefix(&a.octets(), self.bits))
            }
            _ => false,
        }
    }
}

/// An IPv4 peer on a dual-stack socket arrives as `::ffff:a.b.c.d`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// What a client's attempts are counted against. An IPv6 client is its /64, the smallest network a
/// subscriber is given, every address of which is theirs to use; an IPv4-mapped address is the IPv4
/// address. Connections whose peer address cannot be read share one bucket rather than count
/// nowhere. The bucket is private: whatever makes a key reduces the address first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientKey(Bucket);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Bucket {
    V4(std::net::Ipv4Addr),
    /// The network, host bits zero.
    V6(Ipv6Addr),
    Unknown,
}

impl ClientKey {
    pub const UNKNOWN: ClientKey = ClientKey(Bucket::Unknown);

    pub fn of(ip: IpAddr) -> ClientKey {
        ClientKey(match canonical(ip) {
            IpAddr::V4(v4) => Bucket::V4(v4),
            IpAddr::V6(v6) => Bucket::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        })
    }
}

/// `203.0.113.7`, `2001:db8:1:2::/64` or `unknown`: part of the throttle counts' keys.
impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Bucket::V4(a) => write!(f, "{a}"),
            Bucket::V6(net) => write!(f, "{net}/64"),
            Bucket::Unknown => f.write_str("unknown"),
        }
    }
}

/// `forwarded_for` is every `X-Forwarded-For` line in arrival order, read as one list: a proxy may
/// append a line of its own after the client's (haproxy's `option forwardfor` does), and the first
/// line alone would then be the client's to choose.
pub fn client<'a>(
    peer: Option<IpAddr>,
    forwarded_for: impl IntoIterator<Item = &'a str>,
    trusted: &[Cidr],
) -> ClientKey {
    peer.map_or(ClientKey::UNKNOWN, |peer| {
        ClientKey::of(address(peer, forwarded_for, trusted))
    })
}

fn address<'a>(
    peer: IpAddr,
    forwarded_for: impl IntoIterator<Item = &'a str>,
    trusted: &[Cidr],
) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let chain = forwarded_for.into_iter().collect::<Vec<_>>().join(",");
    let mut client = peer;
    for entry in chain.rsplit(',') {
        match entry.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = canonical(ip);
                if !is_trusted(client) {
                    break;
                }
            }
            // A garbled entry: trust nothing to its left.
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs_match_their_prefix_only() {
        let net = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(net.contains(ip("10.1.200.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(Cidr::parse("::1").unwrap().contains(ip("::1")));
        assert!(Cidr::parse("127.0.0.1")
            .unwrap()
            .contains(ip("::ffff:127.0.0.1")));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("nonsense").is_none());
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_peer() {
        let trusted = [Cidr::parse("10.0.0.0/8").unwrap()];
        let xff = ["6.6.6.6, 203.0.113.7, 10.0.0.2"];
        assert_eq!(address(ip("10.0.0.1"), xff, &trusted), ip("203.0.113.7"));
        assert_eq!(
            address(ip("198.51.100.1"), xff, &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(address(ip("10.0.0.1"), [], &trusted), ip("10.0.0.1"));
        assert_eq!(
            address(ip("10.0.0.1"), ["junk, 10.0.0.3"], &trusted),
            ip("10.0.0.3")
        );
    }

    #[test]
    fn every_forwarded_for_line_counts_in_arrival_order() {
        let trusted = [Cidr::parse("10.0.0.0/8").unwrap()];
        let from = |lines: &[&str]| address(ip("10.0.0.1"), lines.iter().copied(), &trusted);
        // The client's own line first, the proxy's appended after it.
        assert_eq!(from(&["6.6.6.6", "203.0.113.7"]), ip("203.0.113.7"));
        assert_eq!(
            from(&["6.6.6.6", "203.0.113.7, 10.0.0.2", "10.0.0.3"]),
            ip("203.0.113.7")
        );
        assert_eq!(from(&["203.0.113.7", ""]), ip("10.0.0.1"));
    }

    #[test]
    fn an_ipv6_client_is_its_64_and_an_ipv4_mapped_one_its_ipv4_address() {
        let key = |s: &str| ClientKey::of(ip(s));
        assert_eq!(
            key("2001:db8:1:2::7"),
            key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_ne!(key("2001:db8:1:2::7"), key("2001:db8:1:3::7"));
        assert_eq!(key("2001:db8:1:2:aaaa::7").to_string(), "2001:db8:1:2::/64");
        assert_eq!(key("::ffff:203.0.113.9"), key("203.0.113.9"));
        assert_eq!(key("::ffff:203.0.113.9").to_string(), "203.0.113.9");
        assert_ne!(key("203.0.113.9"), key("203.0.113.10"));
    }

    #[test]
    fn a_request_without_a_peer_address_counts_in_the_unknown_bucket() {
        let trusted = [Cidr::parse("127.0.0.1").unwrap()];
        assert_eq!(client(None, ["203.0.113.7"], &trusted), ClientKey::UNKNOWN);
        assert_eq!(ClientKey::UNKNOWN.to_string(), "unknown");
        assert_eq!(
            client(Some(ip("127.0.0.1")), ["2001:db8::1"], &trusted).to_string(),
            "2001:db8::/64"
        );
    }
}
