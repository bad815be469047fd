package feeds

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ContentType is the media type of served feeds.
const ContentType = "text/calendar; charset=utf-8"

// gzipSuffix marks the ETag of the gzip-encoded form: a strong ETag names
// one exact sequence of bytes, and the compressed bytes are different.
const gzipSuffix = "-gz"

// Serve answers a GET or HEAD for a ready copy: text/calendar with a strong
// ETag and Last-Modified, 304 for a matching If-None-Match (or, without
// it, If-Modified-Since), gzip when the client accepts it, and
// Cache-Control private with max-age set to the refresh interval.
func Serve(w http.ResponseWriter, r *http.Request, rc *Ready, maxAge time.Duration) {
	h := w.Header()
	gz := acceptsGzip(r.Header.Get("Accept-Encoding"))
	etag := rc.ETag
	if gz {
		etag = etag[:len(etag)-1] + gzipSuffix + `"`
	}
	h.Set("ETag", etag)
	h.Set("Last-Modified", rc.LastModified.UTC().Format(http.TimeFormat))
	h.Set("Cache-Control", "private, max-age="+strconv.Itoa(int(maxAge/time.Second)))
	h.Set("Vary", "Accept-Encoding")
	if notModified(r, rc) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := rc.Body
	if gz {
		body = rc.Gzipped()
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Type", ContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// notModified applies RFC 9110's rules: If-None-Match when present (weak
// comparison, either encoding's tag), otherwise If-Modified-Since.
func notModified(r *http.Request, rc *Ready) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		base := strings.Trim(rc.ETag, `"`)
		for tag := range strings.SplitSeq(inm, ",") {
			tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
			if tag == "*" {
				return true
			}
			tag = strings.Trim(tag, `"`)
			if tag == base || tag == base+gzipSuffix {
				return true
			}
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		t, err := http.ParseTime(ims)
		if err == nil && !rc.LastModified.Truncate(time.Second).After(t) {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding value allows gzip.
func acceptsGzip(ae string) bool {
	for part := range strings.SplitSeq(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "x-gzip" && name != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		if v, ok := strings.CutPrefix(q, "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f == 0 {
				if name == "*" {
					continue
				}
				return false
			}
		}
		return true
	}
	return false
}
