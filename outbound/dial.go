package outbound

import (
	"context"
	"net"
	"time"
)

// CheckHost is CheckURL for a bare host name or address, such as the
// server of a database pull: unless allowPrivate is set, a host that is
// (or resolves to) an address Classify refuses is refused.
func CheckHost(ctx context.Context, host string, allowPrivate bool, resolver *net.Resolver) error {
	if allowPrivate {
		return nil
	}
	_, err := resolveHost(ctx, host, resolver)
	return err
}

// Dialer returns the dial function of the hardened client for
// connections that are not HTTP (database drivers take one): it resolves
// the host itself and connects only to addresses it checked, and the
// socket is checked again just before it connects, unless allowPrivate
// is set. timeout bounds connecting (default 10 s).
func Dialer(allowPrivate bool, resolver *net.Resolver, timeout time.Duration) func(ctx context.Context, network, address string) (net.Conn, error) {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.ControlContext = controlAddress
	}
	d := &guardedDialer{dialer: dialer, resolver: resolver, allowPrivate: allowPrivate}
	return d.DialContext
}
