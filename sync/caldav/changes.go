package caldav

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Changes asks what changed in the calendar since syncToken with a
// sync-collection REPORT (RFC 6578). An empty token returns every object.
// It returns the objects created or changed, the names deleted, and the
// token for next time. A token the server has forgotten gives
// ErrSyncTokenInvalid: call again with an empty token, or use List. Use it
// only when Calendar().SyncToken is true.
func (cl *Client) Changes(ctx context.Context, syncToken string) (changed []Object, deleted []string, newToken string, err error) {
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString(`<d:sync-collection xmlns:d="DAV:"><d:sync-token>`)
	if err := xml.EscapeText(&b, []byte(syncToken)); err != nil {
		return nil, nil, "", fmt.Errorf("caldav: changes: %w", err)
	}
	b.WriteString(`</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/><d:resourcetype/></d:prop></d:sync-collection>`)

	ms, at, err := cl.c.multistatus(ctx, "REPORT", cl.calendar, "0", []byte(b.String()))
	if err != nil {
		var se *StatusError
		if syncToken != "" && errors.As(err, &se) && (se.Code == http.StatusForbidden || se.Code == http.StatusConflict) &&
			strings.Contains(se.Body, "valid-sync-token") {
			// Not wrapped: a 403 here is no credentials problem.
			return nil, nil, "", fmt.Errorf("caldav: changes: %w (%v)", ErrSyncTokenInvalid, err)
		}
		return nil, nil, "", fmt.Errorf("caldav: changes: %w", err)
	}
	for i := range ms.Responses {
		r := &ms.Responses[i]
		name, ok := cl.memberName(at, r)
		if !ok {
			continue
		}
		if code := statusCode(r.Status); code == http.StatusNotFound || code == http.StatusGone {
			deleted = append(deleted, name)
			continue
		}
		obj, ok := r.object(name)
		if !ok {
			continue
		}
		changed = append(changed, obj)
	}
	return changed, deleted, strings.TrimSpace(ms.SyncToken), nil
}
