package outbound

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Defaults applied by NewClient to zero Options fields.
const (
	DefaultTimeout          = 15 * time.Second
	DefaultMaxResponseBytes = 64 << 10
	DefaultUserAgent        = "calgate/1"
)

// ErrResponseTooLarge is returned by a response body read past the
// client's MaxResponseBytes.
var ErrResponseTooLarge = errors.New("outbound: response body exceeds the size limit")

// Options configures NewClient. The zero value is a safe default.
type Options struct {
	// AllowPrivate lets the client reach internal addresses (loopback,
	// private ranges, metadata services, …). Only for tests and closed
	// networks; deployments set it with CALGATE_ALLOW_PRIVATE_TARGETS=true.
	AllowPrivate bool
	// Timeout bounds a whole exchange, reading the body included
	// (default 15 s). Connecting and the TLS handshake get at most 10 s of it.
	Timeout time.Duration
	// MaxResponseBytes caps how much of a response body can be read
	// (default 64 KiB); reads beyond it fail with ErrResponseTooLarge.
	MaxResponseBytes int64
	// UserAgent is sent when a request sets none (default "calgate/1").
	UserAgent string
	// Resolver looks up host names (nil: net.DefaultResolver).
	Resolver *net.Resolver
}

// NewClient returns an HTTP client hardened for reaching URLs that users
// supply. It does not follow redirects (a 3xx is returned as the answer),
// ignores HTTP_PROXY and friends, resolves every host itself and refuses,
// with an *AddressError, to connect to any address Classify refuses unless
// o.AllowPrivate is set; the same check runs again on the socket about to
// connect. Response bodies are capped at o.MaxResponseBytes.
func NewClient(o Options) *http.Client {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	stage := min(10*time.Second, o.Timeout)
	dialer := &net.Dialer{Timeout: stage, KeepAlive: 30 * time.Second}
	if !o.AllowPrivate {
		dialer.ControlContext = controlAddress
	}
	d := &guardedDialer{dialer: dialer, resolver: o.Resolver, allowPrivate: o.AllowPrivate}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   stage,
		ResponseHeaderTimeout: o.Timeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          100,
		// Webhook receivers take several calls at once per endpoint: keep
		// that many connections open instead of closing all but a few.
		MaxIdleConnsPerHost:    32,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: &limitedTransport{next: transport, maxBody: o.MaxResponseBytes, userAgent: o.UserAgent},
		Timeout:   o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// guardedDialer resolves the host itself, checks every address and dials
// only addresses it checked, so a DNS answer cannot change between the
// check and the connection.
type guardedDialer struct {
	dialer       *net.Dialer
	resolver     *net.Resolver
	allowPrivate bool
}

// DialContext implements http.Transport.DialContext.
func (d *guardedDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if d.allowPrivate {
		if d.resolver != nil {
			dialer := *d.dialer
			dialer.Resolver = d.resolver
			return dialer.DialContext(ctx, network, address)
		}
		return d.dialer.DialContext(ctx, network, address)
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("outbound: dial %s: %w", address, err)
	}
	addrs, err := resolveHost(ctx, host, d.resolver)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, addr := range addrs {
		conn, err := d.dialer.DialContext(ctx, network, net.JoinHostPort(addr.String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("outbound: dial %s: %w", address, errors.Join(errs...))
}

// controlAddress runs on every socket just before it connects and refuses
// addresses Classify refuses, whatever the path that chose them.
func controlAddress(_ context.Context, network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("outbound: connect %s %s: %w", network, address, err)
	}
	return CheckAddr(ap.Addr().Unmap())
}

// limitedTransport sets the default User-Agent and caps response bodies.
type limitedTransport struct {
	next      http.RoundTripper
	maxBody   int64
	userAgent string
}

// RoundTrip implements http.RoundTripper.
func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", t.userAgent)
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &cappedBody{rc: resp.Body, left: t.maxBody}
	return resp, nil
}

// cappedBody fails with ErrResponseTooLarge once more than its limit has
// been read.
type cappedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, ErrResponseTooLarge
	}
	// Read one byte past the limit to tell "exactly the limit" from "more".
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n + int(b.left), ErrResponseTooLarge
	}
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }

// LimitBody reads at most n bytes from r. truncated reports that r had
// more; the rest is left unread. A read error other than hitting a
// client's own cap is returned with what was read so far.
func LimitBody(r io.Reader, n int64) (body []byte, truncated bool, err error) {
	if n < 0 {
		n = 0
	}
	body, err = io.ReadAll(io.LimitReader(r, n+1))
	if int64(len(body)) > n {
		return body[:n], true, nil
	}
	if errors.Is(err, ErrResponseTooLarge) {
		return body, true, nil
	}
	if err != nil {
		return body, false, fmt.Errorf("outbound: read body: %w", err)
	}
	return body, false, nil
}
