package caldav

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	webdavcaldav "github.com/emersion/go-webdav/caldav"
)

// Credentials authenticate with HTTP Basic auth.
type Credentials struct {
	Username, Password string
}

// Calendar is a calendar collection on the server.
type Calendar struct {
	// Path is the calendar's URL path on its host, ending with a slash.
	Path        string
	Name        string
	Description string
	// SupportsEvents is true when the calendar accepts VEVENTs.
	SupportsEvents bool
	// SyncToken is true when the server offers sync-collection (RFC 6578)
	// on the calendar, so Changes can be used.
	SyncToken bool
}

// Client reads and writes the objects of one calendar. It is safe for
// concurrent use.
type Client struct {
	c        conn
	calendar *url.URL
	info     Calendar
}

// New returns a client for a calendar URL found earlier by Connect, without
// any request. Credentials in the URL are used when cred is empty.
func New(hc *http.Client, calendarURL string, cred Credentials) (*Client, error) {
	u, cred, err := parseURL(calendarURL, cred)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.RawPath = ""
	return &Client{
		c:        conn{hc: hc, cred: cred},
		calendar: u,
		info:     Calendar{Path: u.Path, SupportsEvents: true},
	}, nil
}

// Connect finds the calendar to write to from rawURL, which may be a
// server root, a principal, a calendar home set or a calendar. It follows
// current-user-principal and calendar-home-set and lists the calendars of
// the home. The calendar chosen is the one whose path or display name
// matches calendarHint; without a hint, rawURL itself when it is a
// calendar, else the first calendar that accepts events. It returns every
// calendar of the home, for a user to pick from.
//
// Errors match ErrUnauthorized, ErrNotCalDAV or ErrNoCalendar, or are
// retryable (IsRetryable) when the server could not be reached.
func Connect(ctx context.Context, hc *http.Client, rawURL string, cred Credentials, calendarHint string) (*Client, []Calendar, error) {
	u, cred, err := parseURL(rawURL, cred)
	if err != nil {
		return nil, nil, err
	}
	c := conn{hc: hc, cred: cred}

	self, at, err := c.discoverStart(ctx, u)
	if err != nil {
		return nil, nil, fmt.Errorf("caldav: connect: %w", err)
	}
	selfProps := self.found()
	var direct *url.URL
	if selfProps.ResourceType.has(nsCalDAV, "calendar") {
		direct = at
	}

	home, err := c.findHome(ctx, at, selfProps)
	if err != nil {
		return nil, nil, fmt.Errorf("caldav: connect: %w", err)
	}
	if home == nil && direct == nil {
		return nil, nil, fmt.Errorf("caldav: connect: %s has no calendar-home-set: %w", redact(at), ErrNotCalDAV)
	}

	var cals []Calendar
	origin := at
	if home != nil {
		origin = home
		if cals, err = c.listCalendars(ctx, home); err != nil {
			return nil, nil, fmt.Errorf("caldav: connect: %w", err)
		}
	}
	if direct != nil && !containsPath(cals, direct.Path) {
		cals = append(cals, calendarFromProps(direct.Path, selfProps))
	}

	chosen, ok := choose(cals, calendarHint, direct)
	if !ok {
		return nil, cals, fmt.Errorf("caldav: connect: %w", &NoCalendarError{Hint: calendarHint, Available: cals})
	}
	calURL := &url.URL{Scheme: origin.Scheme, Host: origin.Host, Path: chosen.Path}
	if !strings.HasSuffix(calURL.Path, "/") {
		calURL.Path += "/"
	}
	return &Client{c: c, calendar: calURL, info: chosen}, cals, nil
}

// Calendar describes the calendar the client writes to.
func (cl *Client) Calendar() Calendar { return cl.info }

// CalendarURL is the calendar's absolute URL, to store and give to New.
func (cl *Client) CalendarURL() string { return cl.calendar.String() }

