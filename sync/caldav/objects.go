package caldav

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// Object is one calendar object on the server.
type Object struct {
	// Name is the object's last path segment, as given to Put.
	Name string
	// ETag is normalized (quoted); empty when the server did not give a
	// usable one.
	ETag string
}

// objectURL returns the URL of an object of the calendar. Names are one
// path segment, stable per entry ("<entry-id>.ics").
func (cl *Client) objectURL(name string) (*url.URL, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\") {
		return nil, fmt.Errorf("caldav: bad object name %q", name)
	}
	u := *cl.calendar
	u.Path = cl.calendar.Path + name
	u.RawPath = ""
	return &u, nil
}

// Put writes an object. With etag empty it creates the object and fails
// with ErrPreconditionFailed if one already exists under that name
// (If-None-Match: *); otherwise it replaces the object only if the server
// still has that ETag (If-Match). It returns the object's new ETag.
// Failures match ErrPreconditionFailed or ErrUnauthorized, are retryable
// (IsRetryable), or are a permanent *StatusError.
func (cl *Client) Put(ctx context.Context, name string, ics []byte, etag string) (string, error) {
	u, err := cl.objectURL(name)
	if err != nil {
		return "", err
	}
	hdr := http.Header{"Content-Type": {"text/calendar; charset=utf-8"}}
	if etag == "" {
		hdr.Set("If-None-Match", "*")
	} else {
		hdr.Set("If-Match", normalizeETag(etag))
	}
	resp, err := cl.c.send(ctx, http.MethodPut, u, hdr, ics)
	if err != nil {
		return "", fmt.Errorf("caldav: put %s: %w", name, err)
	}
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("caldav: put %s: %w", name, statusError(http.MethodPut, u, resp))
	}
	drain(resp)
	if tag := normalizeETag(resp.Header.Get("ETag")); tag != "" {
		return tag, nil
	}
	// Some servers change the object on write and so send no ETag.
	tag, err := cl.fetchETag(ctx, u)
	if err != nil {
		return "", fmt.Errorf("caldav: put %s: written, but reading its etag: %w", name, err)
	}
	return tag, nil
}

// fetchETag reads an object's ETag with PROPFIND, or HEAD when PROPFIND
// gives none.
func (cl *Client) fetchETag(ctx context.Context, u *url.URL) (string, error) {
	ms, _, err := cl.c.multistatus(ctx, "PROPFIND", u, "0", propfindBody(davName("getetag")))
	if err == nil {
		for i := range ms.Responses {
			if p := ms.Responses[i].found(); p.ETag != nil {
				if tag := normalizeETag(*p.ETag); tag != "" {
					return tag, nil
				}
			}
		}
	}
	resp, herr := cl.c.send(ctx, http.MethodHead, u, nil, nil)
	if herr != nil {
		return "", herr
	}
	if resp.StatusCode/100 != 2 {
		return "", statusError(http.MethodHead, u, resp)
	}
	drain(resp)
	if tag := normalizeETag(resp.Header.Get("ETag")); tag != "" {
		return tag, nil
	}
	if err != nil {
		return "", err
	}
	return "", fmt.Errorf("no etag from %s", redact(u))
}

// Get reads an object and its ETag. A missing object matches
// calgate.ErrNotFound.
func (cl *Client) Get(ctx context.Context, name string) ([]byte, string, error) {
	u, err := cl.objectURL(name)
	if err != nil {
		return nil, "", err
	}
	resp, err := cl.c.send(ctx, http.MethodGet, u, http.Header{"Accept": {"text/calendar"}}, nil)
	if err != nil {
		return nil, "", fmt.Errorf("caldav: get %s: %w", name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("caldav: get %s: %w", name, statusError(http.MethodGet, u, resp))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxObject+1))
	if err != nil {
		return nil, "", fmt.Errorf("caldav: get %s: %w", name, &NetworkError{Method: http.MethodGet, URL: redact(u), Err: err})
	}
	if len(body) > maxObject {
		return nil, "", fmt.Errorf("caldav: get %s: object larger than %d bytes", name, maxObject)
	}
	tag := normalizeETag(resp.Header.Get("ETag"))
	if tag == "" {
		if tag, err = cl.fetchETag(ctx, u); err != nil {
			return nil, "", fmt.Errorf("caldav: get %s: etag: %w", name, err)
		}
	}
	return body, tag, nil
}

// Delete removes an object, only if it still has etag when etag is not
// empty (If-Match). An object already gone is not an error.
func (cl *Client) Delete(ctx context.Context, name, etag string) error {
	u, err := cl.objectURL(name)
	if err != nil {
		return err
	}
	var hdr http.Header
	if etag != "" {
		hdr = http.Header{"If-Match": {normalizeETag(etag)}}
	}
	resp, err := cl.c.send(ctx, http.MethodDelete, u, hdr, nil)
	if err != nil {
		return fmt.Errorf("caldav: delete %s: %w", name, err)
	}
	switch {
	case resp.StatusCode/100 == 2, resp.StatusCode == http.StatusNotFound, resp.StatusCode == http.StatusGone:
		drain(resp)
		return nil
	}
	return fmt.Errorf("caldav: delete %s: %w", name, statusError(http.MethodDelete, u, resp))
}

// List returns every object of the calendar with its ETag (a Depth-1
// PROPFIND). An object whose ETag is missing or unreadable is listed with
// an empty ETag rather than failing the listing.
func (cl *Client) List(ctx context.Context) ([]Object, error) {
	body := propfindBody(davName("getetag"), davName("resourcetype"))
	ms, at, err := cl.c.multistatus(ctx, "PROPFIND", cl.calendar, "1", body)
	if err != nil {
		return nil, fmt.Errorf("caldav: list: %w", err)
	}
	objs := make([]Object, 0, len(ms.Responses))
	for i := range ms.Responses {
		r := &ms.Responses[i]
		name, ok := cl.memberName(at, r)
		if !ok || !statusOK(r.Status) {
			continue
		}
		obj, ok := r.object(name)
		if !ok {
			continue
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// memberName returns the name of a direct member of the calendar from a
// response's href; false for the calendar itself and anything else.
func (cl *Client) memberName(base *url.URL, r *msResponse) (string, bool) {
	h, ok := r.href(base)
	if !ok {
		return "", false
	}
	p := cleanPath(h.Path)
	if p == cleanPath(cl.calendar.Path) || path.Dir(p) != cleanPath(cl.calendar.Path) {
		return "", false
	}
	return path.Base(p), true
}
