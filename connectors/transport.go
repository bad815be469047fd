package connectors

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
)

type operationKey struct{}

// WithOperation names, in the call log, the calls made with ctx through
// the client's HTTPClient (an application's own client library, which
// knows nothing of operations).
func WithOperation(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, operationKey{}, op)
}

func operationOf(req *http.Request) string {
	if op, ok := req.Context().Value(operationKey{}).(string); ok && op != "" {
		return op
	}
	return req.Method + " " + req.URL.Path
}

// HTTPClient returns an *http.Client for an application's own client
// library (Google's): each request carries the connector's credentials,
// waits for the tenant's rate limits and a call slot, and is recorded in
// the call log under the operation WithOperation named; a 401 refreshes
// the token and sends the request once more. Answers come back as the
// application gave them, error statuses included, for the library to
// read. A refused refresh token, or a second 401, is an error wrapping
// ErrReauth; a budget spent for longer than a push may wait is a
// *RetryAfterError (both reach the caller through the library's
// *url.Error: use errors.Is and errors.As).
func (c *Client) HTTPClient() *http.Client {
	return &http.Client{Transport: clientTransport{c: c}}
}

type clientTransport struct{ c *Client }

// RoundTrip implements http.RoundTripper.
func (t clientTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	op := operationOf(req)
	for try := 0; ; try++ {
		r := req.Clone(ctx)
		if try > 0 && req.Body != nil {
			if req.GetBody == nil {
				return nil, fmt.Errorf("%s: %w: the application answered 401 and the request cannot be sent again", op, ErrReauth)
			}
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", op, err)
			}
			r.Body = body
		}
		resp, err := t.c.send(ctx, r, op, try > 0)
		if err != nil {
			return nil, err
		}
		if resp.Status == http.StatusUnauthorized {
			if try == 0 && t.c.vendor.Auth().OAuth != nil {
				continue // a token that looked valid: refresh once and try again
			}
			return nil, fmt.Errorf("%s: %w: the application answered 401 (%s)", op, ErrReauth, t.c.vendor.ErrorText(resp.Status, resp.Body))
		}
		return &http.Response{
			Status: fmt.Sprintf("%d %s", resp.Status, http.StatusText(resp.Status)), StatusCode: resp.Status,
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: resp.Header,
			Body: io.NopCloser(bytes.NewReader(resp.Body)), ContentLength: int64(len(resp.Body)), Request: req,
		}, nil
	}
}