func parseURL(raw string, cred Credentials) (*url.URL, Credentials, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, cred, fmt.Errorf("caldav: %q is not an http(s) URL: %w", raw, ErrNotCalDAV)
	}
	if u.User != nil && cred.Username == "" && cred.Password == "" {
		cred.Username = u.User.Username()
		cred.Password, _ = u.User.Password()
	}
	u.User = nil
	u.Fragment = ""
	if u.Path == "" {
		u.Path = "/"
	}
	return u, cred, nil
}

var discoverProps = propfindBody(
	davName("resourcetype"), davName("displayname"), davName("current-user-principal"),
	calDAVName("calendar-home-set"), calDAVName("calendar-description"),
	calDAVName("supported-calendar-component-set"), davName("supported-report-set"),
)

// discoverStart asks u for its properties; a server root that does not
// answer as WebDAV is asked again at /.well-known/caldav (RFC 6764).
func (c *conn) discoverStart(ctx context.Context, u *url.URL) (*msResponse, *url.URL, error) {
	r, at, err := c.propfindSelf(ctx, u)
	if err == nil || u.Path != "/" || !errors.Is(err, ErrNotCalDAV) {
		return r, at, err
	}
	wk := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/.well-known/caldav"}
	if r, at, wkErr := c.propfindSelf(ctx, wk); wkErr == nil {
		return r, at, nil
	}
	return nil, nil, err
}

// propfindSelf runs a Depth-0 PROPFIND and classifies a failure.
func (c *conn) propfindSelf(ctx context.Context, u *url.URL) (*msResponse, *url.URL, error) {
	ms, at, err := c.multistatus(ctx, "PROPFIND", u, "0", discoverProps)
	if err != nil {
		return nil, at, classifyDiscovery(err)
	}
	for i := range ms.Responses {
		if statusOK(ms.Responses[i].Status) {
			return &ms.Responses[i], at, nil
		}
	}
	return nil, at, fmt.Errorf("PROPFIND %s: empty answer: %w", redact(at), ErrNotCalDAV)
}

// classifyDiscovery turns an unexpected answer during discovery into
// ErrNotCalDAV, leaving credentials and server failures as they are.
func classifyDiscovery(err error) error {
	var se *StatusError
	if errors.As(err, &se) && !se.retryable() && !errors.Is(se, ErrUnauthorized) {
		return fmt.Errorf("%w: %w", ErrNotCalDAV, err)
	}
	return err
}

// findHome returns the calendar home set: from the resource itself when it
// is a principal, else from its current-user-principal. The href is
// resolved against the host that answered, since a home may live on
// another host (iCloud). nil means neither was advertised.
func (c *conn) findHome(ctx context.Context, at *url.URL, self props) (*url.URL, error) {
	if self.CalendarHomeSet != nil && len(self.CalendarHomeSet.Hrefs) > 0 {
		if h, ok := resolve(at, self.CalendarHomeSet.Hrefs[0]); ok {
			return h, nil
		}
	}
	if self.CurrentUserPrincipal == nil || len(self.CurrentUserPrincipal.Hrefs) == 0 {
		return nil, nil
	}
	principal, ok := resolve(at, self.CurrentUserPrincipal.Hrefs[0])
	if !ok {
		return nil, fmt.Errorf("bad current-user-principal %q: %w", self.CurrentUserPrincipal.Hrefs[0], ErrNotCalDAV)
	}
	ms, pat, err := c.multistatus(ctx, "PROPFIND", principal, "0", propfindBody(calDAVName("calendar-home-set")))
	if err != nil {
		return nil, fmt.Errorf("principal: %w", classifyDiscovery(err))
	}
	for i := range ms.Responses {
		p := ms.Responses[i].found()
		if p.CalendarHomeSet != nil && len(p.CalendarHomeSet.Hrefs) > 0 {
			if h, ok := resolve(pat, p.CalendarHomeSet.Hrefs[0]); ok {
				return h, nil
			}
		}
	}
	return nil, nil
}

