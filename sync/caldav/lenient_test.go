package caldav_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/calgate/calgate/sync/caldav"
)

// These tests use small fake servers for answers the real test servers
// never give: odd ETags, a home set on another host, failing statuses.

func multistatus(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusMultiStatus)
	_, _ = io.WriteString(w, `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">`+body+`</d:multistatus>`)
}

func TestConnectFollowsHomeSetOnAnotherHost(t *testing.T) {
	home := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "PROPFIND" || r.URL.Path != "/123/calendars/" {
			http.NotFound(w, r)
			return
		}
		multistatus(w, `<d:response><d:href>/123/calendars/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`+
			`<d:response><d:href>/123/calendars/home/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/><c:calendar/></d:resourcetype><d:displayname>Home</d:displayname>`+
			`<c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`)
	}))
	defer home.Close()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "PROPFIND" && r.URL.Path == "/":
			multistatus(w, `<d:response><d:href>/</d:href><d:propstat><d:prop><d:current-user-principal><d:href>/123/principal/</d:href></d:current-user-principal></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`)
		case r.Method == "PROPFIND" && r.URL.Path == "/123/principal/":
			multistatus(w, `<d:response><d:href>/123/principal/</d:href><d:propstat><d:prop><c:calendar-home-set><d:href>`+home.URL+`/123/calendars/</d:href></c:calendar-home-set></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer front.Close()

	cl, cals, err := caldav.Connect(t.Context(), testClient(), front.URL, caldav.Credentials{Username: "u", Password: "p"}, "")
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if want := home.URL + "/123/calendars/home/"; cl.CalendarURL() != want {
		t.Errorf("CalendarURL = %s, want %s", cl.CalendarURL(), want)
	}
	if len(cals) != 1 || cals[0].Name != "Home" || !cals[0].SupportsEvents {
		t.Errorf("calendars = %+v", cals)
	}
}

func TestListToleratesOddETags(t *testing.T) {
	var srvURL string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok := `<d:status>HTTP/1.1 200 OK</d:status>`
		multistatus(w, `<d:response><d:href>/cal/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/><c:calendar/></d:resourcetype><d:getetag>"coll"</d:getetag></d:prop>`+ok+`</d:propstat></d:response>`+
			`<d:response><d:href>/cal/a.ics</d:href><d:propstat><d:prop><d:getetag>"a1"</d:getetag><d:resourcetype/></d:prop>`+ok+`</d:propstat></d:response>`+
			`<d:response><d:href>/cal/b.ics</d:href><d:propstat><d:prop><d:getetag>W/"b1"</d:getetag></d:prop>`+ok+`</d:propstat></d:response>`+
			`<d:response><d:href>/cal/c.ics</d:href><d:propstat><d:prop><d:getetag> c1 </d:getetag></d:prop>`+ok+`</d:propstat></d:response>`+
			`<d:response><d:href>/cal/d.ics</d:href><d:propstat><d:prop><d:getetag/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat></d:response>`+
			`<d:response><d:href>`+srvURL+`/cal/e%20f.ics</d:href><d:propstat><d:prop><d:getetag>"e1"</d:getetag></d:prop>`+ok+`</d:propstat></d:response>`+
			`<d:response><d:href>/cal/sub/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype></d:prop>`+ok+`</d:propstat></d:response>`+
			`<d:response><d:href>/elsewhere/x.ics</d:href><d:propstat><d:prop><d:getetag>"x"</d:getetag></d:prop>`+ok+`</d:propstat></d:response>`)
	}))
	defer srv.Close()
	srvURL = srv.URL

	cl, err := caldav.New(testClient(), srv.URL+"/cal/", caldav.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := cl.List(t.Context())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	want := []caldav.Object{
		{Name: "a.ics", ETag: `"a1"`},
		{Name: "b.ics", ETag: `W/"b1"`},
		{Name: "c.ics", ETag: `"c1"`},
		{Name: "d.ics", ETag: ""},
		{Name: "e f.ics", ETag: `"e1"`},
	}
	if len(objs) != len(want) {
		t.Fatalf("List = %+v, want %+v", objs, want)
	}
	for i := range want {
		if objs[i] != want[i] {
			t.Errorf("List[%d] = %+v, want %+v", i, objs[i], want[i])
		}
	}
}

func TestPutStatuses(t *testing.T) {
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		wantETag  string
		retryable bool
		wantIn    string
		is        error
	}{
		{
			name: "no ETag header: read back by PROPFIND",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPut {
					w.WriteHeader(http.StatusCreated)
					return
				}
				multistatus(w, `<d:response><d:href>/cal/x.ics</d:href><d:propstat><d:prop><d:getetag>abc</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`)
			},
			wantETag: `"abc"`,
		},
		{
			name: "weak ETag header is kept",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("ETag", `W/"w1"`)
				w.WriteHeader(http.StatusNoContent)
			},
			wantETag: `W/"w1"`,
		},
		{
			name: "400 is permanent and quotes the server",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "invalid calendar object: missing DTSTART", http.StatusBadRequest)
			},
			wantIn: "missing DTSTART",
		},
		{
			name: "409 UID conflict is permanent",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "no-uid-conflict", http.StatusConflict)
			},
			wantIn: "409",
		},
		{
			name:      "503 is retryable",
			handler:   func(w http.ResponseWriter, r *http.Request) { http.Error(w, "busy", http.StatusServiceUnavailable) },
			retryable: true,
			wantIn:    "503",
		},
		{
			name:    "403 is unauthorized",
			handler: func(w http.ResponseWriter, r *http.Request) { http.Error(w, "forbidden", http.StatusForbidden) },
			is:      caldav.ErrUnauthorized,
		},
		{
			name:    "412 is a failed precondition",
			handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusPreconditionFailed) },
			is:      caldav.ErrPreconditionFailed,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			cl, err := caldav.New(testClient(), srv.URL+"/cal", caldav.Credentials{})
			if err != nil {
				t.Fatal(err)
			}
			etag, err := cl.Put(t.Context(), "x.ics", []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"), "")
			if tc.wantETag != "" {
				if err != nil || etag != tc.wantETag {
					t.Fatalf("Put = %q, %v; want %q", etag, err, tc.wantETag)
				}
				return
			}
			if err == nil {
				t.Fatal("Put succeeded, want an error")
			}
			if caldav.IsRetryable(err) != tc.retryable {
				t.Errorf("IsRetryable(%v) = %v, want %v", err, !tc.retryable, tc.retryable)
			}
			if tc.wantIn != "" && !strings.Contains(err.Error(), tc.wantIn) {
				t.Errorf("error %q does not contain %q", err, tc.wantIn)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
}

func TestPutRefusesBadNames(t *testing.T) {
	cl, err := caldav.New(testClient(), "http://127.0.0.1:1/cal/", caldav.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", ".", "..", "a/b.ics", `a\b.ics`} {
		if _, err := cl.Put(t.Context(), name, nil, ""); err == nil || caldav.IsRetryable(err) {
			t.Errorf("Put(%q) err = %v, want a permanent error", name, err)
		}
	}
}
