package connectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/oauth2"

	"github.com/calgate/calgate"
)

// maxLoggedError bounds the error text kept per call in the log.
const maxLoggedError = 1000

// defaultRetryAfter is the wait after a 429 or 503 without Retry-After.
const defaultRetryAfter = time.Minute

// Client makes one push's calls to an application: each waits for the
// tenant's rate limits and a free call slot, carries the connector's
// credentials (refreshed when they expired, or once when the application
// answers 401), and is recorded in the connector's call log.
type Client struct {
	s       *Service
	conn    *calgate.Connector
	vendor  Vendor
	entryID string
	calls   []*calgate.ConnectorCall
	// keyed is set once the credentials turned out to be an API key.
	keyed bool
	// token is the last token this client obtained (exchange or refresh).
	token *oauth2.Token
	// creds, when set, are used instead of the stored ones (a key being
	// checked before it is stored).
	creds *credentials
}

func (s *Service) newClient(c *calgate.Connector, v Vendor, entryID string) *Client {
	return &Client{s: s, conn: c, vendor: v, entryID: entryID}
}

// Connector returns the connector the client calls for.
func (c *Client) Connector() *calgate.Connector { return c.conn }

// APIKey returns the connector's API key, "" when it uses OAuth (Mailchimp
// reads its data centre from the key's suffix).
func (c *Client) APIKey() string {
	cr, err := c.credentials()
	if err != nil {
		return ""
	}
	return cr.APIKey
}

func (c *Client) credentials() (credentials, error) {
	if c.creds != nil {
		return *c.creds, nil
	}
	return c.s.openCredentials(c.conn)
}

// TokenExtra returns a field of the token answer this client just received
// (Salesforce's instance_url and id at consent), nil when it received none.
func (c *Client) TokenExtra(key string) any {
	if c.token == nil {
		return nil
	}
	return c.token.Extra(key)
}

// Request is one call.
type Request struct {
	// Operation names the call in the log ("create invoice").
	Operation string
	Method    string
	URL       string
	// Body is sent as application/json when not nil.
	Body   []byte
	Header http.Header
}

// Response is a successful answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do makes a call. An error answer is a *RetryAfterError (429, 503), an
// *HTTPError (other 4xx and 5xx) or ErrReauth (credentials refused).
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	for try := 0; ; try++ {
		resp, err := c.once(ctx, r, try > 0)
		if err != nil || resp.Status != http.StatusUnauthorized || try > 0 || c.keyed {
			if err == nil && resp.Status == http.StatusUnauthorized {
				return nil, fmt.Errorf("%s: %w: the application answered 401 (%s)", r.Operation, ErrReauth, c.vendor.ErrorText(resp.Status, resp.Body))
			}
			if err != nil {
				return nil, err
			}
			return c.check(r, resp)
		}
		// 401 with a token that looked valid: refresh once and try again.
	}
}

// once sends the request with current credentials.
func (c *Client) once(ctx context.Context, r Request, forceRefresh bool) (*Response, error) {
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Operation, err)
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json")
	if r.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(ctx, req, r.Operation, forceRefresh)
}

