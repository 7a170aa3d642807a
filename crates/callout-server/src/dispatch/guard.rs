//! The address guard: a call-out may reach only public unicast addresses, unless an operator
//! allows a network. The host is resolved once, every address is vetted, and the connection
//! is made to a vetted address, so a second lookup cannot send it elsewhere.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ipnet::IpNet;

/// The rejection of an address, with its class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The address.
    pub address: IpAddr,
    /// The class it belongs to, such as `private` or `loopback`.
    pub class: &'static str,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "address {} is {} and call-outs may not reach it; an operator can allow its \
             network with --allow-network",
            self.address, self.class
        )
    }
}

/// Networks that call-outs may not reach, with their class. IPv6 forms that embed an IPv4
/// address are checked through the embedded address, in [`classify`].
const DENIED_V4: [(&str, &str); 15] = [
    ("0.0.0.0/8", "unspecified"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared address space (CGNAT)"),
    ("127.0.0.0/8", "loopback"),
    // Covers the cloud metadata address 169.254.169.254.
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved for protocol assignments"),
    ("192.0.2.0/24", "reserved for documentation"),
    ("192.88.99.0/24", "a 6to4 relay anycast address"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "reserved for benchmarking"),
    ("198.51.100.0/24", "reserved for documentation"),
    ("203.0.113.0/24", "reserved for documentation"),
    ("224.0.0.0/4", "multicast"),
    // Includes the broadcast address 255.255.255.255.
    ("240.0.0.0/4", "reserved"),
];

const DENIED_V6: [(&str, &str); 9] = [
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "discard-only"),
    ("2001:db8::/32", "reserved for documentation"),
    ("fc00::/7", "unique-local"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
];

/// Returns the class of a denied address, or `None` for a public unicast address.
pub fn classify(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(address: Ipv4Addr) -> Option<&'static str> {
    DENIED_V4.iter().find_map(|(network, class)| {
        let network: IpNet = network
            .parse()
            .expect("the table contains only valid networks");
        network.contains(&IpAddr::V4(address)).then_some(*class)
    })
}

fn classify_v6(address: Ipv6Addr) -> Option<&'static str> {
    if let Some(class) = DENIED_V6.iter().find_map(|(network, class)| {
        let network: IpNet = network
            .parse()
            .expect("the table contains only valid networks");
        network.contains(&IpAddr::V6(address)).then_some(*class)
    }) {
        return Some(class);
    }

    // Forms that carry an IPv4 address: the address they reach is the embedded one.
    let segments = address.segments();
    let octets = address.octets();
    let embedded =
        |at: usize| Ipv4Addr::new(octets[at], octets[at + 1], octets[at + 2], octets[at + 3]);
    let carried = if segments[..6] == [0, 0, 0, 0, 0, 0xffff] {
        // IPv4-mapped, ::ffff:a.b.c.d.
        Some(embedded(12))
    } else if segments[..6] == [0, 0, 0, 0, 0, 0] {
        // IPv4-compatible, ::a.b.c.d (deprecated, still routed by some stacks).
        Some(embedded(12))
    } else if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64 well-known prefix, 64:ff9b::a.b.c.d.
        Some(embedded(12))
    } else if segments[0] == 0x2002 {
        // 6to4, 2002:AABB:CCDD::/48.
        Some(embedded(2))
    } else if segments[0] == 0x2001 && segments[1] == 0 {
        // Teredo, 2001:0::/32: the client's address is the last 32 bits, inverted.
        let last = embedded(12).octets();
        Some(Ipv4Addr::new(!last[0], !last[1], !last[2], !last[3]))
    } else {
        None
    };
    carried.and_then(classify_v4)
}

/// Vets the addresses a call-out may connect to.
#[derive(Clone, Debug, Default)]
pub struct Guard {
    allowed: Vec<IpNet>,
}

impl Guard {
    /// Creates a guard that also lets call-outs reach the `allowed` networks.
    pub fn new(allowed: Vec<IpNet>) -> Guard {
        Guard { allowed }
    }

