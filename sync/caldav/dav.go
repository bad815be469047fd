package caldav

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"reflect"
	"strings"
)

const (
	nsDAV    = "DAV:"
	nsCalDAV = "urn:ietf:params:xml:ns:caldav"

	// maxMultistatus bounds a PROPFIND or REPORT answer.
	maxMultistatus = 64 << 20
	// maxObject bounds one calendar object.
	maxObject = 16 << 20
	// errorBodyLen is how much of an unexpected answer goes into errors.
	errorBodyLen = 300
)

// conn sends requests with the caller's client and credentials.
type conn struct {
	hc   *http.Client
	cred Credentials
}

// Do sends one request and adds Basic auth. It implements
// webdav.HTTPClient, so go-webdav shares the caller's client.
func (c *conn) Do(req *http.Request) (*http.Response, error) {
	if c.cred.Username != "" || c.cred.Password != "" {
		req.SetBasicAuth(c.cred.Username, c.cred.Password)
	}
	return c.hc.Do(req)
}

// send builds and sends a request. A transport failure becomes a
// *NetworkError; the caller closes the body of the answer.
func (c *conn) send(ctx context.Context, method string, u *url.URL, hdr http.Header, body []byte) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), r)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, &NetworkError{Method: method, URL: redact(u), Err: err}
	}
	return resp, nil
}

// statusError reads the start of an unexpected answer and closes it.
func statusError(method string, u *url.URL, resp *http.Response) *StatusError {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyLen))
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "")), " ")
	return &StatusError{Method: method, URL: redact(u), Code: resp.StatusCode, Body: s}
}

// drain discards what is left of a body so the connection can be reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// redact drops user info and query from a URL for error messages.
func redact(u *url.URL) string {
	v := *u
	v.User = nil
	v.RawQuery = ""
	return v.String()
}

// multistatus is a 207 answer (RFC 4918 §14.16, RFC 6578 §6.4).
type multistatus struct {
	Responses []msResponse `xml:"DAV: response"`
	SyncToken string       `xml:"DAV: sync-token"`
}

type msResponse struct {
	Hrefs     []string   `xml:"DAV: href"`
	Status    string     `xml:"DAV: status"`
	Propstats []propstat `xml:"DAV: propstat"`
}

type propstat struct {
	Status string `xml:"DAV: status"`
	Prop   props  `xml:"DAV: prop"`
}

// props holds every property this package asks for; a field stays nil
// when the server did not send it.
type props struct {
	ETag                 *string    `xml:"DAV: getetag"`
	ResourceType         *anyNames  `xml:"DAV: resourcetype"`
	DisplayName          *string    `xml:"DAV: displayname"`
	CurrentUserPrincipal *hrefProp  `xml:"DAV: current-user-principal"`
	CalendarHomeSet      *hrefProp  `xml:"urn:ietf:params:xml:ns:caldav calendar-home-set"`
	SupportedReports     *reportSet `xml:"DAV: supported-report-set"`
	SyncToken            *string    `xml:"DAV: sync-token"`
	CalendarData         *string    `xml:"urn:ietf:params:xml:ns:caldav calendar-data"`
	Components           *compSet   `xml:"urn:ietf:params:xml:ns:caldav supported-calendar-component-set"`
	Description          *string    `xml:"urn:ietf:params:xml:ns:caldav calendar-description"`
}

type anyNames struct {
	Names []xmlName `xml:",any"`
}

type xmlName struct {
	XMLName xml.Name
}

func (a *anyNames) has(space, local string) bool {
	if a == nil {
		return false
	}
	for _, n := range a.Names {
		if n.XMLName.Space == space && n.XMLName.Local == local {
			return true
		}
	}
	return false
}

type hrefProp struct {
	Hrefs []string `xml:"DAV: href"`
}

type reportSet struct {
	Reports []supportedReport `xml:"DAV: supported-report"`
}

// supportedReport names a report inside DAV:report (RFC 3253 §3.1.5), or
// directly, as some servers (Xandikos) write it.
type supportedReport struct {
	Report anyNames  `xml:"DAV: report"`
	Bare   []xmlName `xml:",any"`
}

type compSet struct {
	Comps []struct {
		Name string `xml:"name,attr"`
	} `xml:"urn:ietf:params:xml:ns:caldav comp"`
}

// statusOK reports whether a status line ("HTTP/1.1 200 OK") is a 2xx, or absent.
func statusOK(s string) bool {
	f := strings.Fields(s)
	return len(f) < 2 || strings.HasPrefix(f[1], "2")
}

// statusCode returns the code of a status line, 0 when unreadable.
func statusCode(s string) int {
	f := strings.Fields(s)
	if len(f) < 2 {
		return 0
	}
	var code int
	if _, err := fmt.Sscanf(f[1], "%d", &code); err != nil {
		return 0
	}
	return code
}