// listCalendars lists the calendars of a home set with go-webdav, and adds
// whether each offers sync-collection, which go-webdav does not read.
func (c *conn) listCalendars(ctx context.Context, home *url.URL) ([]Calendar, error) {
	ms, _, err := c.multistatus(ctx, "PROPFIND", home, "1", propfindBody(davName("resourcetype"), davName("supported-report-set")))
	if err != nil {
		return nil, fmt.Errorf("calendar home: %w", classifyDiscovery(err))
	}
	syncable := map[string]bool{}
	for i := range ms.Responses {
		if h, ok := ms.Responses[i].href(home); ok && ms.Responses[i].found().supportsSync() {
			syncable[cleanPath(h.Path)] = true
		}
	}

	origin := &url.URL{Scheme: home.Scheme, Host: home.Host, Path: "/"}
	wc, err := webdavcaldav.NewClient(c, origin.String())
	if err != nil {
		return nil, err
	}
	found, err := wc.FindCalendars(ctx, home.Path)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("list calendars: %w", &NetworkError{Method: "PROPFIND", URL: redact(home), Err: err})
		}
		return nil, fmt.Errorf("list calendars in %s: %v: %w", redact(home), err, ErrNotCalDAV)
	}
	cals := make([]Calendar, 0, len(found))
	for _, f := range found {
		p := f.Path
		if !strings.HasSuffix(p, "/") {
			p += "/"
		}
		cals = append(cals, Calendar{
			Path:           p,
			Name:           f.Name,
			Description:    f.Description,
			SupportsEvents: supportsEvents(f.SupportedComponentSet),
			SyncToken:      syncable[cleanPath(p)],
		})
	}
	return cals, nil
}

// supportsEvents reads supported-calendar-component-set: absent means any
// component (RFC 4791 §5.2.3).
func supportsEvents(comps []string) bool {
	if len(comps) == 0 {
		return true
	}
	for _, c := range comps {
		if strings.EqualFold(c, "VEVENT") {
			return true
		}
	}
	return false
}

func calendarFromProps(p string, pr props) Calendar {
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	cal := Calendar{Path: p, SyncToken: pr.supportsSync()}
	if pr.DisplayName != nil {
		cal.Name = strings.TrimSpace(*pr.DisplayName)
	}
	if pr.Description != nil {
		cal.Description = strings.TrimSpace(*pr.Description)
	}
	var comps []string
	if pr.Components != nil {
		for _, c := range pr.Components.Comps {
			comps = append(comps, c.Name)
		}
	}
	cal.SupportsEvents = supportsEvents(comps)
	return cal
}

func containsPath(cals []Calendar, p string) bool {
	for _, c := range cals {
		if samePath(c.Path, p) {
			return true
		}
	}
	return false
}

// choose picks the calendar: the hint by path, last path segment or display
// name; without a hint the URL's own calendar, else the first that takes
// events.
func choose(cals []Calendar, hint string, direct *url.URL) (Calendar, bool) {
	hint = strings.TrimSpace(hint)
	if hint != "" {
		hintPath := hint
		if u, err := url.Parse(hint); err == nil && u.Path != "" {
			hintPath = u.Path
		}
		for _, c := range cals {
			if samePath(c.Path, hintPath) {
				return c, true
			}
		}
		for _, c := range cals {
			if strings.EqualFold(strings.TrimSpace(c.Name), hint) {
				return c, true
			}
		}
		for _, c := range cals {
			if lastSegment(c.Path) == strings.Trim(hint, "/") {
				return c, true
			}
		}
		return Calendar{}, false
	}
	if direct != nil {
		for _, c := range cals {
			if samePath(c.Path, direct.Path) {
				return c, true
			}
		}
	}
	for _, c := range cals {
		if c.SupportsEvents {
			return c, true
		}
	}
	return Calendar{}, false
}

func lastSegment(p string) string {
	p = cleanPath(p)
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[i+1:]
	}
	return p
}