    /// Checks one address.
    pub fn check(&self, address: IpAddr) -> Result<(), Refusal> {
        if self
            .allowed
            .iter()
            .any(|network| network.contains(&address))
        {
            return Ok(());
        }
        // An IPv4-mapped address is allowed when its IPv4 network is.
        if let IpAddr::V6(v6) = address {
            if let Some(v4) = v6.to_ipv4_mapped() {
                if self
                    .allowed
                    .iter()
                    .any(|network| network.contains(&IpAddr::V4(v4)))
                {
                    return Ok(());
                }
            }
        }
        match classify(address) {
            Some(class) => Err(Refusal { address, class }),
            None => Ok(()),
        }
    }

    /// Checks every address of a resolved host. One denied address refuses them all, so a
    /// name that resolves to a public and a private address cannot be used to reach the
    /// private one.
    pub fn check_all(&self, addresses: &[SocketAddr]) -> Result<(), Refusal> {
        addresses
            .iter()
            .try_for_each(|address| self.check(address.ip()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denied_addresses_table() {
        let cases = [
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "unspecified"),
            ("10.0.0.1", "private"),
            ("10.255.255.255", "private"),
            ("100.64.0.1", "shared address space (CGNAT)"),
            ("100.100.100.200", "shared address space (CGNAT)"),
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("169.254.169.254", "link-local"),
            ("169.254.0.1", "link-local"),
            ("172.16.0.1", "private"),
            ("172.31.255.254", "private"),
            ("192.0.0.8", "reserved for protocol assignments"),
            ("192.0.2.1", "reserved for documentation"),
            ("192.168.1.1", "private"),
            ("198.18.0.1", "reserved for benchmarking"),
            ("224.0.0.1", "multicast"),
            ("239.255.255.250", "multicast"),
            ("255.255.255.255", "reserved"),
            ("240.0.0.1", "reserved"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("fe80::1", "link-local"),
            ("fc00::1", "unique-local"),
            ("fd00:ec2::254", "unique-local"),
            ("ff02::1", "multicast"),
            ("ff05::2", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.1.2.3", "private"),
            ("::ffff:169.254.169.254", "link-local"),
            ("::127.0.0.1", "loopback"),
            ("64:ff9b::10.0.0.1", "private"),
            ("64:ff9b::169.254.169.254", "link-local"),
            ("64:ff9b:1::1", "local-use NAT64"),
            ("2002:0a00:0001::1", "private"),
            ("2002:7f00:0001::", "loopback"),
            ("2002:a9fe:a9fe::1", "link-local"),
            // Teredo carrying 10.0.0.1 (inverted: f5ff:fffe).
            ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private"),
            ("2001:db8::1", "reserved for documentation"),
            ("fec0::1", "site-local"),
            ("100::1", "discard-only"),
        ];
        for (address, class) in cases {
            let address: IpAddr = address.parse().unwrap();
            assert_eq!(classify(address), Some(class), "address {address}");
            assert!(
                Guard::default().check(address).is_err(),
                "address {address}"
            );
        }
        assert!(cases.len() >= 40);
    }

    #[test]
    fn public_addresses_pass() {
        for address in [
            "93.184.216.34",
            "1.1.1.1",
            "8.8.8.8",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "2002:0808:0808::1",
            "64:ff9b::8.8.8.8",
        ] {
            let address: IpAddr = address.parse().unwrap();
            assert_eq!(classify(address), None, "address {address}");
        }
    }

    #[test]
    fn allowed_networks_open_chosen_ranges() {
        let guard = Guard::new(vec![
            "127.0.0.0/8".parse().unwrap(),
            "::1/128".parse().unwrap(),
        ]);
        assert!(guard.check("127.0.0.1".parse().unwrap()).is_ok());
        assert!(guard.check("::ffff:127.0.0.1".parse().unwrap()).is_ok());
        assert!(guard.check("::1".parse().unwrap()).is_ok());
        assert!(guard.check("10.0.0.1".parse().unwrap()).is_err());
    }

    #[test]
    fn one_private_address_refuses_the_host() {
        let addresses: Vec<SocketAddr> = vec![
            "93.184.216.34:443".parse().unwrap(),
            "10.0.0.5:443".parse().unwrap(),
        ];
        let refusal = Guard::default().check_all(&addresses).unwrap_err();
        assert_eq!(refusal.address.to_string(), "10.0.0.5");
        assert_eq!(refusal.class, "private");
    }
}
