//! Which IP addresses the fetcher may connect to: none of the special-purpose ranges of the
//! IANA registries (IPv4 and IPv6 Special-Purpose Address Registries, RFC 6890 and its
//! updates, plus multicast), so a name or a literal cannot point the node at its own network
//! or at addresses that are not on the public internet. The ranges are data; one test walks
//! the first and last address of each.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 ranges that are never a public server: (network, prefix length, what).
const V4: &[(Ipv4Addr, u8, &str)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8, "this network (RFC 791)"),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "private use (RFC 1918)"),
    (
        Ipv4Addr::new(100, 64, 0, 0),
        10,
        "shared address space (RFC 6598)",
    ),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "loopback (RFC 1122)"),
    (Ipv4Addr::new(169, 254, 0, 0), 16, "link local (RFC 3927)"),
    (Ipv4Addr::new(172, 16, 0, 0), 12, "private use (RFC 1918)"),
    (
        Ipv4Addr::new(192, 0, 0, 0),
        24,
        "IETF protocol assignments (RFC 6890)",
    ),
    (
        Ipv4Addr::new(192, 0, 2, 0),
        24,
        "documentation TEST-NET-1 (RFC 5737)",
    ),
    (
        Ipv4Addr::new(192, 88, 99, 0),
        24,
        "deprecated 6to4 relay anycast (RFC 7526)",
    ),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "private use (RFC 1918)"),
    (Ipv4Addr::new(198, 18, 0, 0), 15, "benchmarking (RFC 2544)"),
    (
        Ipv4Addr::new(198, 51, 100, 0),
        24,
        "documentation TEST-NET-2 (RFC 5737)",
    ),
    (
        Ipv4Addr::new(203, 0, 113, 0),
        24,
        "documentation TEST-NET-3 (RFC 5737)",
    ),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "multicast (RFC 5771)"),
    (
        Ipv4Addr::new(240, 0, 0, 0),
        4,
        "reserved (RFC 1112), broadcast (RFC 919)",
    ),
];

/// IPv6 ranges that are never a public server. `::ffff:0:0/96` (IPv4-mapped) is judged by
/// its IPv4 address instead.
const V6: &[(Ipv6Addr, u8, &str)] = &[
    (
        Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0),
        96,
        "unspecified, loopback and IPv4-compatible (RFC 4291)",
    ),
    (
        Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0),
        96,
        "IPv4/IPv6 translation (RFC 6052): may reach any IPv4 address",
    ),
    (
        Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0),
        48,
        "local-use IPv4/IPv6 translation (RFC 8215)",
    ),
    (
        Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0),
        64,
        "discard-only (RFC 6666)",
    ),
    (
        Ipv6Addr::new(0x100, 0, 0, 1, 0, 0, 0, 0),
        64,
        "dummy prefix (RFC 9780)",
    ),
    (
        Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0),
        23,
        "IETF protocol assignments (RFC 2928)",
    ),
    (
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0),
        32,
        "documentation (RFC 3849)",
    ),
    (
        Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0),
        16,
        "6to4 (RFC 3056): may embed any IPv4 address",
    ),
    (
        Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0),
        20,
        "documentation (RFC 9637)",
    ),
    (
        Ipv6Addr::new(0x5f00, 0, 0, 0, 0, 0, 0, 0),
        16,
        "segment routing SIDs (RFC 9602)",
    ),
    (
        Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0),
        7,
        "unique local (RFC 4193)",
    ),
    (
        Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0),
        10,
        "link-local unicast (RFC 4291)",
    ),
    (
        Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0),
        10,
        "deprecated site-local (RFC 3879)",
    ),
    (
        Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0),
        8,
        "multicast (RFC 4291)",
    ),
];

fn in_v4(ip: Ipv4Addr, net: Ipv4Addr, len: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(net) & mask
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, len: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net) & mask
}

/// The special-purpose range `ip` is in, if any.
pub fn special_purpose(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => V4
            .iter()
            .find(|(net, len, _)| in_v4(v4, *net, *len))
            .map(|(_, _, what)| *what),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => special_purpose(IpAddr::V4(v4)),
            None => V6
                .iter()
                .find(|(net, len, _)| in_v6(v6, *net, *len))
                .map(|(_, _, what)| *what),
        },
    }
}

/// True for addresses a public server may have.
pub fn is_public_address(ip: IpAddr) -> bool {
    special_purpose(ip).is_none()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_first_and_last_address_of_every_special_range_is_refused() {
        for (net, len, what) in V4 {
            let first = u32::from(*net) & u32::MAX.checked_shl(32 - u32::from(*len)).unwrap_or(0);
            let last = first | !u32::MAX.checked_shl(32 - u32::from(*len)).unwrap_or(0);
            for ip in [first, last] {
                let ip = Ipv4Addr::from(ip);
                assert!(!is_public_address(IpAddr::V4(ip)), "{ip} ({what})");
                // and as an IPv4-mapped IPv6 literal
                assert!(
                    !is_public_address(IpAddr::V6(ip.to_ipv6_mapped())),
                    "{ip} mapped"
                );
            }
        }
        for (net, len, what) in V6 {
            let mask = u128::MAX.checked_shl(128 - u32::from(*len)).unwrap_or(0);
            let first = u128::from(*net) & mask;
            for ip in [first, first | !mask] {
                let ip = Ipv6Addr::from(ip);
                assert!(!is_public_address(IpAddr::V6(ip)), "{ip} ({what})");
            }
        }
    }

    #[test]
    fn literals_that_hide_a_private_address_are_refused_and_public_ones_pass() {
        for ip in [
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "[::]",
            "64:ff9b::a00:1",
            "2002:a00:1::1",
            "192.0.0.9",
            "169.254.169.254",
        ] {
            let ip: IpAddr = ip.trim_matches(['[', ']']).parse().unwrap();
            assert!(!is_public_address(ip), "{ip} must not be public");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.0",
            "172.32.0.1",
            "192.0.3.1",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001::1",
            "2001:200::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(is_public_address(ip), "{ip} is public");
        }
    }
}
