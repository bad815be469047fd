package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// AddressError says why a URL or an address may not be reached. The api
// answers it with 422 naming the url field.
type AddressError struct {
	// Host is the host as written in the URL (or dialled), if any.
	Host string
	// Addr is the offending address; invalid when the URL itself is at
	// fault (scheme, credentials, missing host).
	Addr netip.Addr
	// Class names the kind of address refused ("loopback", "private",
	// "cloud metadata", …); empty when the URL itself is at fault.
	Class string
	// Reason is the whole explanation, without the "outbound: " prefix.
	Reason string
}

func (e *AddressError) Error() string {
	return "outbound: " + e.Reason
}

// refusedAddr returns the error for host resolving to a refused addr.
func refusedAddr(host string, addr netip.Addr, class string) *AddressError {
	reason := fmt.Sprintf("%s is a %s address, which may not be reached", addr, class)
	if host != "" && host != addr.String() {
		reason = fmt.Sprintf("host %q resolves to %s, a %s address, which may not be reached", host, addr, class)
	}
	return &AddressError{Host: host, Addr: addr, Class: class, Reason: reason}
}

// CheckURL tells whether raw may be used as an outbound target, as when a
// webhook endpoint or a subscription is registered. It refuses URLs that
// are not http or https, carry credentials or have no host, and unless
// allowPrivate is set, hosts that are (or resolve to) an address Classify
// refuses, including numeric forms such as "2130706433" or "127.1" that C
// resolvers accept. Refusals are *AddressError; a name that does not exist
// is refused too, while a lookup that fails for another reason (timeout,
// no DNS server) is returned as a plain wrapped error. A nil resolver means
// net.DefaultResolver.
func CheckURL(ctx context.Context, raw string, allowPrivate bool, resolver *net.Resolver) error {
	u, err := url.Parse(raw)
	if err != nil {
		return &AddressError{Reason: fmt.Sprintf("not a valid URL: %v", errors.Unwrap(err))}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		if u.Scheme == "" {
			return &AddressError{Reason: "the URL must be absolute and start with https:// or http://"}
		}
		return &AddressError{Reason: fmt.Sprintf("scheme %q is not allowed: use https or http", u.Scheme)}
	}
	if u.User != nil {
		return &AddressError{Host: u.Hostname(), Reason: "the URL may not carry a user name or password"}
	}
	host := u.Hostname()
	if host == "" {
		return &AddressError{Reason: "the URL has no host"}
	}
	if allowPrivate {
		return nil
	}
	_, err = resolveHost(ctx, host, resolver)
	return err
}

// CheckAddr returns an *AddressError when addr may not be reached.
func CheckAddr(addr netip.Addr) error {
	if class, refused := Classify(addr); refused {
		return refusedAddr("", addr, class)
	}
	return nil
}

// resolveHost returns the addresses host stands for, refusing the whole
// host when any of them is refused: a name with one internal address is
// not a public target.
func resolveHost(ctx context.Context, host string, resolver *net.Resolver) ([]netip.Addr, error) {
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return nil, &AddressError{Reason: "the URL has no host"}
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if class, refused := Classify(addr); refused {
			return nil, refusedAddr(host, addr, class)
		}
		return []netip.Addr{addr.WithZone("")}, nil
	}
	if addr, ok := parseNumericHost(host); ok {
		if class, refused := Classify(addr); refused {
			return nil, refusedAddr(host, addr, class)
		}
		return nil, &AddressError{Host: host, Addr: addr, Class: "non-canonical numeric",
			Reason: fmt.Sprintf("host %q is a numeric address in a non-standard form: write it as %s", host, addr)}
	}
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	addrs, err := resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return nil, &AddressError{Host: host, Reason: fmt.Sprintf("host %q does not resolve", host)}
		}
		return nil, fmt.Errorf("outbound: resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, &AddressError{Host: host, Reason: fmt.Sprintf("host %q has no address", host)}
	}
	for i, addr := range addrs {
		addr = addr.Unmap().WithZone("")
		if class, refused := Classify(addr); refused {
			return nil, refusedAddr(host, addr, class)
		}
		addrs[i] = addr
	}
	return addrs, nil
}
