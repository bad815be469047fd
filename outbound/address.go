package outbound

import (
	"net/netip"
	"strconv"
	"strings"
)

// Address classes named in an AddressError.
const (
	ClassUnspecified = "unspecified"
	ClassLoopback    = "loopback"
	ClassPrivate     = "private"
	ClassLinkLocal   = "link-local"
	ClassMulticast   = "multicast"
	ClassBroadcast   = "broadcast"
	ClassShared      = "shared (carrier-grade NAT)"
	ClassMetadata    = "cloud metadata"
	ClassReserved    = "reserved"
)

// rangeClass maps a range of addresses to the class it is refused as. The
// table is read-only; more specific entries come first.
type rangeClass struct {
	prefix netip.Prefix
	class  string
}

var refusedV4 = []rangeClass{
	{netip.MustParsePrefix("169.254.169.254/32"), ClassMetadata},  // AWS, GCP, Azure, OpenStack
	{netip.MustParsePrefix("100.100.100.200/32"), ClassMetadata},  // Alibaba Cloud
	{netip.MustParsePrefix("255.255.255.255/32"), ClassBroadcast}, // limited broadcast
	{netip.MustParsePrefix("0.0.0.0/8"), ClassUnspecified},        // "this network", RFC 1122
	{netip.MustParsePrefix("10.0.0.0/8"), ClassPrivate},           // RFC 1918
	{netip.MustParsePrefix("100.64.0.0/10"), ClassShared},         // RFC 6598
	{netip.MustParsePrefix("127.0.0.0/8"), ClassLoopback},         // RFC 1122
	{netip.MustParsePrefix("169.254.0.0/16"), ClassLinkLocal},     // RFC 3927
	{netip.MustParsePrefix("172.16.0.0/12"), ClassPrivate},        // RFC 1918
	{netip.MustParsePrefix("192.0.0.0/24"), ClassReserved},        // IETF protocol assignments, RFC 6890
	{netip.MustParsePrefix("192.168.0.0/16"), ClassPrivate},       // RFC 1918
	{netip.MustParsePrefix("198.18.0.0/15"), ClassReserved},       // benchmarking, RFC 2544
	{netip.MustParsePrefix("224.0.0.0/4"), ClassMulticast},        // RFC 5771
	{netip.MustParsePrefix("240.0.0.0/4"), ClassReserved},         // RFC 1112
}

var refusedV6 = []rangeClass{
	{netip.MustParsePrefix("fd00:ec2::254/128"), ClassMetadata}, // AWS over IPv6
	{netip.MustParsePrefix("::/128"), ClassUnspecified},
	{netip.MustParsePrefix("::1/128"), ClassLoopback},
	{netip.MustParsePrefix("64:ff9b:1::/48"), ClassPrivate}, // local-use NAT64, RFC 8215
	{netip.MustParsePrefix("100::/64"), ClassReserved},      // discard-only, RFC 6666
	{netip.MustParsePrefix("fc00::/7"), ClassPrivate},       // unique local, RFC 4193
	{netip.MustParsePrefix("fe80::/10"), ClassLinkLocal},    // RFC 4291
	{netip.MustParsePrefix("fec0::/10"), ClassPrivate},      // site-local, deprecated
	{netip.MustParsePrefix("ff00::/8"), ClassMulticast},     // RFC 4291
}

// Prefixes of IPv6 forms that carry an IPv4 address in their last 32 bits.
var (
	nat64Prefix        = netip.MustParsePrefix("64:ff9b::/96")    // RFC 6052
	v4CompatPrefix     = netip.MustParsePrefix("::/96")           // RFC 4291, deprecated
	v4TranslatedPrefix = netip.MustParsePrefix("::ffff:0:0:0/96") // RFC 2765
	sixToFourPrefix    = netip.MustParsePrefix("2002::/16")       // RFC 3056: IPv4 in bits 16-48
	teredoPrefix       = netip.MustParsePrefix("2001::/32")       // RFC 4380: client IPv4 inverted in the last 32 bits
	globalUnicast      = netip.MustParsePrefix("2000::/3")
)

// Classify reports whether addr is one the client refuses to reach, and
// the class it belongs to. IPv6 forms that embed an IPv4 address
// (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo) are judged by the
// embedded address; IPv6 outside global unicast (2000::/3) is reserved.
func Classify(addr netip.Addr) (class string, refused bool) {
	addr = addr.WithZone("")
	if !addr.IsValid() {
		return ClassUnspecified, true
	}
	if addr.Is4In6() {
		return Classify(addr.Unmap())
	}
	if addr.Is4() {
		for _, r := range refusedV4 {
			if r.prefix.Contains(addr) {
				return r.class, true
			}
		}
		return "", false
	}
	for _, r := range refusedV6 {
		if r.prefix.Contains(addr) {
			return r.class, true
		}
	}
	b := addr.As16()
	switch {
	case nat64Prefix.Contains(addr), v4CompatPrefix.Contains(addr), v4TranslatedPrefix.Contains(addr):
		return Classify(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	case sixToFourPrefix.Contains(addr):
		return Classify(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
	case teredoPrefix.Contains(addr):
		return Classify(netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}))
	case !globalUnicast.Contains(addr):
		return ClassReserved, true
	}
	return "", false
}

// parseNumericHost parses host the way the C library's inet_aton does, so
// that the forms a C resolver would turn into an address are recognised:
// "2130706433", "0x7f000001", "017700000001", "127.1", "0177.0.0.1". It
// reports ok=false for anything that is not such a numeric form.
func parseNumericHost(host string) (addr netip.Addr, ok bool) {
	host = strings.TrimSuffix(host, ".")
	parts := strings.Split(host, ".")
	if len(parts) == 0 || len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		v, ok := parseInetAtonPart(p)
		if !ok {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	// Every part but the last is one byte; the last fills the rest.
	var out uint64
	for _, v := range vals[:len(vals)-1] {
		if v > 0xff {
			return netip.Addr{}, false
		}
		out = out<<8 | v
	}
	rest := uint(8 * (5 - len(vals)))
	last := vals[len(vals)-1]
	if last >= 1<<rest {
		return netip.Addr{}, false
	}
	out = out<<rest | last
	return netip.AddrFrom4([4]byte{byte(out >> 24), byte(out >> 16), byte(out >> 8), byte(out)}), true
}

// parseInetAtonPart parses one dot-separated part: hexadecimal after 0x,
// octal after a leading 0, decimal otherwise.
func parseInetAtonPart(p string) (uint64, bool) {
	if p == "" {
		return 0, false
	}
	base := 10
	digits := p
	switch {
	case len(p) >= 2 && (p[:2] == "0x" || p[:2] == "0X"):
		base, digits = 16, p[2:]
		if digits == "" {
			return 0, true // inet_aton reads a bare "0x" as zero
		}
	case len(p) > 1 && p[0] == '0':
		base, digits = 8, p[1:]
	}
	for _, c := range digits {
		if c == '+' || c == '-' || c == '_' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(digits, base, 32)
	if err != nil {
		return 0, false
	}
	return v, true
}