// send waits for the tenant's rate limits and a call slot, adds current
// credentials to req, sends it and records the call in the log.
func (c *Client) send(ctx context.Context, req *http.Request, op string, forceRefresh bool) (*Response, error) {
	if err := c.authorize(ctx, nil, forceRefresh); err != nil {
		return nil, err
	}
	t := c.s.rates.get(c.vendor.Type()+":"+c.conn.Account, c.vendor.Limits().Share(c.s.o.Processes))
	done, err := t.wait(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	if err := c.authorize(ctx, req, false); err != nil {
		return nil, err
	}
	start := time.Now()
	res, err := c.s.d.Client.Do(req)
	var data []byte
	if err == nil {
		data, err = io.ReadAll(res.Body)
		res.Body.Close()
	}
	call := &calgate.ConnectorCall{ConnectorID: c.conn.ID, At: start.UTC(), EntryID: c.entryID, Operation: op,
		Method: req.Method, Duration: time.Since(start)}
	if err != nil {
		call.Error = clip(err.Error())
		c.record(call, "network_error")
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	call.StatusCode = res.StatusCode
	if res.StatusCode >= 400 {
		call.Error = clip(c.vendor.ErrorText(res.StatusCode, data))
	}
	c.record(call, outcome(res.StatusCode))
	return &Response{Status: res.StatusCode, Header: res.Header, Body: data}, nil
}

// authorize adds the credentials to a request (req nil: only make sure
// they are fresh, refreshing first when force is set). A connector holds
// an API key or OAuth tokens, whichever it was given last.
func (c *Client) authorize(ctx context.Context, req *http.Request, force bool) error {
	auth := c.vendor.Auth()
	cr, err := c.credentials()
	if err != nil {
		return err
	}
	if cr.APIKey != "" || auth.OAuth == nil {
		c.keyed = true
		if cr.APIKey == "" {
			return fmt.Errorf("connector %s has no API key: %w", c.conn.ID, ErrReauth)
		}
		if req == nil {
			return nil
		}
		switch {
		case auth.APIKeyBasic:
			req.SetBasicAuth("calgate", cr.APIKey)
		case auth.APIKeyHeader == "" || auth.APIKeyHeader == "Authorization":
			req.Header.Set("Authorization", "Bearer "+cr.APIKey)
		default:
			req.Header.Set(auth.APIKeyHeader, cr.APIKey)
		}
		return nil
	}
	tok, err := c.s.token(ctx, c, force)
	if err != nil {
		return err
	}
	if req != nil {
		if auth.TokenScheme != "" {
			req.Header.Set("Authorization", auth.TokenScheme+" "+tok.AccessToken)
		} else {
			tok.SetAuthHeader(req)
		}
	}
	return nil
}

// check turns an error answer into its error.
func (c *Client) check(r Request, resp *Response) (*Response, error) {
	switch {
	case resp.Status == http.StatusTooManyRequests || resp.Status == http.StatusServiceUnavailable:
		return nil, &RetryAfterError{Status: resp.Status, Wait: retryAfter(resp.Header.Get("Retry-After"), time.Now()), Text: c.vendor.ErrorText(resp.Status, resp.Body)}
	case resp.Status >= 400:
		return nil, &HTTPError{Operation: r.Operation, Status: resp.Status, Text: c.vendor.ErrorText(resp.Status, resp.Body), Body: resp.Body}
	}
	return resp, nil
}

// logTokenCall records a call to the token endpoint.
func (c *Client) logTokenCall(op string, start time.Time, err error) {
	call := &calgate.ConnectorCall{ConnectorID: c.conn.ID, At: start.UTC(), EntryID: c.entryID, Operation: op, Method: http.MethodPost,
		StatusCode: http.StatusOK, Duration: time.Since(start)}
	result := "ok"
	if err != nil {
		call.StatusCode, call.Error, result = 0, clip(err.Error()), "network_error"
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil {
			call.StatusCode, result = re.Response.StatusCode, outcome(re.Response.StatusCode)
		}
	}
	c.record(call, result)
}

func (c *Client) record(call *calgate.ConnectorCall, result string) {
	c.calls = append(c.calls, call)
	c.s.d.Metrics.call(c.vendor.Type(), result, call.Duration.Seconds())
}

// flush writes the calls made so far to the log.
func (c *Client) flush(ctx context.Context) {
	if len(c.calls) == 0 {
		return
	}
	if err := c.s.d.Store.LogConnectorCalls(context.WithoutCancel(ctx), c.calls); err != nil {
		c.s.log.Warn("connectors: write call log", "connector", c.conn.ID, "err", err)
	}
	c.calls = nil
}

func outcome(status int) string {
	switch {
	case status < 400:
		return "ok"
	case status == http.StatusTooManyRequests:
		return "rate_limited"
	case status == http.StatusUnauthorized:
		return "unauthorized"
	case status >= 500:
		return "server_error"
	}
	return "client_error"
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return defaultRetryAfter
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now))
	}
	return defaultRetryAfter
}

func clip(s string) string {
	if len(s) > maxLoggedError {
		return s[:maxLoggedError]
	}
	return s
}