// object returns the member name as a calendar object with its ETag,
// or false when the member is a collection.
func (r *msResponse) object(name string) (Object, bool) {
	p := r.found()
	if p.ResourceType.has(nsDAV, "collection") {
		return Object{}, false
	}
	obj := Object{Name: name}
	if p.ETag != nil {
		obj.ETag = normalizeETag(*p.ETag)
	}
	return obj, true
}

// found merges the properties of every successful propstat.
func (r *msResponse) found() props {
	var out props
	for _, ps := range r.Propstats {
		if !statusOK(ps.Status) {
			continue
		}
		// Every property is a pointer: a later propstat's value wins.
		got, into := reflect.ValueOf(ps.Prop), reflect.ValueOf(&out).Elem()
		for f := range got.NumField() {
			if v := got.Field(f); !v.IsNil() {
				into.Field(f).Set(v)
			}
		}
	}
	return out
}

// href returns the response's first href resolved against base.
func (r *msResponse) href(base *url.URL) (*url.URL, bool) {
	if len(r.Hrefs) == 0 {
		return nil, false
	}
	return resolve(base, r.Hrefs[0])
}

// resolve resolves an href (absolute URL or path) against base.
func resolve(base *url.URL, href string) (*url.URL, bool) {
	ref, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return nil, false
	}
	u := base.ResolveReference(ref)
	u.User = nil
	return u, true
}

func (p props) supportsSync() bool {
	if p.SupportedReports == nil {
		return false
	}
	for _, r := range p.SupportedReports.Reports {
		if r.Report.has(nsDAV, "sync-collection") || (&anyNames{Names: r.Bare}).has(nsDAV, "sync-collection") {
			return true
		}
	}
	return false
}

// request sends a PROPFIND or REPORT and decodes its multistatus. It
// returns the URL that answered (after redirects). When the caller's
// client followed a redirect and turned the method into GET, the request
// is sent again to where it was redirected.
func (c *conn) multistatus(ctx context.Context, method string, u *url.URL, depth string, body []byte) (*multistatus, *url.URL, error) {
	hdr := http.Header{
		"Content-Type": {`application/xml; charset="utf-8"`},
	}
	if depth != "" {
		hdr.Set("Depth", depth)
	}
	resp, err := c.send(ctx, method, u, hdr, body)
	if err != nil {
		return nil, nil, err
	}
	if resp.Request != nil && resp.Request.Method != method && resp.Request.URL != nil {
		// Redirected and downgraded to GET: ask the new place directly.
		moved := *resp.Request.URL
		drain(resp)
		u = &moved
		if resp, err = c.send(ctx, method, u, hdr, body); err != nil {
			return nil, nil, err
		}
	}
	if resp.Request != nil && resp.Request.URL != nil {
		final := *resp.Request.URL
		u = &final
	}
	if resp.StatusCode != http.StatusMultiStatus {
		return nil, u, statusError(method, u, resp)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "" && !strings.HasSuffix(mt, "xml") {
			return nil, u, fmt.Errorf("%s %s: answer is %s, not XML: %w", method, redact(u), mt, ErrNotCalDAV)
		}
	}
	var ms multistatus
	if err := xml.NewDecoder(io.LimitReader(resp.Body, maxMultistatus)).Decode(&ms); err != nil {
		return nil, u, fmt.Errorf("%s %s: decode multistatus: %v: %w", method, redact(u), err, ErrNotCalDAV)
	}
	return &ms, u, nil
}

// propfindBody builds a PROPFIND asking for the named properties, given as
// "DAV: getetag" style names.
func propfindBody(names ...xml.Name) []byte {
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString(`<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop>`)
	for _, n := range names {
		prefix := "d"
		if n.Space == nsCalDAV {
			prefix = "c"
		}
		b.WriteString("<" + prefix + ":" + n.Local + "/>")
	}
	b.WriteString(`</d:prop></d:propfind>`)
	return []byte(b.String())
}

func davName(local string) xml.Name    { return xml.Name{Space: nsDAV, Local: local} }
func calDAVName(local string) xml.Name { return xml.Name{Space: nsCalDAV, Local: local} }

// samePath compares two collection paths, ignoring a trailing slash and
// percent-encoding differences.
func samePath(a, b string) bool {
	return cleanPath(a) == cleanPath(b)
}

func cleanPath(p string) string {
	if u, err := url.PathUnescape(p); err == nil {
		p = u
	}
	p = path.Clean("/" + p)
	return p
}

// normalizeETag makes an ETag comparable and sendable: surrounding space is
// dropped and an unquoted value is quoted. A weak ETag keeps its W/ prefix.
func normalizeETag(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	weak := ""
	if strings.HasPrefix(s, "W/") || strings.HasPrefix(s, "w/") {
		weak, s = "W/", strings.TrimSpace(s[2:])
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return weak + s
	}
	s = strings.Trim(s, `"`)
	s = strings.NewReplacer(`"`, "", "\r", "", "\n", "").Replace(s)
	if s == "" {
		return ""
	}
	return weak + `"` + s + `"`
}
